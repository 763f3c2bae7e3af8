"""Promise P10 on the device routes (issue 3): malformed JSON, wrong types, oversized fields,
unknown and non-hex ids get a clear problem+json error, and change nothing."""

import json
import uuid

import pytest

from conftest import assert_problem, describe, expect_json, uniq
from devkit import (claim, dev_get, dev_list, heartbeat, provision, relay, share, shares, stream, tok,
                    verify)

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def world(server):
    """An owner with a bulb (network reported, shared with a viewer), an unclaimed camera,
    a relay and a live ticket; each test checks this world is unchanged afterwards."""
    o, v = server.new_user(), server.new_user()
    cam = provision(server, "camera")
    claim(server, tok(o), cam["claim_code"], "BadInput cam")
    d = provision(server, "bulb")
    claim(server, tok(o), d["claim_code"], "BadInput bulb")
    heartbeat(server, d["device_token"], firmware="1.2.3", wifi_ssid="Net " + uniq(), subnet="10.1.0.0/16",
              local_ip="10.1.0.9")
    expect_json(server.req("PUT", "/v1/devices/%s/state" % d["device_id"], token=tok(o),
                           json={"power": "on", "brightness": 10}), 200)
    sv = share(server, tok(o), d["device_id"], v.email, "viewer")
    unclaimed = provision(server, "plug")
    rl = relay(server)
    ticket = stream(server, tok(o), cam["device_id"])
    return {"o": o, "v": v, "d": d, "dev": d["device_id"], "cam": cam, "sv": sv, "unclaimed": unclaimed,
            "relay": rl, "ticket": ticket}


def state_of(srv, w):
    row = srv.db_query("SELECT last_seen_at, firmware_version, generation FROM devices WHERE id = ?",
                       (bytes.fromhex(w["dev"]),))
    return {
        "view": expect_json(dev_get(srv, tok(w["o"]), w["dev"]), 200),
        "shares": shares(srv, tok(w["o"]), w["dev"]),
        "viewer": sorted(dev_list(srv, tok(w["v"]))),
        "owner": sorted(dev_list(srv, tok(w["o"]))),
        "row": row,
        "ticket": verify(srv, w["relay"], w["ticket"])["active"],
        "devices": srv.db_query("SELECT count(*) FROM devices"),
        "unclaimed": srv.db_query("SELECT owner_id IS NULL, claim_hash IS NOT NULL FROM devices WHERE id = ?",
                                  (bytes.fromhex(w["unclaimed"]["device_id"]),)),
    }


# (name, method, path, token kind) of every route that takes a body
BODY_ROUTES = [
    ("claim", "POST", "/v1/devices/claim", "owner"),
    ("rename", "PATCH", "/v1/devices/{dev}", "owner"),
    ("state", "PUT", "/v1/devices/{dev}/state", "owner"),
    ("share", "POST", "/v1/devices/{dev}/shares", "owner"),
    ("verify", "POST", "/v1/streams/verify", "relay"),
    ("heartbeat", "POST", "/v1/device/heartbeat", "device"),
    ("provision", "POST", "/admin/v1/devices", "admin"),
]


def call(srv, w, route, data=None, json_body=None, headers=JSON):
    name, method, path, who = route
    token = {"owner": tok(w["o"]), "relay": w["relay"], "device": w["d"]["device_token"],
             "admin": srv.admin_token}[who]
    return srv.req(method, path.replace("{dev}", w["dev"]), token=token, data=data, json=json_body,
                   headers=headers if data is not None else None, admin=(who == "admin"))


MALFORMED = [
    (b'{"name": "x"', "invalid_json"),                     # truncated
    (b'{"name": "x",}', "invalid_json"),                   # trailing comma
    (b"{'name': 'x'}", "invalid_json"),                    # single quotes
    (b'', "invalid_json"),                                 # empty
    (b'{"name": "x"} {"name": "y"}', "invalid_json"),      # two documents
    (b'{"name": "a\xff\xfe"}', "invalid_json"),            # invalid UTF-8
    (b'{"name": "a\xed\xa0\x80"}', "invalid_json"),        # UTF-8 surrogate
    (b'{"name": "x", "name": "y"}', "invalid_json"),       # duplicate key
    (b'{"name": "a\\u0000b"}', "invalid_json"),            # NUL escape
    (b'{"power": NaN}', "invalid_json"),
    (b'[]', "invalid_request"),
    (b'[{"name": "x"}]', "invalid_request"),
]


