"""Issue 11, item 1: the route table is the one place where authorization is declared.

`safehouse routes --json` prints both listeners' tables. This module reads that list and
calls every route, public and admin, as every kind of principal. The expected answer of
each call is derived from the route's row alone (auth, partner_scope, device_role,
stepup, roles), so a row that changes changes the expectation, and a route added to the
table is covered without anyone editing this file:

  user, other_user              app sessions with no role on the target device
  owner, controller, viewer     app sessions of the device's owner and its two sharees
  device, other_device          the target device's token, and another device's
  relay                         a media relay's credential
  partner                       an OAuth partner token of the owner, all scopes, granted the device
  partner_read                  the same with devices:read only
  partner_stream                the same with camera:stream only
  partner_nogrant               all scopes, granted another device of the owner
  admin                         the admin token (every operator role)
  scrape                        the Prometheus scrape token (the `scrape` role alone)
  ifttt_key                     a registered client's IFTTT-Service-Key header, no bearer
  none, expired, revoked        no credential; an expired access token; a logged-out one
  wrong_kind                    a refresh token sent as the bearer

Every user session is older than the step-up window (the server runs with
--reauth-window 1), so a step-up route must refuse them with reauthentication_required
when no proof is sent; test_14_stepup.py covers the proofs themselves.
"""

import json
import subprocess
import time

import pytest

from conftest import BIN, assert_problem, describe, uniq
from devkit import claim, provision, relay, share, tok
from oauthkit import link, register_client

PRINCIPALS = ("user", "other_user", "owner", "controller", "viewer", "device", "other_device",
              "relay", "partner", "partner_read", "partner_stream", "partner_nogrant", "admin",
              "scrape", "ifttt_key", "none", "expired", "revoked", "wrong_kind")
APP_USERS = ("user", "other_user", "owner", "controller", "viewer")
PARTNERS = {"partner": "devices:read devices:control camera:stream", "partner_read": "devices:read",
            "partner_stream": "camera:stream", "partner_nogrant": "devices:read devices:control camera:stream"}
DEVICE_ROLE = {"owner": 1, "controller": 2, "viewer": 3}
# the role a partner of the owner holds on a granted device (devices/devices.c: partner_role)
AUTHZ_CODES = {"unauthenticated", "invalid_token", "forbidden", "insufficient_scope",
               "reauthentication_required"}
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


