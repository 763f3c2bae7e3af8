"""Promise P6 (issue 3, item 8): the authorization matrix.

Every device route is called as every kind of caller, and each answer is checked against
the explicit table below. Each case runs on a fresh world (its own devices, shares and
ticket), so a case that changes something cannot hide another case's result. After a
refused call the world must be exactly as before; after an accepted one the effect must be
the caller's own (a heartbeat or reset with another device's token acts on that device, not
on the target)."""

import json
import re
import subprocess

import pytest

from conftest import BIN, assert_problem, describe, expect_json, expect_status, uniq
from devkit import (check_device, claim, claim_raw, dev_get, dev_list, heartbeat, logout, provision,
                    relay, share, shares, stream, tok, verify)

CALLERS = ("owner", "controller", "viewer", "other_user", "device", "other_device", "relay", "admin",
           "none", "revoked")

# route: (method, path template, body template)
ROUTES = {
    "claim":         ("POST",   "/v1/devices/claim",                 {"claim_code": "{code}", "name": "Mine"}),
    "list":          ("GET",    "/v1/devices",                       None),
    "get":           ("GET",    "/v1/devices/{dev}",                 None),
    "rename":        ("PATCH",  "/v1/devices/{dev}",                 {"name": "Renamed"}),
    "release":       ("DELETE", "/v1/devices/{dev}",                 None),
    "state":         ("PUT",    "/v1/devices/{dev}/state",           {"power": "on", "brightness": 60}),
    "shares_list":   ("GET",    "/v1/devices/{dev}/shares",          None),
    "share_create":  ("POST",   "/v1/devices/{dev}/shares",          {"email": "{invitee}", "role": "viewer"}),
    "share_delete":  ("DELETE", "/v1/devices/{dev}/shares/{share}",  None),
    "stream":        ("POST",   "/v1/devices/{dev}/stream",          None),
    "verify":        ("POST",   "/v1/streams/verify",                {"ticket": "{ticket}"}),
    "heartbeat":     ("POST",   "/v1/device/heartbeat",              {"firmware_version": "9.9.9",
                                                                      "wifi_ssid": "{ssid}"}),
    "reset":         ("POST",   "/v1/device/reset",                  None),
}

# The expected status of every (route, caller). 401s are `unauthenticated` for "none" and
# `invalid_token` for every other caller; 403 is `forbidden`, 404 `not_found`.
EXPECTED = {
    #                owner controller viewer other_user device other_device relay admin none revoked
    "claim":        (201,  201,       201,   201,       401,   401,         401,  401,  401, 401),
    "list":         (200,  200,       200,   200,       401,   401,         401,  401,  401, 401),
    "get":          (200,  200,       200,   404,       401,   401,         401,  401,  401, 401),
    "rename":       (200,  403,       403,   404,       401,   401,         401,  401,  401, 401),
    "release":      (204,  403,       403,   404,       401,   401,         401,  401,  401, 401),
    "state":        (200,  200,       403,   404,       401,   401,         401,  401,  401, 401),
    "shares_list":  (200,  403,       403,   404,       401,   401,         401,  401,  401, 401),
    "share_create": (201,  403,       403,   404,       401,   401,         401,  401,  401, 401),
    "share_delete": (204,  403,       403,   404,       401,   401,         401,  401,  401, 401),
    "stream":       (201,  201,       201,   404,       401,   401,         401,  401,  401, 401),
    "verify":       (401,  401,       401,   401,       401,   401,         200,  401,  401, 401),
    "heartbeat":    (401,  401,       401,   401,       200,   200,         401,  401,  401, 401),
    "reset":        (401,  401,       401,   401,       200,   200,         401,  401,  401, 401),
}

ROLE = {"owner": "owner", "controller": "controller", "viewer": "viewer"}


def test_table_is_complete():
    assert set(EXPECTED) == set(ROUTES)
    for route, row in EXPECTED.items():
        assert len(row) == len(CALLERS), route


