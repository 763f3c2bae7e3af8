"""Operable like the services people already run: /readyz, HEAD and OPTIONS on
every route, Allow on 405, security.txt (RFC 9116), RFC 6750 challenges, the
RFC 7009 revoke answer and millisecond log timestamps."""

import re
import time

import pytest

from conftest import STORE, assert_problem, expect_json, pg_ctl, wait_until
from oauthkit import add_device, link, register_client, revoke

MS_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REALM = 'Bearer realm="safehouse"'


def allow_set(resp):
    return {m.strip() for m in resp.headers.get("Allow", "").split(",") if m.strip()}


# ---- A: readiness -------------------------------------------------------------------


@pytest.mark.parametrize("admin", [False, True])
def test_readyz_on_both_listeners(server, admin):
    r = server.req("GET", "/readyz", admin=admin)
    body = expect_json(r, 200)
    assert body["status"] == "ready", body
    assert isinstance(body["schema_version"], int) and body["schema_version"] >= 1, body


@pytest.mark.skipif(STORE != "postgres", reason="stopping the store needs PostgreSQL")
def test_readyz_is_503_while_the_store_is_down_and_healthz_stays_200(server_factory,
                                                                      private_cluster):
    srv = server_factory(name="ready", store_url=private_cluster.url_for("ready"))
    expect_json(srv.get("/readyz"), 200)
    pg_ctl(private_cluster, "stop")
    try:
        for admin in (False, True):
            r = srv.req("GET", "/readyz", admin=admin)
            body = assert_problem(r, 503, "not_ready")
            assert "store" in body.get("detail", ""), body
            # liveness does not depend on the store: a balancer must not restart us
            expect_json(srv.req("GET", "/healthz", admin=admin), 200)
    finally:
        pg_ctl(private_cluster, "resume")
    assert wait_until(lambda: srv.get("/readyz").status_code == 200, timeout=15), \
        "not ready again after PostgreSQL came back"


def test_readyz_is_503_when_the_schema_is_behind(server_factory):
    """A store whose schema lags this binary (another node's older schema, a
    migration rolled back) is not ready; the node still answers /healthz."""
    srv = server_factory(name="schema")
    latest = srv.db_query("SELECT max(version) FROM schema_version")[0][0]
    srv.stop_ok()
    srv.db_execute("DELETE FROM schema_version WHERE version = ?", (latest,))
    srv.db_execute("INSERT INTO schema_version VALUES (?)", (latest + 1,))
    srv.start()
    body = assert_problem(srv.get("/readyz"), 503, "not_ready")
    assert "schema" in body.get("detail", ""), body
    expect_json(srv.get("/healthz"), 200)


# ---- B: HEAD and OPTIONS -------------------------------------------------------------


@pytest.mark.parametrize("path,admin", [("/healthz", False), ("/healthz", True),
                                        ("/readyz", False), ("/readyz", True),
                                        ("/.well-known/oauth-authorization-server", False)])
def test_head_is_get_without_a_body(server, path, admin):
    g = server.req("GET", path, admin=admin)
    h = server.req("HEAD", path, admin=admin)
    assert h.status_code == g.status_code == 200, (g.status_code, h.status_code)
    assert h.content == b""
    assert h.headers["Content-Type"] == g.headers["Content-Type"]
    assert h.headers["Content-Length"] == g.headers["Content-Length"]
    assert h.headers.get("Cache-Control") == g.headers.get("Cache-Control")


def test_head_on_an_authenticated_route_is_authenticated(server):
    u = server.new_user()
    h = server.req("HEAD", "/v1/me", token=u.sessions[0]["access_token"])
    assert h.status_code == 200 and h.content == b""
    assert int(h.headers["Content-Length"]) > 0
    h = server.req("HEAD", "/v1/me")
    assert h.status_code == 401 and h.content == b""
    assert h.headers.get("WWW-Authenticate") == REALM


def test_head_on_unknown_path_is_404(server):
    r = server.req("HEAD", "/nope")
    assert r.status_code == 404 and r.content == b""


@pytest.mark.parametrize("path,admin,methods", [
    ("/healthz", False, {"GET", "HEAD", "OPTIONS"}),
    ("/healthz", True, {"GET", "HEAD", "OPTIONS"}),
    ("/v1/me", False, {"GET", "HEAD", "PATCH", "DELETE", "OPTIONS"}),
    ("/v1/accounts", False, {"POST", "OPTIONS"}),
    ("/v1/sessions", False, {"GET", "HEAD", "POST", "DELETE", "OPTIONS"}),
    ("/oauth/authorize", False, {"GET", "HEAD", "POST", "OPTIONS"}),
    ("/admin/v1/revocations", True, {"GET", "HEAD", "POST", "OPTIONS"}),
])
def test_options_lists_the_methods_of_a_path(server, path, admin, methods):
    r = server.req("OPTIONS", path, admin=admin)
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert allow_set(r) == methods, r.headers.get("Allow")
    assert r.headers.get("X-Request-Id")


