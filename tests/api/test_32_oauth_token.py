"""Account linking, part 3: the token endpoint - client authentication (basic and post),
the authorization_code and refresh_token grants, refresh rotation with Google's rule
(the previous token stays valid until the new one is first used) and reuse detection,
RFC 6749 5.2 errors that change nothing."""

import time

import pytest
import requests

from conftest import HTTP_TIMEOUT
from oauthkit import (ALL_SCOPES, Client, add_device, authorize_code, exchange, introspect, link,
                      oauth_error, partner_devices, refresh, register_client, token_req)


@pytest.fixture(scope="module")
def setup(module_server_factory):
    srv = module_server_factory(name="token")
    c = register_client(srv)
    u = srv.new_user(clients=("ios",))
    cam = add_device(srv, u.sessions[0]["access_token"], "camera")
    return srv, c, u, cam


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_code_exchange(setup, auth):
    srv, c, u, cam = setup
    code, verifier, _ = authorize_code(srv, u, c, [cam["id"]])
    t0 = time.monotonic()
    r = exchange(srv, c, code, verifier, auth=auth)
    assert time.monotonic() - t0 < 4.5          # Alexa's limit, with a wide margin
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers["Cache-Control"] and r.headers.get("Pragma") == "no-cache"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("sh_oa_") and body["refresh_token"].startswith("sh_or_")
    assert body["scope"] == ALL_SCOPES
    assert partner_devices(srv, body["access_token"]).status_code == 200


def test_access_ttl_flag(server_factory):
    srv = server_factory(extra_args=["--oauth-access-ttl", "360"], name="ttl360")
    c = register_client(srv)
    u = srv.new_user()
    assert link(srv, u, c, [])["expires_in"] == 360


def test_client_authentication_errors(setup):
    srv, c, u, cam = setup
    code, verifier, _ = authorize_code(srv, u, c, [])
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
            "code_verifier": verifier}
    # no client authentication at all
    oauth_error(token_req(srv, c, data, auth=None), 401, "invalid_client")
    # wrong secret, both ways
    bad = Client(c.id, "sh_cs_" + c.secret[6:-4] + ("AAAA" if not c.secret.endswith("AAAA") else "BBBB"),
                 c.redirect_uri, c.name)
    r = token_req(srv, bad, data, auth="basic")
    oauth_error(r, 401, "invalid_client")
    assert r.headers.get("WWW-Authenticate", "").startswith("Basic")
    oauth_error(token_req(srv, bad, data, auth="post"), 401, "invalid_client")
    other = register_client(srv)
    oauth_error(token_req(srv, Client(c.id, other.secret, c.redirect_uri, c.name), data), 401, "invalid_client")
    # unknown client id
    oauth_error(token_req(srv, Client("00" * 16, c.secret, c.redirect_uri, c.name), data), 401, "invalid_client")
    # two methods at once
    both = dict(data, client_id=c.id, client_secret=c.secret)
    r = requests.post(srv.base + "/oauth/token", data=both, headers=c.basic(), timeout=HTTP_TIMEOUT)
    oauth_error(r, 400, "invalid_request")
    # a bearer token is not client authentication
    r = requests.post(srv.base + "/oauth/token", data=data, headers={"Authorization": "Bearer x"},
                      timeout=HTTP_TIMEOUT)
    oauth_error(r, 401, "invalid_client")
    r = requests.post(srv.base + "/oauth/token", data=data, headers={"Authorization": "Basic !!!"},
                      timeout=HTTP_TIMEOUT)
    oauth_error(r, 401, "invalid_client")
    # after all that, the code still works: bad input changed nothing
    assert exchange(srv, c, code, verifier).status_code == 200


@pytest.mark.parametrize("mutate,error", [
    (lambda d: d.pop("grant_type"), "invalid_request"),
    (lambda d: d.update(grant_type="password"), "unsupported_grant_type"),
    (lambda d: d.update(grant_type="client_credentials"), "unsupported_grant_type"),
    (lambda d: d.pop("code"), "invalid_request"),
    (lambda d: d.pop("code_verifier"), "invalid_request"),
    (lambda d: d.pop("redirect_uri"), "invalid_request"),
    (lambda d: d.update(code_verifier="x" * 43), "invalid_grant"),
    (lambda d: d.update(code_verifier=d["code_verifier"][:-1]), "invalid_grant"),
    (lambda d: d.update(code_verifier="short"), "invalid_grant"),
    (lambda d: d.update(redirect_uri=d["redirect_uri"] + "x"), "invalid_grant"),
    (lambda d: d.update(code=d["code"][:-2] + "AA"), "invalid_grant"),
    (lambda d: d.update(code="sh_or_" + d["code"][6:]), "invalid_grant"),
    (lambda d: d.update(code="garbage"), "invalid_grant"),
])
def test_code_errors_change_nothing(setup, mutate, error):
    srv, c, u, cam = setup
    code, verifier, _ = authorize_code(srv, u, c, [])
    good = {"grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
            "code_verifier": verifier}
    bad = dict(good)
    mutate(bad)
    oauth_error(token_req(srv, c, bad), 400, error)
    r = token_req(srv, c, good)
    assert r.status_code == 200, r.text


def test_repeated_parameter_is_invalid_request(setup):
    srv, c, u, cam = setup
    code, verifier, _ = authorize_code(srv, u, c, [])
    data = [("grant_type", "authorization_code"), ("code", code), ("code", code),
            ("redirect_uri", c.redirect_uri), ("code_verifier", verifier)]
    oauth_error(requests.post(srv.base + "/oauth/token", data=data, headers=c.basic(), timeout=HTTP_TIMEOUT),
                400, "invalid_request")