@pytest.mark.parametrize("raw,code", MALFORMED, ids=["truncated", "trailing-comma", "single-quotes", "empty",
                                                     "two-docs", "bad-utf8", "surrogate", "dup-key", "nul",
                                                     "nan", "array", "array-of-object"])
@pytest.mark.parametrize("route", BODY_ROUTES, ids=[r[0] for r in BODY_ROUTES])
def test_malformed_json(server, world, route, raw, code):
    before = state_of(server, world)
    r = call(server, world, route, data=raw)
    assert_problem(r, 400, code)
    assert state_of(server, world) == before, "a malformed body changed something: " + describe(r)


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", None])
@pytest.mark.parametrize("route", BODY_ROUTES, ids=[r[0] for r in BODY_ROUTES])
def test_wrong_content_type(server, world, route, ctype):
    before = state_of(server, world)
    body = {"claim_code": world["unclaimed"]["claim_code"], "name": "CT", "power": "off",
            "email": world["v"].email, "role": "viewer", "ticket": world["ticket"], "firmware_version": "0.0.1",
            "type": "plug", "model": "CT"}
    headers = {"Content-Type": ctype} if ctype else {}
    r = call(server, world, route, data=json.dumps(body).encode(), headers=headers)
    assert_problem(r, 415, "unsupported_media_type")
    assert state_of(server, world) == before


@pytest.mark.parametrize("route", BODY_ROUTES, ids=[r[0] for r in BODY_ROUTES])
def test_body_too_large(server, world, route):
    before = state_of(server, world)
    body = {"claim_code": world["unclaimed"]["claim_code"], "name": "Big", "firmware_version": "9",
            "pad": "x" * (64 * 1024)}
    r = call(server, world, route, data=json.dumps(body).encode())
    assert_problem(r, 413, "payload_too_large")
    assert state_of(server, world) == before


# (route name, body, field named in the detail)
WRONG = [
    ("claim", {"claim_code": 123456, "name": "x"}, "claim_code"),
    ("claim", {"claim_code": ["C"], "name": "x"}, "claim_code"),
    ("claim", {"claim_code": "C", "name": 5}, "name"),
    ("claim", {"claim_code": "C", "name": {"n": 1}}, "name"),
    ("claim", {"claim_code": "C"}, "name"),
    ("claim", {"name": "x"}, "claim_code"),
    ("claim", {"claim_code": "C" * 65, "name": "x"}, "claim_code"),
    ("claim", {"claim_code": "C", "name": "n" * 513}, "name"),
    ("rename", {"name": 1}, "name"),
    ("rename", {"name": True}, "name"),
    ("rename", {"nom": "x"}, "name"),
    ("rename", {"name": "n" * 513}, "name"),
    ("rename", {"name": "😀" * 129}, "name"),
    ("state", {"power": 0}, "power"),
    ("state", {"brightness": "full"}, "brightness"),
    ("state", {"brightness": [50]}, "brightness"),
    ("share", {"email": 7, "role": "viewer"}, "email"),
    ("share", {"email": "V", "role": ["viewer"]}, "role"),
    ("share", {"role": "viewer"}, "email"),
    ("share", {"email": "V"}, "role"),
    ("share", {"email": "V", "role": "viewer" + "x" * 11}, "role"),
    ("share", {"email": "x" * 1020 + "@ex.com", "role": "viewer"}, "email"),
    ("verify", {"ticket": 1}, "ticket"),
    ("verify", {"ticket": None}, "ticket"),
    ("verify", {}, "ticket"),
    ("verify", {"ticket": "sh_st_" + "A" * 251}, "ticket"),
    ("heartbeat", {}, "firmware_version"),
    ("heartbeat", {"firmware_version": 1}, "firmware_version"),
    ("heartbeat", {"firmware_version": None}, "firmware_version"),
    ("heartbeat", {"firmware_version": "f" * 65}, "firmware_version"),
    ("heartbeat", {"firmware_version": "1", "wifi_ssid": 5}, "wifi_ssid"),
    ("heartbeat", {"firmware_version": "1", "wifi_ssid": None}, "wifi_ssid"),
    ("heartbeat", {"firmware_version": "1", "wifi_ssid": "s" * 65}, "wifi_ssid"),
    ("heartbeat", {"firmware_version": "1", "subnet": ["10.0.0.0/8"]}, "subnet"),
    ("heartbeat", {"firmware_version": "1", "subnet": "1" * 65}, "subnet"),
    ("heartbeat", {"firmware_version": "1", "local_ip": 167772161}, "local_ip"),
    ("heartbeat", {"firmware_version": "1", "local_ip": "1" * 65}, "local_ip"),
    ("provision", {"type": "camera", "model": "m" * 65}, "model"),
    ("provision", {"type": 3, "model": "m"}, "type"),
    ("provision", {"type": "camera" * 3, "model": "m"}, "type"),
]


