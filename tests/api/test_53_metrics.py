"""Issue 11, item 2: GET /metrics on the admin listener, in Prometheus text format.

The exposition is checked by Prometheus's own `promtool check metrics`; the counters are
checked against what the test did (logins, codes, requests by route and status); the
scrape token opens /metrics and nothing else; no personal value ever appears in it.
"""

import re
import shutil
import subprocess

import pytest

from conftest import assert_problem, describe, uniq
from devkit import provision

# label values may hold any character, "}" included (route="/v1/devices/{id}")
SAMPLE = re.compile(r'^([a-z_:][a-z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? (\S+)$')


def promtool():
    path = shutil.which("promtool")
    assert path, "promtool is required (scripts/install-deps.sh installs Debian's prometheus)"
    return path


def scrape(srv, token):
    r = srv.admin_req("GET", "/metrics", token=token)
    assert r.status_code == 200, describe(r)
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers
    return r.text


def samples(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def value(text, name, **labels):
    """The sum of a family's samples whose labels include `labels`."""
    total = 0.0
    for key, v in samples(text).items():
        base, _, rest = key.partition("{")
        got = dict(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"', rest))
        if base == name and all(got.get(k) == str(want) for k, want in labels.items()):
            total += v
    return total


@pytest.fixture(scope="module")
def scrape_token(server):
    p = server.cli("admin", "scrape-token", "create")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode().strip()
    assert re.match(r"^scrape token: sh_sc_[A-Za-z0-9_-]{48}$", out), out
    return out.split(": ", 1)[1]


def test_promtool_accepts_the_exposition(server, scrape_token):
    server.new_user()                                  # some requests, a login
    server.get("/v1/me")                               # a 401
    server.get("/no/such/route")                       # an unmatched one
    text = scrape(server, scrape_token)
    p = subprocess.run([promtool(), "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=30)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert p.stdout.strip() == b"" and p.stderr.strip() == b"", (p.stdout, p.stderr)


def test_the_families_are_there(server, scrape_token):
    text = scrape(server, scrape_token)
    for family in ("safehouse_http_requests_total", "safehouse_http_request_duration_seconds",
                   "safehouse_logins_total", "safehouse_mfa_verifications_total",
                   "safehouse_token_verifications_total", "safehouse_store_call_duration_seconds",
                   "safehouse_store_errors_total", "safehouse_revocation_rules",
                   "safehouse_revocation_newest_rule_age_seconds", "safehouse_outbox_depth",
                   "safehouse_hash_pool_queue", "safehouse_hash_pool_queue_limit",
                   "safehouse_build_info"):
        assert "# TYPE %s " % family in text, family
    assert re.search(r'^safehouse_build_info\{version="[0-9.]+",store="(sqlite|postgres)"\} 1$', text,
                     re.MULTILINE), text


def test_counters_follow_what_happened(server, scrape_token):
    before = scrape(server, scrape_token)
    u = server.new_user()                               # one successful login
    for _ in range(3):
        r = server.post("/v1/sessions", json={"email": u.email, "password": "wrong " + uniq(),
                                              "client": "web"})
        assert r.status_code == 401, describe(r)
    for _ in range(2):
        server.me(u.sessions[-1]["access_token"])
    assert server.get("/v1/me", token="sh_at_forged").status_code == 401
    after = scrape(server, scrape_token)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("safehouse_logins_total", outcome="success") == 1
    assert delta("safehouse_logins_total", outcome="failure") == 3
    assert delta("safehouse_http_requests_total", listener="api", method="GET", route="/v1/me",
                 status="200") == 2
    assert delta("safehouse_http_requests_total", listener="api", method="POST", route="/v1/sessions",
                 status="401") == 3
    assert delta("safehouse_http_request_duration_seconds_count", listener="api", method="GET",
                 route="/v1/me") == 3
    assert delta("safehouse_token_verifications_total", kind="access", result="invalid") >= 1
    assert delta("safehouse_store_call_duration_seconds_count") > 0
    # the scrape before this one is counted on the admin listener
    assert delta("safehouse_http_requests_total", listener="admin", route="/metrics", status="200") == 1


def test_revocation_rules_are_counted(server, scrape_token):
    before = value(scrape(server, scrape_token), "safehouse_revocation_rules")
    r = server.admin_req("POST", "/admin/v1/revocations", json={"scope": "class", "value": "cli"})
    assert r.status_code == 201, describe(r)
    text = scrape(server, scrape_token)
    assert value(text, "safehouse_revocation_rules") == before + 1
    age = value(text, "safehouse_revocation_newest_rule_age_seconds")
    assert 0 <= age < 60, text


def test_scrape_token_opens_metrics_and_nothing_else(server, scrape_token):
    assert scrape(server, scrape_token)
    for method, path, body in (("GET", "/admin/v1/revocations", None),
                               ("POST", "/admin/v1/revocations", {"scope": "all"}),
                               ("POST", "/admin/v1/devices", {"type": "plug", "model": "X"}),
                               ("POST", "/admin/v1/relays", None),
                               ("GET", "/admin/v1/oauth/clients", None)):
        r = server.admin_req(method, path, json=body, token=scrape_token)
        assert_problem(r, 403, "forbidden")
    assert value(scrape(server, scrape_token), "safehouse_revocation_rules") >= 0
    # and on the public listener it is no credential at all
    assert_problem(server.get("/v1/me", token=scrape_token), 401, "invalid_token")
    assert_problem(server.get("/v1/devices", token=scrape_token), 401, "invalid_token")


def test_metrics_needs_a_credential(server, scrape_token):
    assert_problem(server.req("GET", "/metrics", admin=True), 401, "unauthenticated")
    assert_problem(server.admin_req("GET", "/metrics", token="sh_sc_" + "A" * 48), 401, "invalid_token")
    u = server.new_user()
    assert_problem(server.admin_req("GET", "/metrics", token=u.sessions[-1]["access_token"]), 401,
                   "invalid_token")
    # the admin token holds every role
    assert scrape(server, server.admin_token)
    # /metrics is not served on the public listener
    assert server.get("/metrics").status_code == 404


def test_a_new_scrape_token_replaces_the_old(server, scrape_token):
    p = server.cli("admin", "scrape-token", "create")
    assert p.returncode == 0
    fresh = p.stdout.decode().strip().split(": ", 1)[1]
    assert fresh != scrape_token
    assert scrape(server, fresh)
    assert_problem(server.admin_req("GET", "/metrics", token=scrape_token), 401, "invalid_token")


def test_no_personal_value_in_metrics(server):
    p = server.cli("admin", "scrape-token", "create")
    token = p.stdout.decode().strip().split(": ", 1)[1]
    u = server.new_user(display_name="Metrics Person " + uniq())
    d = provision(server, "camera", "MX-1")
    r = server.post("/v1/devices/claim", token=u.sessions[-1]["access_token"],
                    json={"claim_code": d["claim_code"], "name": "Hidden Cam " + uniq()})
    assert r.status_code == 201
    text = scrape(server, token)
    for secret in (u.email, u.email.split("@")[0], u.password, u.id, u.sessions[-1]["access_token"],
                   d["device_id"], d["device_token"], "Hidden Cam", "Metrics Person"):
        assert secret not in text, secret
    # labels are route templates, never concrete ids
    assert "/v1/devices/claim" in text
    assert not re.search(r'route="[^"]*[0-9a-f]{32}', text)


def test_bad_input_on_metrics(server):
    """/metrics takes no body and no query; other methods are 405; a garbled credential
    is 401; none of it changes what a later scrape says about rules."""
    token = server.cli("admin", "scrape-token", "create").stdout.decode().strip().split(": ", 1)[1]
    rules = value(scrape(server, token), "safehouse_revocation_rules")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = server.admin_req(method, "/metrics", token=token, json={"x": 1})
        assert_problem(r, 405, "method_not_allowed")
        assert "GET" in r.headers["Allow"]
    r = server.admin_req("GET", "/metrics?name=%ZZ&limit=-1", token=token, data=b"\xff\xfe{")
    assert r.status_code == 200, describe(r)
    for bad in (token[:-1], token + "A", "sh_sc_" + "\u00e9" * 48, "Basic " + token):
        assert_problem(server.admin_req("GET", "/metrics", token=bad), 401, "invalid_token")
    assert value(scrape(server, token), "safehouse_revocation_rules") == rules


def test_scrape_token_is_not_stored_in_clear(module_server_factory):
    srv = module_server_factory(name="scrape-canary")
    p = srv.cli("admin", "scrape-token", "create")
    token = p.stdout.decode().strip().split(": ", 1)[1]
    assert scrape(srv, token)
    secret = token[len("sh_sc_"):].encode()
    for name, data in srv.store_blobs().items():
        assert secret not in data and token.encode() not in data, name
    assert token not in srv.log_text(all_starts=True)