def route_table():
    p = subprocess.run([BIN, "routes", "--json"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


ROUTES = route_table()


def test_routes_json_lists_both_listeners():
    keys = {"listener", "method", "path", "auth", "body", "pool", "stepup", "answer",
            "partner_scope", "limit", "roles", "device_role"}
    assert all(set(r) == keys for r in ROUTES), ROUTES[0]
    listeners = {r["listener"] for r in ROUTES}
    assert listeners == {"api", "admin"}
    seen = {(r["listener"], r["method"], r["path"]) for r in ROUTES}
    assert len(seen) == len(ROUTES), "a route is listed twice"
    # a few rows whose declaration this suite relies on elsewhere
    by = {(r["method"], r["path"]): r for r in ROUTES if r["listener"] == "api"}
    assert by[("DELETE", "/v1/me/mfa/totp")]["stepup"] == "proof"
    assert by[("DELETE", "/v1/devices/{id}")]["device_role"] == "owner"
    assert by[("PUT", "/v1/devices/{id}/state")]["partner_scope"] == ["devices:control"]
    assert all(r["roles"] for r in ROUTES if r["auth"] == "admin")
    assert not any(r["roles"] for r in ROUTES if r["auth"] != "admin")


def test_routes_text_and_help():
    p = subprocess.run([BIN, "routes"], capture_output=True, timeout=30)
    assert p.returncode == 0
    lines = p.stdout.decode().splitlines()
    assert len(lines) == len(ROUTES)
    assert any("/v1/devices/{id}" in ln and "device_role=owner" in ln for ln in lines)
    h = subprocess.run([BIN, "routes", "--help"], capture_output=True, timeout=30)
    assert h.returncode == 0 and b"--json" in h.stdout
    bad = subprocess.run([BIN, "routes", "--jsn"], capture_output=True, timeout=30)
    assert bad.returncode == 2 and bad.stdout == b""


def test_the_matrix_covers_every_route():
    """Guards against a table this module cannot read: every row has an expectation for
    every principal."""
    for r in ROUTES:
        for p in PRINCIPALS:
            assert expected(r, p) is not None, (r, p)


# ---------------------------------------------------------------------------------------
# The expectation of (route, principal), from the row alone


def expected(route, who):
    """('pass',) when the route's declaration lets `who` in; ('same',) for a public route
    (the credential is not read: the answer must be the one without any); else
    (status, code) of the refusal."""
    auth = route["auth"]
    if auth == "none":
        return ("same",)
    if who == "none" or (who == "ifttt_key" and auth != "service_key"):
        return (401, "unauthenticated")
    if auth == "service_key":
        return ("pass",) if who == "ifttt_key" else (401, "unauthenticated")
    if auth == "admin":
        held = {"admin": {"viewer", "support", "security", "owner", "scrape"}, "scrape": {"scrape"}}
        if who not in held:
            return (401, "invalid_token")
        return ("pass",) if held[who] & set(route["roles"]) else (403, "forbidden")
    if auth in ("device", "relay"):
        ok = ("device", "other_device") if auth == "device" else ("relay",)
        return ("pass",) if who in ok else (401, "invalid_token")
    if who in PARTNERS:
        scopes = set(PARTNERS[who].split())
        if not route["partner_scope"]:
            return (403, "forbidden")
        if not scopes & set(route["partner_scope"]):
            return (403, "insufficient_scope")
        if route["device_role"] is not None:
            if who == "partner_nogrant":
                return (404, "not_found")
            role = 2 if "devices:control" in scopes else 3
            if role > DEVICE_ROLE[route["device_role"]]:
                return (403, "forbidden")
        return ("pass",)
    if auth == "partner" or who not in APP_USERS:
        return (401, "invalid_token")
    if route["device_role"] is not None:
        if who not in DEVICE_ROLE:
            return (404, "not_found")
        if DEVICE_ROLE[who] > DEVICE_ROLE[route["device_role"]]:
            return (403, "forbidden")
    if route["stepup"] != "none":
        return (403, "reauthentication_required")
    return ("pass",)


# ---------------------------------------------------------------------------------------
# The world: built again for every route, so that a call that changes something (a
# logout, a rename, a reset) cannot change what another route's calls see


@pytest.fixture(scope="module")
def srv(module_server_factory):
    s = module_server_factory(name="routes", extra_args=["--access-ttl", "1"])
    u = s.new_user()
    expired = u.sessions[-1]["access_token"]
    time.sleep(1.2)  # its one-second lifetime is over before any route sees it
    s.restart(extra_args=["--reauth-window", "1"])
    s.expired_token = expired
    s.relay_token = relay(s)
    p = s.cli("admin", "scrape-token", "create")
    assert p.returncode == 0, p.stderr
    s.scrape_token = p.stdout.decode().strip().split(": ", 1)[1]
    key = "ifttt-" + uniq("k") + "-0123456789abcdef"
    register_client(s, service_key=key)
    s.ifttt_key = key
    s.clients = {name: register_client(s, scopes=scope) for name, scope in PARTNERS.items()}
    s.shared_world = make_world(s, stale=False)
    return s


def make_world(s, stale):
    w = {k: s.new_user() for k in APP_USERS}
    d = provision(s, "camera", "RT-Cam")
    claim(s, tok(w["owner"]), d["claim_code"], "Target " + uniq())
    e = provision(s, "plug", "RT-Plug")
    claim(s, tok(w["owner"]), e["claim_code"], "Other " + uniq())
    other = provision(s, "bulb", "RT-Bulb")
    share(s, tok(w["owner"]), d["device_id"], w["controller"].email, "controller")
    sv = share(s, tok(w["owner"]), d["device_id"], w["viewer"].email, "viewer")
    tokens = {k: tok(w[k]) for k in APP_USERS}
    for name, scope in PARTNERS.items():
        client = s.clients[name]
        granted = [e["device_id"]] if name == "partner_nogrant" else [d["device_id"]]
        tokens[name] = link(s, w["owner"], client, granted, scope=scope)["access_token"]
    gone = s.login(w["user"].email, w["user"].password)
    assert s.post("/v1/logout", token=gone["access_token"]).status_code == 204
    tokens.update(device=d["device_token"], other_device=other["device_token"], relay=s.relay_token,
                  admin=s.admin_token, scrape=s.scrape_token, expired=s.expired_token, revoked=gone["access_token"],
                  wrong_kind=w["other_user"].sessions[-1]["refresh_token"], none=None, ifttt_key=None)
    if stale:
        time.sleep(1.1)  # every session is now past the step-up window
    return {"tokens": tokens, "dev": d["device_id"], "share": sv["id"]}


def concrete(path, w):
    for name, value in (("{id}", w["dev"] if path.startswith("/v1/devices/") else UNKNOWN_ID),
                        ("{share}", w["share"]), ("{client}", UNKNOWN_ID)):
        path = path.replace(name, value)
    return path


def call(s, route, w, who):
    path = concrete(route["path"], w)
    headers = {"IFTTT-Service-Key": s.ifttt_key} if who == "ifttt_key" else {}
    kw = {}
    if route["body"] in ("json", "json_optional"):
        kw["json"] = {}
    elif route["body"] == "form" and route["method"] != "GET":
        kw["data"] = {}
    method = "GET" if route["method"] == "HEAD" else route["method"]
    return s.req(method, path, token=w["tokens"][who], headers=headers,
                 admin=route["listener"] == "admin", **kw)


def check(route, who, r, baseline):
    want = expected(route, who)
    where = "%s %s %s as %s" % (route["listener"], route["method"], route["path"], who)
    if want == ("same",):
        assert r.status_code == baseline, "%s: %s (without a credential: %d)" % (where, describe(r), baseline)
        return
    if want == ("pass",):
        code = r.json().get("code") if r.headers.get("Content-Type", "").endswith("json") else None
        assert r.status_code not in (401, 403) and code not in AUTHZ_CODES, "%s: %s" % (where, describe(r))
        if route["device_role"] is not None:
            assert r.status_code != 404, "%s: %s" % (where, describe(r))
        return
    status, code = want
    assert r.status_code == status, "%s: expected %d %s: %s" % (where, status, code, describe(r))
    assert_problem(r, status, code)


@pytest.mark.parametrize("route", ROUTES, ids=["%s-%s-%s" % (r["listener"], r["method"], r["path"])
                                                for r in ROUTES])
def test_matrix(srv, route):
    # a route that may let a session, partner or device in gets a world of its own: what
    # it lets in may change the world. The others share one.
    own = route["auth"] in ("user", "partner", "device")
    w = make_world(srv, stale=route["stepup"] != "none") if own else srv.shared_world
    # refusals first: a call that is let in may change the world (a logout, a reset)
    order = sorted(PRINCIPALS, key=lambda p: expected(route, p) == ("pass",))
    baseline = None
    if expected(route, "none") == ("same",):
        baseline = call(srv, route, w, "none").status_code
    for who in order:
        check(route, who, call(srv, route, w, who), baseline)
