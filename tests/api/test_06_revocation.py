"""Revocation rules (promises P3/P4) through the admin API and the CLI, admin API auth,
`admin token-reset`."""

import json
import math
import time
import uuid

import pytest

from conftest import (ADMIN_LINE, HEX32, RULE_DELAY, assert_problem, expect_json,
                      parse_rfc3339, rfc3339, wait_until)


@pytest.fixture(scope="module")
def rsrv(module_server_factory):
    """A server of its own: class rules here must not touch the shared server."""
    return module_server_factory(name="revocation")


def alive(srv, s):
    """Asserts the session's access and refresh tokens work; returns the refreshed body."""
    assert srv.token_ok(s["access_token"]), "access token of session %s refused" % s["session_id"]
    r = srv.refresh_raw(s["refresh_token"])
    body = expect_json(r, 200)
    assert body["session_id"] == s["session_id"]
    assert srv.token_ok(body["access_token"])
    return body


def dead(srv, s, wait=False):
    """Asserts the session is dead: access token refused (optionally polling), refresh refused."""
    if wait:
        assert srv.wait_token_dead(s["access_token"]), \
            "session %s still alive %.1f s after the rule" % (s["session_id"], RULE_DELAY)
    assert_problem(srv.me(s["access_token"]), 401, "invalid_token")
    assert_problem(srv.refresh_raw(s["refresh_token"]), 401, "invalid_token")


def login_again_works(srv, user, client="web"):
    s = user.login(client=client)
    assert srv.token_ok(s["access_token"]), "fresh login refused right after the rule"
    alive(srv, s)


def api_rule(srv, body):
    r = srv.admin_req("POST", "/admin/v1/revocations", json=body)
    rule = expect_json(r, 201)
    assert HEX32.match(rule["id"]), rule
    assert rule["scope"] == body["scope"], rule
    if "value" in body:
        assert rule["value"] == body["value"], rule
    parse_rfc3339(rule["not_before"])
    return rule


def cli_rule(srv, *args):
    r = srv.cli("admin", "revoke", *args)
    assert r.returncode == 0, "admin revoke %s -> rc %d stderr %s" % (args, r.returncode, r.stderr)
    lines = r.stdout.decode().strip().splitlines()
    assert len(lines) == 1, r.stdout
    rule = json.loads(lines[0])
    assert set(rule) >= {"id", "scope", "value", "not_before"}, rule
    assert HEX32.match(rule["id"]), rule
    parse_rfc3339(rule["not_before"])
    return rule


def listed_rule_ids(srv):
    body = expect_json(srv.admin_req("GET", "/admin/v1/revocations"), 200)
    for rule in body["rules"]:
        assert set(rule) >= {"id", "scope", "value", "not_before", "created_at"}, rule
        parse_rfc3339(rule["not_before"])
        parse_rfc3339(rule["created_at"])
    return [rule["id"] for rule in body["rules"]]


# ---- admin API authentication ----------------------------------------------------


def test_admin_api_requires_auth(rsrv):
    r = rsrv.req("GET", "/admin/v1/revocations", admin=True)
    assert_problem(r, 401, "unauthenticated")
    r = rsrv.req("POST", "/admin/v1/revocations", admin=True, json={"scope": "all"})
    assert_problem(r, 401, "unauthenticated")