@pytest.mark.parametrize("route_name,body,field", WRONG,
                         ids=["%s-%d" % (w[0], i) for i, w in enumerate(WRONG)])
def test_wrong_types_missing_and_oversized_fields(server, world, route_name, body, field):
    route = [r for r in BODY_ROUTES if r[0] == route_name][0]
    body = {k: (world["unclaimed"]["claim_code"] if v == "C" else world["v"].email if v == "V" else v)
            for k, v in body.items()}
    before = state_of(server, world)
    r = call(server, world, route, json_body=body)
    problem = assert_problem(r, 400, "invalid_request")
    assert field in problem.get("detail", ""), "detail does not name %r: %s" % (field, describe(r))
    assert state_of(server, world) == before, "a refused request changed something: " + describe(r)


def test_oversized_body_values_are_not_echoed(server, world):
    secret = "EchoCanary" + uuid.uuid4().hex
    r = call(server, world, BODY_ROUTES[5], json_body={"firmware_version": secret * 3})
    assert_problem(r, 400, "invalid_request")
    assert secret not in r.text


def test_field_limits_are_inclusive(server, world):
    """The largest accepted value of each bounded field works (then the world is restored)."""
    d = provision(server, "plug", "m" * 64)
    u = world["o"]
    claim(server, tok(u), d["claim_code"], "n" * 128)
    # the longest valid values: a 32-byte SSID, the longest IPv6 subnet and address
    ip6 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
    net = {"wifi_ssid": "s" * 32, "subnet": ip6 + "/128", "local_ip": ip6}
    heartbeat(server, d["device_token"], firmware="f" * 64, **net)
    got = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    assert got["firmware_version"] == "f" * 64 and got["network"] == net and got["model"] == "m" * 64
    assert expect_json(server.req("PATCH", "/v1/devices/" + d["device_id"], token=tok(u),
                                  json={"name": "😀" * 128}), 200)["name"] == "😀" * 128


# ---- ids ----------------------------------------------------------------------------------------

BAD_IDS = ["zz", "123", "0" * 31, "0" * 33, "g" * 32, "-" * 32, "a" * 200, "%20", "..%2F..", "%00" + "0" * 29]

ID_ROUTES = [
    ("GET", "/v1/devices/{id}", None),
    ("PATCH", "/v1/devices/{id}", {"name": "Renamed"}),
    ("DELETE", "/v1/devices/{id}", None),
    ("PUT", "/v1/devices/{id}/state", {"power": "off"}),
    ("GET", "/v1/devices/{id}/shares", None),
    ("POST", "/v1/devices/{id}/shares", {"email": "V", "role": "controller"}),
    ("DELETE", "/v1/devices/{id}/shares/{share}", None),
    ("POST", "/v1/devices/{id}/stream", None),
]