def test_matrix_covers_every_device_route():
    """Guards the matrix against new device routes: every public route under /v1/devices,
    /v1/device/ and /v1/streams in the route table (`safehouse routes --json`) must be a
    row here."""
    p = subprocess.run([BIN, "routes", "--json"], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    table = {(r["method"], r["path"]) for r in json.loads(p.stdout)
             if r["listener"] == "api" and re.match(r"/v1/(devices|device/|streams)", r["path"])}
    ours = {(m, p.replace("{dev}", "{id}")) for m, p, _ in ROUTES.values()}
    assert table, "no device routes in the route table"
    missing = table - ours
    assert not missing, "device routes missing from the authorization matrix: %s" % sorted(missing)
    extra = ours - table
    assert not extra, "matrix rows for routes the server does not have: %s" % sorted(extra)


@pytest.fixture(scope="module")
def cast(server):
    c = {k: server.new_user() for k in ("owner", "controller", "viewer", "other_user", "invitee")}
    # a logged-out session of the owner: its token must open nothing
    s = server.login(c["owner"].email, c["owner"].password, client="android")   # not in .sessions
    logout(server, s["access_token"])
    c["revoked_token"] = s["access_token"]
    # a second relay for module-level checks
    c["relay"] = relay(server)
    return c


def make_world(srv, cast):
    o, x = cast["owner"], cast["other_user"]
    d = provision(srv, "camera", "Matrix Cam")
    name = "Target " + uniq()
    claim(srv, tok(o), d["claim_code"], name)
    net = {"wifi_ssid": "MatrixNet-" + uniq(), "subnet": "10.77.0.0/16", "local_ip": "10.77.1.2"}
    heartbeat(srv, d["device_token"], firmware="1.0", **net)
    sc = share(srv, tok(o), d["device_id"], cast["controller"].email, "controller")
    sv = share(srv, tok(o), d["device_id"], cast["viewer"].email, "viewer")
    ticket = stream(srv, tok(o), d["device_id"])
    # another user's own device, and an unclaimed one for the claim route
    e = provision(srv, "plug", "Matrix Plug")
    claim(srv, tok(x), e["claim_code"], "Other's plug " + uniq())
    heartbeat(srv, e["device_token"], firmware="2.0")
    u = provision(srv, "bulb", "Matrix Bulb")
    return {"d": d, "dev": d["device_id"], "name": name, "net": net, "sc": sc, "sv": sv, "ticket": ticket,
            "e": e, "u": u}


def token_of(caller, cast, w, srv):
    return {
        "owner": tok(cast["owner"]),
        "controller": tok(cast["controller"]),
        "viewer": tok(cast["viewer"]),
        "other_user": tok(cast["other_user"]),
        "device": w["d"]["device_token"],
        "other_device": w["e"]["device_token"],
        "relay": cast["relay"],
        "admin": srv.admin_token,
        "none": None,
        "revoked": cast["revoked_token"],
    }[caller]


def fill(template, w, cast):
    if template is None:
        return None
    subst = {"{code}": w["u"]["claim_code"], "{invitee}": cast["invitee"].email, "{ticket}": w["ticket"],
             "{ssid}": "CallerNet-" + uniq()}
    return {k: subst.get(v, v) if isinstance(v, str) else v for k, v in template.items()}


def snapshot(srv, cast, w):
    """Everything a call on the target could have changed, seen from outside."""
    o = tok(cast["owner"])
    owner_view = expect_json(dev_get(srv, o, w["dev"]), 200)
    return {
        "owner_view": owner_view,
        "shares": sorted((s["id"], s["email"], s["role"]) for s in shares(srv, o, w["dev"])),
        "roles": {k: (dev_list(srv, tok(cast[k])).get(w["dev"]) or {}).get("role")
                  for k in ("owner", "controller", "viewer", "other_user", "invitee")},
        "ticket": verify(srv, cast["relay"], w["ticket"])["active"],
        "unclaimed_owned_by": [k for k in ("owner", "controller", "viewer", "other_user")
                               if w["u"]["device_id"] in dev_list(srv, tok(cast[k]))],
        "other_device": expect_json(dev_get(srv, tok(cast["other_user"]), w["e"]["device_id"]), 200),
    }


CASES = [(route, caller) for route in ROUTES for caller in CALLERS]


@pytest.mark.parametrize("route,caller", CASES, ids=["%s-%s" % c for c in CASES])
def test_matrix(server, cast, route, caller):
    srv = server
    w = make_world(srv, cast)
    before = snapshot(srv, cast, w)
    assert before["ticket"] is True and before["roles"]["controller"] == "controller"
    method, tmpl, body_t = ROUTES[route]
    path = tmpl.replace("{dev}", w["dev"]).replace("{share}", w["sv"]["id"])
    token = token_of(caller, cast, w, srv)
    r = srv.req(method, path, token=token, json=fill(body_t, w, cast))
    want = EXPECTED[route][CALLERS.index(caller)]
    if want >= 400:
        code = {401: "unauthenticated" if caller == "none" else "invalid_token", 403: "forbidden",
                404: "not_found"}[want]
        assert_problem(r, want, code)
        after = snapshot(srv, cast, w)
        assert after == before, "a refused call changed something: %s" % describe(r)
        # the unclaimed device is still claimable (a refused claim consumed nothing)
        claim(srv, tok(cast["invitee"]), w["u"]["claim_code"])
        return
    assert r.status_code == want, "expected %d: %s" % (want, describe(r))
    check_effect(srv, cast, w, before, route, caller, r)


def check_effect(srv, cast, w, before, route, caller, r):
    o = tok(cast["owner"])
    me = cast.get(caller)
    if route == "claim":
        body = check_device(r.json(), role="owner", owner_view=True)
        assert body["id"] == w["u"]["device_id"] and body["name"] == "Mine"
        assert dev_list(srv, tok(me))[w["u"]["device_id"]]["role"] == "owner"
        assert snapshot(srv, cast, w)["owner_view"] == before["owner_view"]
    elif route == "list":
        listed = {d["id"]: d for d in r.json()["devices"]}
        if caller in ROLE:
            check_device(listed[w["dev"]], role=ROLE[caller])
            assert listed[w["dev"]]["name"] == w["name"]
            assert w["e"]["device_id"] not in listed
        else:
            assert w["dev"] not in listed
            assert listed[w["e"]["device_id"]]["role"] == "owner"
        assert w["u"]["device_id"] not in listed
        assert w["net"]["wifi_ssid"] not in r.text, "network details in a list"
    elif route == "get":
        body = check_device(r.json(), role=ROLE[caller], owner_view=(caller == "owner"))
        assert body["name"] == w["name"] and body["id"] == w["dev"]
        if caller == "owner":
            assert body["network"] == w["net"]
        else:
            assert w["net"]["wifi_ssid"] not in r.text
    elif route == "rename":
        assert r.json()["name"] == "Renamed"
        assert expect_json(dev_get(srv, tok(cast["viewer"]), w["dev"]), 200)["name"] == "Renamed"
    elif route == "release":
        assert r.content == b""
        for k in ("owner", "controller", "viewer"):
            assert w["dev"] not in dev_list(srv, tok(cast[k])), k
        assert verify(srv, cast["relay"], w["ticket"]) == {"active": False}
    elif route == "state":
        assert r.json() == {"desired_state": {"power": "on", "brightness": 60}}
        assert heartbeat(srv, w["d"]["device_token"], firmware="1.0") == {"power": "on", "brightness": 60}
    elif route == "shares_list":
        got = sorted((s["id"], s["email"], s["role"]) for s in r.json()["shares"])
        assert got == before["shares"] and len(got) == 2
    elif route == "share_create":
        assert r.json()["email"] == cast["invitee"].email and r.json()["role"] == "viewer"
        assert dev_list(srv, tok(cast["invitee"]))[w["dev"]]["role"] == "viewer"
    elif route == "share_delete":
        assert w["dev"] not in dev_list(srv, tok(cast["viewer"]))
        assert dev_list(srv, tok(cast["controller"]))[w["dev"]]["role"] == "controller"
        assert [s["id"] for s in shares(srv, o, w["dev"])] == [w["sc"]["id"]]
    elif route == "stream":
        v = verify(srv, cast["relay"], r.json()["ticket"])
        assert v["active"] and v["user_id"] == me.id and v["device_id"] == w["dev"]
    elif route == "verify":
        v = r.json()
        assert v["active"] is True and v["device_id"] == w["dev"] and v["user_id"] == cast["owner"].id
    elif route == "heartbeat":
        after = snapshot(srv, cast, w)
        if caller == "device":
            assert after["owner_view"]["firmware_version"] == "9.9.9"
            assert after["owner_view"]["network"]["wifi_ssid"].startswith("CallerNet-")
            assert after["other_device"] == before["other_device"]
        else:
            # another device's token acts on that device only
            assert after["owner_view"] == before["owner_view"]
            assert after["other_device"]["firmware_version"] == "9.9.9"
            assert after["shares"] == before["shares"] and after["ticket"] is True
    elif route == "reset":
        body = r.json()
        if caller == "device":
            assert body["device_id"] == w["dev"]
            assert w["dev"] not in dev_list(srv, o)
            assert verify(srv, cast["relay"], w["ticket"]) == {"active": False}
            assert expect_json(dev_get(srv, tok(cast["other_user"]), w["e"]["device_id"]), 200)
        else:
            assert body["device_id"] == w["e"]["device_id"]
            assert w["e"]["device_id"] not in dev_list(srv, tok(cast["other_user"]))
            assert snapshot_without_other(srv, cast, w) == snapshot_without_other_from(before)
    else:  # pragma: no cover
        raise AssertionError("no effect check for " + route)


def snapshot_without_other(srv, cast, w):
    o = tok(cast["owner"])
    return (expect_json(dev_get(srv, o, w["dev"]), 200),
            sorted((s["id"], s["email"], s["role"]) for s in shares(srv, o, w["dev"])),
            verify(srv, cast["relay"], w["ticket"])["active"])


def snapshot_without_other_from(before):
    return (before["owner_view"], before["shares"], before["ticket"])


def test_revoked_by_rule_token_opens_nothing(server):
    """A token killed by a user revocation rule (rather than a logout) is refused on every
    user route, and the device is untouched."""
    u = server.new_user()
    d = provision(server, "camera")
    claim(server, tok(u), d["claim_code"], "Rule cam")
    expect_json(server.admin_req("POST", "/admin/v1/revocations", json={"scope": "user", "value": u.id}), 201)
    for route, (method, tmpl, body) in ROUTES.items():
        if route in ("verify", "heartbeat", "reset"):
            continue
        path = tmpl.replace("{dev}", d["device_id"]).replace("{share}", "0" * 32)
        b = None if body is None else {k: "x" for k in body}
        assert_problem(server.req(method, path, token=tok(u), json=b), 401, "invalid_token")
    s = u.login()
    got = expect_json(dev_get(server, s["access_token"], d["device_id"]), 200)
    assert got["name"] == "Rule cam" and got["role"] == "owner"


def test_device_token_is_not_bound_to_a_path(server):
    """The device side takes the device from the token, never from the request: there is no
    way to name another device in a heartbeat or a reset."""
    a = provision(server, "plug")
    b = provision(server, "plug")
    u = server.new_user()
    claim(server, tok(u), b["claim_code"], "B")
    r = server.post("/v1/device/heartbeat", token=a["device_token"],
                    json={"firmware_version": "6.6.6", "device_id": b["device_id"], "id": b["device_id"]})
    expect_json(r, 200)
    assert expect_json(dev_get(server, tok(u), b["device_id"]), 200)["firmware_version"] is None
    r = server.post("/v1/device/reset", token=a["device_token"], json={"device_id": b["device_id"]})
    assert expect_json(r, 200)["device_id"] == a["device_id"]
    assert dev_list(server, tok(u))[b["device_id"]]["role"] == "owner"
    # and a claim code is not a credential for anything but claiming
    assert_problem(server.get("/v1/devices", token=b["claim_code"]), 401, "invalid_token")
    assert_problem(claim_raw(server, b["device_token"], b["claim_code"]), 401, "invalid_token")
    expect_status(server.get("/healthz"), 200)
