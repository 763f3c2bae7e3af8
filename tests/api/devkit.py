"""Helpers for the device tests (test_20 .. test_25).

Plain functions over conftest's Server; imported with ``from devkit import ...``.
Everything goes through the public or admin HTTP API or the CLI of the real
binary: nothing here reads server internals except where a test says so.
"""

import json
import re

from conftest import HEX32, assert_problem, describe, expect_json, expect_status, uniq

DEVICE_TOKEN = re.compile(r"^sh_dt_[A-Za-z0-9_-]{48}$")           # 32 random bytes + CRC-32
RELAY_TOKEN = re.compile(r"^sh_rl_[A-Za-z0-9_-]{48}$")
STREAM_TICKET = re.compile(r"^sh_st_[A-Za-z0-9_-]{171}$")  # 92-byte payload + MAC + CRC
# 25 characters of Crockford's base32 (no I, L, O, U) in five groups of five
CLAIM_CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$")

DEVICE_KEYS = {"id", "name", "type", "model", "firmware_version", "last_seen_at", "online",
               "role", "desired_state"}
TYPES = ("camera", "plug", "bulb", "sensor", "scale")


def check_secrets(d):
    """Shape of what provisioning and reset hand to a device."""
    assert set(d) == {"device_id", "device_token", "claim_code"}, d
    assert HEX32.match(d["device_id"]), d
    assert DEVICE_TOKEN.match(d["device_token"]), d
    assert CLAIM_CODE.match(d["claim_code"]), d
    return d


def provision_raw(srv, type_="camera", model="M-1", count=None, token=None):
    body = {"type": type_, "model": model}
    if count is not None:
        body["count"] = count
    return srv.admin_req("POST", "/admin/v1/devices", json=body, token=token)


def provision(srv, type_="camera", model=None, count=None):
    """Provisions through the admin API; returns the list of secrets (or one if count is None)."""
    r = provision_raw(srv, type_, model or ("M-" + uniq("")[:8]), count)
    body = expect_json(r, 201)
    assert set(body) == {"devices"}, describe(r)
    devs = [check_secrets(d) for d in body["devices"]]
    assert len(devs) == (count or 1), describe(r)
    return devs if count is not None else devs[0]


def provision_cli(srv, type_="camera", model="CLI-M", count=None):
    args = ["admin", "device", "provision", "--type", type_, "--model", model]
    if count is not None:
        args += ["--count", str(count)]
    p = srv.cli(*args)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    lines = p.stdout.decode().splitlines()
    return [check_secrets(json.loads(line)) for line in lines]


def relay(srv):
    body = expect_json(srv.admin_req("POST", "/admin/v1/relays"), 201)
    assert set(body) == {"relay_id", "relay_token"}, body
    assert HEX32.match(body["relay_id"]) and RELAY_TOKEN.match(body["relay_token"]), body
    return body["relay_token"]


def relay_cli(srv):
    p = srv.cli("admin", "relay", "create")
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    body = json.loads(p.stdout.decode())
    assert set(body) == {"relay_id", "relay_token"}, body
    assert HEX32.match(body["relay_id"]) and RELAY_TOKEN.match(body["relay_token"]), body
    return body["relay_token"]


def tok(user):
    """The access token of a conftest.User's newest session."""
    return user.sessions[-1]["access_token"]


def claim_raw(srv, token, code, name="Device"):
    body = {"claim_code": code}
    if name is not None:
        body["name"] = name
    return srv.post("/v1/devices/claim", token=token, json=body)


def claim(srv, token, code, name=None):
    name = name or ("Dev " + uniq("")[:10])
    r = claim_raw(srv, token, code, name)
    body = expect_json(r, 201)
    check_device(body, role="owner", owner_view=True)
    assert body["name"] == name, describe(r)
    return body


def check_device(d, role=None, owner_view=False):
    """Shape of a device as GET /v1/devices/{id} (owner_view: with network) or the list shows it."""
    keys = set(d)
    if owner_view:
        assert keys == DEVICE_KEYS | {"network"}, d
        assert d["network"] is None or isinstance(d["network"], dict), d
    else:
        assert keys == DEVICE_KEYS, "a non-owner or list view must not carry 'network': %r" % (d,)
    assert HEX32.match(d["id"]), d
    assert d["type"] in TYPES, d
    assert isinstance(d["online"], bool), d
    assert isinstance(d["desired_state"], dict), d
    if role is not None:
        assert d["role"] == role, d
    return d


def dev_get(srv, token, dev_id):
    return srv.get("/v1/devices/" + dev_id, token=token)


def dev_list(srv, token):
    body = expect_json(srv.get("/v1/devices", token=token), 200)
    assert set(body) == {"devices"}, body
    return {d["id"]: check_device(d) for d in body["devices"]}


def heartbeat_raw(srv, dev_token, firmware="1.0.0", **net):
    body = {"firmware_version": firmware}
    body.update(net)
    return srv.post("/v1/device/heartbeat", token=dev_token, json=body)


def heartbeat(srv, dev_token, firmware="1.0.0", **net):
    body = expect_json(heartbeat_raw(srv, dev_token, firmware, **net), 200)
    assert set(body) == {"desired_state"} and isinstance(body["desired_state"], dict), body
    return body["desired_state"]


def reset(srv, dev_token):
    r = srv.post("/v1/device/reset", token=dev_token)
    return check_secrets(expect_json(r, 200))


def set_state_raw(srv, token, dev_id, state):
    return srv.req("PUT", "/v1/devices/%s/state" % dev_id, token=token, json=state)


def share_raw(srv, token, dev_id, email, role):
    return srv.post("/v1/devices/%s/shares" % dev_id, token=token, json={"email": email, "role": role})


def share(srv, token, dev_id, email, role):
    r = share_raw(srv, token, dev_id, email, role)
    body = expect_json(r, 201)
    assert set(body) == {"id", "email", "role", "created_at"}, describe(r)
    assert HEX32.match(body["id"]) and body["role"] == role and body["email"] == email, describe(r)
    return body


def shares(srv, token, dev_id):
    body = expect_json(srv.get("/v1/devices/%s/shares" % dev_id, token=token), 200)
    assert set(body) == {"shares"}, body
    return body["shares"]


def stream_raw(srv, token, dev_id):
    return srv.post("/v1/devices/%s/stream" % dev_id, token=token)


def stream(srv, token, dev_id):
    r = stream_raw(srv, token, dev_id)
    body = expect_json(r, 201)
    assert set(body) == {"ticket", "expires_in"}, describe(r)
    assert STREAM_TICKET.match(body["ticket"]) and body["expires_in"] == 300, describe(r)
    return body["ticket"]


def verify_raw(srv, relay_token, ticket):
    return srv.post("/v1/streams/verify", token=relay_token, json={"ticket": ticket})


def verify(srv, relay_token, ticket):
    body = expect_json(verify_raw(srv, relay_token, ticket), 200)
    if body.get("active") is False:
        assert body == {"active": False}, "an inactive ticket must reveal nothing: %r" % (body,)
    else:
        assert body.get("active") is True, body
        assert set(body) == {"active", "device_id", "user_id", "expires_at"}, body
    return body


def active(srv, relay_token, ticket):
    return verify(srv, relay_token, ticket)["active"]


def not_found(resp):
    return assert_problem(resp, 404, "not_found")


def forbidden(resp):
    return assert_problem(resp, 403, "forbidden")


def logout(srv, token):
    expect_status(srv.post("/v1/logout", token=token), 204)