def test_options_on_unknown_path_is_404(server):
    assert_problem(server.req("OPTIONS", "/nope"), 404, "not_found")
    assert_problem(server.req("OPTIONS", "/v1/accounts", admin=True), 404, "not_found")


def test_405_carries_the_full_allow(server):
    r = server.req("PUT", "/healthz")
    assert_problem(r, 405, "method_not_allowed")
    assert allow_set(r) == {"GET", "HEAD", "OPTIONS"}, r.headers.get("Allow")
    r = server.req("DELETE", "/v1/accounts")
    assert_problem(r, 405, "method_not_allowed")
    assert allow_set(r) == {"POST", "OPTIONS"}, r.headers.get("Allow")


# ---- B: security.txt -----------------------------------------------------------------


def test_security_txt(server_factory):
    srv = server_factory(name="sectxt",
                         extra_args=["--security-contact", "mailto:security@example.com"])
    r = srv.get("/.well-known/security.txt")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    fields = dict(line.split(": ", 1) for line in r.text.splitlines() if line)
    assert fields["Contact"] == "mailto:security@example.com"
    exp = time.mktime(time.strptime(fields["Expires"], "%Y-%m-%dT%H:%M:%SZ"))
    assert time.time() < exp < time.time() + 366 * 86400, fields["Expires"]
    assert fields["Canonical"].endswith("/.well-known/security.txt")
    h = srv.req("HEAD", "/.well-known/security.txt")
    assert h.status_code == 200 and h.content == b""
    # public listener only
    assert_problem(srv.req("GET", "/.well-known/security.txt", admin=True), 404, "not_found")


def test_security_txt_without_contact_is_404(server):
    assert_problem(server.get("/.well-known/security.txt"), 404, "not_found")


@pytest.mark.parametrize("contact", ["security@example.com", "mailto:a@b.c\r\nX: y", "ftp://x"])
def test_security_contact_must_be_a_uri(server, contact):
    p = server.cli("serve", "--security-contact", contact, "--listen", "127.0.0.1:1",
                   data_dir=False)
    assert p.returncode == 2 and b"--security-contact" in p.stderr, p


# ---- B: RFC 6750 challenges -----------------------------------------------------------


def test_no_credentials_gets_a_bare_challenge(server):
    r = server.get("/v1/me")
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == REALM


def test_bad_token_gets_invalid_token(server):
    for tok in ("garbage", "sh_at_" + "A" * 40):
        r = server.get("/v1/me", token=tok)
        assert_problem(r, 401, "invalid_token")
        assert r.headers["WWW-Authenticate"] == REALM + ', error="invalid_token"'


def test_other_scheme_gets_a_bare_challenge(server):
    """RFC 6750 3.1: an unsupported authentication method is like none: no error code."""
    u = server.new_user()
    for h in ("Basic dXNlcjpwYXNzd29yZA==", "Basic " + u.sessions[0]["access_token"],
              "Token " + u.sessions[0]["access_token"]):
        r = server.get("/v1/me", headers={"Authorization": h})
        assert_problem(r, 401, "unauthenticated")
        assert r.headers["WWW-Authenticate"] == REALM


def test_admin_listener_challenges_alike(server):
    r = server.req("GET", "/admin/v1/revocations", admin=True)
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == REALM
    r = server.req("GET", "/admin/v1/revocations", admin=True, token="sh_ad_nope")
    assert r.headers["WWW-Authenticate"] == REALM + ', error="invalid_token"'


def test_insufficient_scope_is_403_with_its_challenge(server):
    u = server.new_user()
    cam = add_device(server, u.sessions[0]["access_token"])
    c = register_client(server, scopes="devices:read")
    t = link(server, u, c, [cam["id"]], scope="devices:read")
    r = server.req("PUT", "/v1/devices/%s/state" % cam["id"], token=t["access_token"],
                   json={"power": "on"})
    assert_problem(r, 403, "insufficient_scope")
    assert r.headers["WWW-Authenticate"] == REALM + ', error="insufficient_scope"'


def test_ifttt_service_key_route_has_no_bearer_challenge(server):
    for headers in ({}, {"IFTTT-Service-Key": "not-a-key"}):
        r = server.get("/ifttt/v1/status", headers=headers)
        assert r.status_code == 401, r.text
        ch = r.headers.get("WWW-Authenticate", "")
        assert "Bearer" not in ch and ch.startswith("IFTTT-Service-Key"), ch


# ---- B: RFC 7009 revoke answer ---------------------------------------------------------


def test_revoke_answers_an_empty_json_object(server):
    u = server.new_user()
    cam = add_device(server, u.sessions[0]["access_token"])
    c = register_client(server)
    t = link(server, u, c, [cam["id"]])
    for tok in (t["access_token"], "not-a-token"):
        r = revoke(server, c, tok)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json"
        assert r.json() == {}


# ---- B: log timestamps ----------------------------------------------------------------


def test_log_timestamps_have_milliseconds(server):
    server.get("/healthz")
    events = wait_until(lambda: server.log_events(), timeout=2.0)
    assert events
    for ev in events:
        assert MS_TS.match(ev["ts"]), ev