@pytest.mark.parametrize("method,path,body", ID_ROUTES, ids=["%s %s" % (m, p) for m, p, _ in ID_ROUTES])
def test_unknown_and_non_hex_ids_are_404(server, world, method, path, body):
    before = state_of(server, world)
    if body is not None:
        body = {k: (world["v"].email if v == "V" else v) for k, v in body.items()}
    ids = [uuid.uuid4().hex, "0" * 32, world["unclaimed"]["device_id"]] + BAD_IDS
    for bad in ids:
        p = path.replace("{id}", bad).replace("{share}", world["sv"]["id"])
        r = server.req(method, p, token=tok(world["o"]), json=body)
        assert_problem(r, 404, "not_found")
    if "{share}" in path:
        for bad in [uuid.uuid4().hex] + BAD_IDS + [world["dev"]]:
            p = path.replace("{id}", world["dev"]).replace("{share}", bad)
            assert_problem(server.req(method, p, token=tok(world["o"])), 404, "not_found")
    assert state_of(server, world) == before


def test_upper_case_hex_id_names_the_same_device(server, world):
    got = expect_json(dev_get(server, tok(world["o"]), world["dev"].upper()), 200)
    assert got["id"] == world["dev"]
    # and it does not let a stranger in
    stranger = server.new_user()
    assert_problem(dev_get(server, tok(stranger), world["dev"].upper()), 404, "not_found")


@pytest.mark.parametrize("method,path,allow", [
    ("PUT", "/v1/devices", "GET"),
    ("POST", "/v1/devices/{id}", "DELETE"),
    ("GET", "/v1/devices/{id}/state", "PUT"),
    ("GET", "/v1/devices/{id}/stream", "POST"),
    ("PATCH", "/v1/devices/{id}/shares", "POST"),
    ("GET", "/v1/device/heartbeat", "POST"),
    ("GET", "/v1/device/reset", "POST"),
    ("GET", "/v1/streams/verify", "POST"),
])
def test_wrong_method_is_405_with_allow(server, world, method, path, allow):
    before = state_of(server, world)
    r = server.req(method, path.replace("{id}", world["dev"]), token=tok(world["o"]))
    assert_problem(r, 405, "method_not_allowed")
    assert allow in r.headers["Allow"], describe(r)
    assert state_of(server, world) == before


def test_trailing_slashes_and_unknown_subpaths_are_404(server, world):
    for p in ("/v1/devices/", "/v1/devices/%s/" % world["dev"], "/v1/devices/%s/shares/" % world["dev"],
              "/v1/devices/%s/owner" % world["dev"], "/v1/device/", "/v1/device/heartbeat/x",
              "/v1/streams/verify/"):
        assert_problem(server.get(p, token=tok(world["o"])), 404, "not_found")


def test_bad_heartbeat_records_nothing(server, world):
    before = state_of(server, world)
    for body in ({"firmware_version": "6.6.6", "wifi_ssid": "s" * 65},
                 {"firmware_version": "6.6.6", "local_ip": 1},
                 {"firmware_version": "f" * 65, "wifi_ssid": "Evil"}):
        assert_problem(server.post("/v1/device/heartbeat", token=world["d"]["device_token"], json=body),
                       400, "invalid_request")
    after = state_of(server, world)
    assert after["row"] == before["row"], "a refused heartbeat updated last_seen_at or firmware"
    assert after == before


def test_heartbeat_firmware_with_control_characters_is_refused(server):
    d = provision(server, "plug")
    for fw in ("", "1.0\n", "\x1b[2J", "1.0\u202e"):
        r = server.post("/v1/device/heartbeat", token=d["device_token"], json={"firmware_version": fw})
        assert_problem(r, 400, "invalid_request")


@pytest.mark.parametrize("field,value", [
    ("wifi_ssid", "s" * 33), ("wifi_ssid", ""), ("wifi_ssid", "Home\nNet"),
    ("subnet", "not a subnet"), ("subnet", "10.0.0.0"), ("subnet", "10.0.0.0/33"),
    ("subnet", "fd00::/129"), ("subnet", "10.0.0.0/"), ("local_ip", "999.1.1.1"),
    ("local_ip", "10.0.0.1/24"), ("local_ip", "localhost"),
])
def test_heartbeat_network_fields_are_validated(server, field, value):
    """Network details the owner will be shown must be what they claim to be."""
    d = provision(server, "plug")
    r = server.post("/v1/device/heartbeat", token=d["device_token"],
                    json={"firmware_version": "1.0", field: value})
    assert_problem(r, 400, "invalid_request")
    assert field in r.json().get("detail", ""), r.text