def test_admin_api_wrong_token(rsrv):
    tok = rsrv.admin_token
    flipped = tok[:len(tok) // 2] + ("B" if tok[len(tok) // 2] != "B" else "C") + tok[len(tok) // 2 + 1:]
    for bad in ("sh_ad_" + "A" * 40, flipped, "nonsense"):
        r = rsrv.admin_req("POST", "/admin/v1/revocations", json={"scope": "all"}, token=bad)
        assert_problem(r, 401, "invalid_token")
        assert_problem(rsrv.admin_req("GET", "/admin/v1/revocations", token=bad), 401, "invalid_token")


def test_app_tokens_are_not_admin_tokens(rsrv):
    u = rsrv.new_user(clients=("cli",))
    s = u.sessions[0]
    for tok in (s["access_token"], s["refresh_token"]):
        r = rsrv.admin_req("POST", "/admin/v1/revocations", json={"scope": "all"}, token=tok)
        assert_problem(r, 401, "invalid_token")
        assert_problem(rsrv.admin_req("GET", "/admin/v1/revocations", token=tok), 401, "invalid_token")
    # nothing was revoked by those attempts
    alive(rsrv, s)


def test_admin_token_not_accepted_on_public_api(rsrv):
    assert_problem(rsrv.me(rsrv.admin_token), 401, "invalid_token")


# ---- admin API validation -----------------------------------------------------------


@pytest.mark.parametrize("body", [
    {"scope": "bogus"},
    {"scope": "class", "value": "windows"},
    {"scope": "class"},
    {"scope": "user"},
    {"scope": "user", "value": "not-a-hex-id"},
    {"scope": "session", "value": "12345"},
    {"scope": "all", "not_before": "yesterday"},
    {"scope": "all", "not_before": "2099-01-01T00:00:00Z"},
    {"scope": 1},
    {},
])
def test_admin_bad_rule_refused(rsrv, body):
    u = rsrv.new_user(clients=("android",))
    before = listed_rule_ids(rsrv)
    r = rsrv.admin_req("POST", "/admin/v1/revocations", json=body)
    assert_problem(r, 400, "invalid_request")
    assert listed_rule_ids(rsrv) == before
    alive(rsrv, u.sessions[0])


def test_admin_bad_json(rsrv):
    r = rsrv.admin_req("POST", "/admin/v1/revocations", data=b'{"scope": "all"',
                       headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "invalid_json")
    r = rsrv.admin_req("POST", "/admin/v1/revocations", data=b'{"scope": "all"}',
                       headers={"Content-Type": "text/plain"})
    assert_problem(r, 415, "unsupported_media_type")


def test_admin_wrong_method_and_unknown_route(rsrv):
    r = rsrv.admin_req("DELETE", "/admin/v1/revocations")
    assert_problem(r, 405, "method_not_allowed")
    allow = r.headers["Allow"].upper()
    assert "GET" in allow and "POST" in allow
    assert_problem(rsrv.admin_req("GET", "/admin/v1/nothing-here"), 404, "not_found")


# ---- rules through the admin API ----------------------------------------------------


def test_api_class_rule(rsrv):
    u = rsrv.create_account()
    v = rsrv.create_account()
    a1, i1, w1 = u.login("android"), u.login("ios"), u.login("web")
    a2, c2 = v.login("android"), v.login("cli")
    rule = api_rule(rsrv, {"scope": "class", "value": "android"})
    assert rule["id"] in listed_rule_ids(rsrv)
    dead(rsrv, a1, wait=True)
    dead(rsrv, a2, wait=True)
    for s in (i1, w1, c2):
        alive(rsrv, s)
    # a session killed by a rule is no longer live: not listed, not deletable
    lst = expect_json(rsrv.get("/v1/sessions", token=w1["access_token"]), 200)
    listed = [x["id"] for x in lst["sessions"]]
    assert a1["session_id"] not in listed, "session revoked by a class rule still listed"
    assert i1["session_id"] in listed and w1["session_id"] in listed
    assert_problem(rsrv.req("DELETE", "/v1/sessions/" + a1["session_id"], token=w1["access_token"]),
                   404, "not_found")
    # Android users can log in again at once
    login_again_works(rsrv, u, "android")
    login_again_works(rsrv, v, "android")


def test_api_user_rule(rsrv):
    u = rsrv.create_account()
    v = rsrv.create_account()
    us = [u.login("android"), u.login("web")]
    vs = v.login("web")
    rule = api_rule(rsrv, {"scope": "user", "value": u.id})
    assert rule["value"] == u.id
    for s in us:
        dead(rsrv, s, wait=True)
    alive(rsrv, vs)
    login_again_works(rsrv, u)


def test_api_session_rule(rsrv):
    u = rsrv.create_account()
    s1, s2 = u.login("ios"), u.login("ios")
    api_rule(rsrv, {"scope": "session", "value": s1["session_id"]})
    dead(rsrv, s1, wait=True)
    s2 = alive(rsrv, s2)
    lst = expect_json(rsrv.get("/v1/sessions", token=s2["access_token"]), 200)
    assert [x["id"] for x in lst["sessions"]] == [s2["session_id"]]
    login_again_works(rsrv, u, "ios")


def _wait_for_cutoff(before_time):
    """TIME is a whole second after every 'before' session; returns it once it is safely past."""
    cutoff = math.floor(before_time) + 1
    while time.time() < cutoff + 1.05:
        time.sleep(0.05)
    return cutoff


def test_api_user_rule_with_not_before(rsrv):
    u = rsrv.create_account()
    old = u.login("web")
    cutoff = _wait_for_cutoff(time.time())
    new = u.login("web")
    rule = api_rule(rsrv, {"scope": "user", "value": u.id, "not_before": rfc3339(cutoff)})
    assert parse_rfc3339(rule["not_before"]) == cutoff
    dead(rsrv, old, wait=True)
    alive(rsrv, new)
    login_again_works(rsrv, u)


def test_api_rule_with_old_not_before_kills_nothing(rsrv):
    u = rsrv.create_account()
    s = u.login("android")
    rule = api_rule(rsrv, {"scope": "all", "not_before": "2001-01-01T00:00:00Z"})
    assert rule["not_before"] == "2001-01-01T00:00:00Z"
    time.sleep(0.3)
    alive(rsrv, s)


def test_rules_listed(rsrv):
    u = rsrv.create_account()
    r1 = api_rule(rsrv, {"scope": "user", "value": u.id})
    r2 = api_rule(rsrv, {"scope": "session", "value": uuid.uuid4().hex})
    ids = listed_rule_ids(rsrv)
    assert r1["id"] in ids and r2["id"] in ids
    assert ids.index(r1["id"]) < ids.index(r2["id"]), "rules not listed in creation order"


def test_api_all_rule(server_factory):
    srv = server_factory(name="rev-all-api")
    users = [srv.create_account() for _ in range(2)]
    sessions = [u.login(c) for u in users for c in ("android", "ios", "web", "cli")]
    rule = api_rule(srv, {"scope": "all"})
    assert rule["scope"] == "all"
    for s in sessions:
        dead(srv, s, wait=True)
    for u in users:
        for c in ("android", "web"):
            login_again_works(srv, u, c)


# ---- rules through the CLI -----------------------------------------------------------


def test_cli_class_rule(rsrv):
    u = rsrv.create_account()
    a, i, w = u.login("android"), u.login("ios"), u.login("web")
    rule = cli_rule(rsrv, "--class", "android")
    assert rule["scope"] == "class" and rule["value"] == "android"
    dead(rsrv, a, wait=True)
    alive(rsrv, i)
    alive(rsrv, w)
    login_again_works(rsrv, u, "android")
    assert rule["id"] in listed_rule_ids(rsrv)


def test_cli_user_rule(rsrv):
    u = rsrv.create_account()
    v = rsrv.create_account()
    us = [u.login("cli"), u.login("ios")]
    vs = v.login("cli")
    rule = cli_rule(rsrv, "--user", u.id)
    assert rule["scope"] == "user" and rule["value"] == u.id
    for s in us:
        dead(rsrv, s, wait=True)
    alive(rsrv, vs)
    login_again_works(rsrv, u, "cli")


def test_cli_session_rule(rsrv):
    u = rsrv.create_account()
    s1, s2 = u.login("web"), u.login("web")
    rule = cli_rule(rsrv, "--session", s1["session_id"])
    assert rule["scope"] == "session" and rule["value"] == s1["session_id"]
    dead(rsrv, s1, wait=True)
    alive(rsrv, s2)
    login_again_works(rsrv, u)


def test_cli_all_rule(server_factory):
    srv = server_factory(name="rev-all-cli")
    users = [srv.create_account() for _ in range(2)]
    sessions = [u.login(c) for u in users for c in ("android", "web")]
    rule = cli_rule(srv, "--all")
    assert rule["scope"] == "all"
    for s in sessions:
        dead(srv, s, wait=True)
    for u in users:
        login_again_works(srv, u, "android")


def test_cli_all_before_time(server_factory):
    srv = server_factory(name="rev-before-cli")
    u = srv.create_account()
    v = srv.create_account()
    old_u, old_v = u.login("android"), v.login("web")
    old_refreshed = u.login("ios")
    cutoff = _wait_for_cutoff(time.time())
    new_u, new_v = u.login("android"), v.login("web")
    # a session created before TIME but refreshed after it
    refreshed = expect_json(srv.refresh_raw(old_refreshed["refresh_token"]), 200)
    rule = cli_rule(srv, "--all", "--before", rfc3339(cutoff))
    assert rule["scope"] == "all"
    assert parse_rfc3339(rule["not_before"]) == cutoff
    dead(srv, old_u, wait=True)
    dead(srv, old_v, wait=True)
    alive(srv, new_u)
    alive(srv, new_v)
    # the rule is about when the session was created: refreshing after TIME does not save it
    dead(srv, refreshed, wait=True)
    login_again_works(srv, u, "ios")


def test_cli_rule_while_server_stopped(server_factory):
    srv = server_factory(name="rev-offline")
    u = srv.create_account()
    v = srv.create_account()
    su, sv = u.login("web"), v.login("web")
    srv.stop_ok()
    rule = cli_rule(srv, "--user", u.id)
    srv.start()
    # the rule is loaded at start-up: no delay
    dead(srv, su)
    alive(srv, sv)
    assert rule["id"] in listed_rule_ids(srv)
    login_again_works(srv, u)


@pytest.mark.parametrize("args", [
    [],
    ["--class", "windows"],
    ["--class"],
    ["--user", "not-hex"],
    ["--session", "abc"],
    ["--all", "--before", "not-a-time"],
    ["--bogus-flag"],
])
def test_cli_bad_arguments(rsrv, args):
    before = listed_rule_ids(rsrv)
    r = rsrv.cli("admin", "revoke", *args)
    assert r.returncode == 2, "admin revoke %s -> rc %d, stdout %r" % (args, r.returncode, r.stdout)
    assert r.stderr.strip(), "no message on stderr"
    assert r.stdout.strip() == b""
    time.sleep(0.3)
    assert listed_rule_ids(rsrv) == before


# ---- admin token-reset --------------------------------------------------------------------


def test_admin_token_reset(server_factory):
    srv = server_factory(name="token-reset")
    old = srv.admin_token
    expect_json(srv.admin_req("GET", "/admin/v1/revocations"), 200)
    r = srv.cli("admin", "token-reset")
    assert r.returncode == 0, r
    lines = r.stdout.decode().strip().splitlines()
    assert len(lines) == 1, r.stdout
    m = ADMIN_LINE.match(lines[0])
    assert m, lines
    new = m.group(1)
    assert new != old
    assert wait_until(lambda: srv.admin_req("GET", "/admin/v1/revocations", token=old).status_code == 401,
                      timeout=3.0), "old admin token still accepted after token-reset"
    assert_problem(srv.admin_req("GET", "/admin/v1/revocations", token=old), 401, "invalid_token")
    assert wait_until(lambda: srv.admin_req("GET", "/admin/v1/revocations", token=new).status_code == 200,
                      timeout=3.0), "new admin token not accepted"
    u = srv.new_user()
    api_rule_body = {"scope": "user", "value": u.id}
    expect_json(srv.admin_req("POST", "/admin/v1/revocations", json=api_rule_body, token=new), 201)
    srv.admin_token = new
    # the token is stored only as a hash: neither token appears in the store's files
    for name, data in srv.store_blobs().items():
        assert old.encode() not in data and new.encode() not in data, name