def test_code_of_another_client(setup):
    srv, c, u, cam = setup
    other = register_client(srv)
    code, verifier, _ = authorize_code(srv, u, c, [])
    d = {"grant_type": "authorization_code", "code": code, "redirect_uri": c.redirect_uri,
         "code_verifier": verifier}
    oauth_error(token_req(srv, other, d), 400, "invalid_grant")
    assert token_req(srv, c, d).status_code == 200


def test_refresh_rotation_google_rule(setup):
    srv, c, u, cam = setup
    t = link(srv, u, c, [cam["id"]])
    r1 = t["refresh_token"]
    a = refresh(srv, c, r1)
    assert a.status_code == 200, a.text
    r2 = a.json()["refresh_token"]
    assert r2 != r1 and a.json()["access_token"] != t["access_token"]
    # the answer was "lost": r1 is still accepted while r2 was never used
    b = refresh(srv, c, r1, auth="post")
    assert b.status_code == 200, b.text
    r3 = b.json()["refresh_token"]
    # r2 was superseded unused: refused, but the link lives on
    oauth_error(refresh(srv, c, r2), 400, "invalid_grant")
    c4 = refresh(srv, c, r3)
    assert c4.status_code == 200
    r4 = c4.json()["refresh_token"]
    assert partner_devices(srv, c4.json()["access_token"]).status_code == 200
    # r3 stays valid until r4 is used
    d = refresh(srv, c, r3)
    assert d.status_code == 200
    r5 = d.json()["refresh_token"]
    e = refresh(srv, c, r5)
    assert e.status_code == 200
    final_access = e.json()["access_token"]
    # now r3 is two generations old and used: reuse ends the whole grant
    oauth_error(refresh(srv, c, r3), 400, "invalid_grant")
    oauth_error(refresh(srv, c, e.json()["refresh_token"]), 400, "invalid_grant")
    assert partner_devices(srv, final_access).status_code == 401
    assert introspect(srv, c, final_access).json() == {"active": False}
    del r4


def test_refresh_of_another_client_changes_nothing(setup):
    srv, c, u, cam = setup
    other = register_client(srv)
    t = link(srv, u, c, [])
    oauth_error(refresh(srv, other, t["refresh_token"]), 400, "invalid_grant")
    assert refresh(srv, c, t["refresh_token"]).status_code == 200


def test_refresh_scope_narrowing(setup):
    srv, c, u, cam = setup
    t = link(srv, u, c, [cam["id"]], scope="devices:read devices:control")
    oauth_error(refresh(srv, c, t["refresh_token"], scope="camera:stream"), 400, "invalid_scope")
    oauth_error(refresh(srv, c, t["refresh_token"], scope="bogus"), 400, "invalid_scope")
    r = refresh(srv, c, t["refresh_token"], scope="devices:read")
    assert r.status_code == 200 and r.json()["scope"] == "devices:read"
    tok = r.json()["access_token"]
    resp = srv.req("PUT", "/v1/devices/%s/state" % cam["id"], token=tok, json={"power": "on"})
    assert resp.status_code == 403


def test_refresh_garbage(setup):
    srv, c, u, cam = setup
    for bad in ("", "sh_or_", "sh_rt_AAAA", "x" * 300):
        r = refresh(srv, c, bad)
        assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request"), (bad, r.text)


def test_app_refresh_token_is_not_a_partner_refresh_token(setup):
    srv, c, u, cam = setup
    oauth_error(refresh(srv, c, u.sessions[0]["refresh_token"]), 400, "invalid_grant")


@pytest.mark.parametrize("ctype,body", [
    ("application/json", '{"grant_type":"authorization_code"}'),
    ("text/plain", "grant_type=authorization_code"),
])
def test_wrong_media_type(setup, ctype, body):
    srv, c, u, cam = setup
    h = dict(c.basic())
    h["Content-Type"] = ctype
    r = requests.post(srv.base + "/oauth/token", data=body, headers=h, timeout=HTTP_TIMEOUT)
    oauth_error(r, 415, "invalid_request")


def test_get_is_method_not_allowed(setup):
    srv, c, u, cam = setup
    # no route matched, so this is the router's problem+json, not an OAuth answer
    r = requests.get(srv.base + "/oauth/token", timeout=HTTP_TIMEOUT)
    assert r.status_code == 405 and "POST" in r.headers.get("Allow", "")


def test_concurrent_refreshes_with_one_token(setup):
    """Eight partners' retries at once with the same refresh token: the exchanges are
    serialized; each answer is a valid pair, the grant survives, and only the newest
    refresh token (and the presented one, still the previous) keeps working."""
    from conftest import parallel
    srv, c, u, cam = setup
    t = link(srv, u, c, [])
    results = parallel(lambda: refresh(srv, c, t["refresh_token"]), [()] * 8)
    assert all(r.status_code == 200 for r in results), [r.text for r in results]
    news = [r.json()["refresh_token"] for r in results]
    assert len(set(news)) == 8
    alive = [rt for rt in news if introspect(srv, c, rt).json().get("active")]
    assert len(alive) == 1, alive
    for r in results:       # every access token handed out works
        assert partner_devices(srv, r.json()["access_token"]).status_code == 200
    # superseded, never used: refused without ending the link
    stale = [rt for rt in news if rt != alive[0]][0]
    oauth_error(refresh(srv, c, stale), 400, "invalid_grant")
    assert refresh(srv, c, alive[0]).status_code == 200
