"""Devices (issue 3): provisioning, claiming, heartbeat, desired state, rename, reset.

Sharing is in test_21, resale in test_22, the authorization matrix in test_23,
data protection in test_24 and bad input in test_25."""

import os
import time

import pytest

from conftest import (assert_problem, assert_recent, describe, expect_json, expect_status,
                      parallel, uniq)
from devkit import (check_device, claim, claim_raw, dev_get, dev_list, heartbeat,
                    heartbeat_raw, not_found, provision, provision_cli, provision_raw, relay, relay_cli,
                    reset, set_state_raw, tok)


def device_count(srv):
    return srv.db_query("SELECT count(*) FROM devices")[0][0]


@pytest.fixture(scope="module")
def mu(server):
    """One user for the parametrized cases (creating a user costs two Argon2id runs)."""
    return server.new_user()


@pytest.fixture(scope="module")
def bystander(server):
    """A user who never claims anything."""
    return server.new_user()


def random_code():
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    raw = "".join(alphabet[b % 32] for b in os.urandom(25))
    return "-".join(raw[i:i + 5] for i in range(0, 25, 5))


# ---- provisioning --------------------------------------------------------------------


def test_provision_admin_api_gives_each_device_its_own_secrets(server):
    devs = provision(server, "camera", "CAM-X1", count=5)
    assert len({d["device_id"] for d in devs}) == 5
    assert len({d["device_token"] for d in devs}) == 5
    assert len({d["claim_code"] for d in devs}) == 5
    # each token is a working credential for its own device, and only for it
    for d in devs:
        assert heartbeat(server, d["device_token"], firmware="fw-" + d["device_id"][:6]) == {}
    u = server.new_user()
    for d in devs:
        body = claim(server, tok(u), d["claim_code"])
        assert body["id"] == d["device_id"] and body["type"] == "camera" and body["model"] == "CAM-X1"
        assert body["firmware_version"] == "fw-" + d["device_id"][:6]


def test_provision_default_count_is_one(server):
    body = expect_json(provision_raw(server, "bulb", "B-1"), 201)
    assert len(body["devices"]) == 1


def test_provision_cli_gives_each_device_its_own_secrets(server):
    devs = provision_cli(server, "plug", "PLUG-CLI", count=4)
    assert len(devs) == 4
    for key in ("device_id", "device_token", "claim_code"):
        assert len({d[key] for d in devs}) == 4, key
    api = provision(server, "plug", "PLUG-CLI", count=2)
    assert not {d["device_token"] for d in devs} & {d["device_token"] for d in api}
    # the CLI wrote to the same store the running server reads
    u = server.new_user()
    for d in devs:
        heartbeat(server, d["device_token"])
        body = claim(server, tok(u), d["claim_code"])
        assert body["id"] == d["device_id"] and body["type"] == "plug" and body["model"] == "PLUG-CLI"


def test_provision_cli_default_count_is_one(server):
    assert len(provision_cli(server, "sensor", "S-9")) == 1


@pytest.mark.parametrize("type_", ["camera", "plug", "bulb", "sensor", "scale"])
def test_every_device_type(server, mu, type_):
    d = provision(server, type_, "Model-" + type_)
    body = claim(server, tok(mu), d["claim_code"])
    assert body["type"] == type_ and body["model"] == "Model-" + type_


@pytest.mark.parametrize("body", [
    {"model": "M"},                                   # type missing
    {"type": "toaster", "model": "M"},
    {"type": "Camera", "model": "M"},                 # types are lower case
    {"type": "", "model": "M"},
    {"type": 1, "model": "M"},
    {"type": ["camera"], "model": "M"},
    {"type": "camera"},                               # model missing
    {"type": "camera", "model": ""},
    {"type": "camera", "model": "m" * 65},
    {"type": "camera", "model": 7},
    {"type": "camera", "model": None},
    {"type": "camera", "model": "M", "count": 0},
    {"type": "camera", "model": "M", "count": -1},
    {"type": "camera", "model": "M", "count": 1001},
    {"type": "camera", "model": "M", "count": "2"},
    {"type": "camera", "model": "M", "count": 1.5},
    {"type": "camera", "model": "M", "count": True},
    {"type": "camera", "model": "M", "count": None},
])
def test_provision_admin_api_bad_input(server, body):
    before = device_count(server)
    r = server.admin_req("POST", "/admin/v1/devices", json=body)
    assert_problem(r, 400, "invalid_request")
    assert device_count(server) == before, "a refused provisioning stored devices: " + describe(r)


def test_provision_model_limits(server):
    body = expect_json(provision_raw(server, "scale", "m" * 64), 201)
    assert len(body["devices"]) == 1


@pytest.mark.parametrize("args", [
    ["--type", "toaster", "--model", "M"],
    ["--type", "camera"],
    ["--model", "M"],
    ["--type", "camera", "--model", ""],
    ["--type", "camera", "--model", "m" * 65],
    ["--type", "camera", "--model", "M", "--count", "0"],
    ["--type", "camera", "--model", "M", "--count", "-3"],
    ["--type", "camera", "--model", "M", "--count", "abc"],
    ["--type", "camera", "--model", "M", "--all"],
])
def test_provision_cli_bad_args(server, args):
    before = device_count(server)
    p = server.cli("admin", "device", "provision", *args)
    assert p.returncode != 0, (args, p.stdout, p.stderr)
    assert p.stdout == b"", "a refused provisioning printed secrets: %r" % p.stdout
    assert p.stderr.strip(), "no explanation on stderr"
    assert device_count(server) == before


def test_provision_requires_admin(server):
    d = provision(server)
    u = server.new_user()
    rl = relay(server)
    for path in ("/admin/v1/devices", "/admin/v1/relays"):
        body = {"type": "camera", "model": "M"}
        assert_problem(server.req("POST", path, admin=True, json=body), 401, "unauthenticated")
        for t in (tok(u), d["device_token"], rl, server.admin_token[:-2] + "xx"):
            assert_problem(server.req("POST", path, admin=True, json=body, token=t), 401, "invalid_token")
        # not served on the public listener, not even with the admin token
        assert_problem(server.post(path, json=body, token=server.admin_token), 404, "not_found")


def test_relay_create_cli_and_api_distinct(server):
    tokens = {relay(server), relay(server), relay_cli(server), relay_cli(server)}
    assert len(tokens) == 4
    for t in tokens:
        assert server.post("/v1/streams/verify", token=t, json={"ticket": "x"}).json() == {"active": False}


# ---- claiming ----------------------------------------------------------------------------


def test_claim_makes_caller_owner(server):
    d = provision(server, "camera", "CLM-1")
    u = server.new_user()
    name = "Front door " + uniq()
    body = claim(server, tok(u), d["claim_code"], name)
    assert body["id"] == d["device_id"]
    assert body["role"] == "owner" and body["name"] == name
    assert body["firmware_version"] is None and body["last_seen_at"] is None
    assert body["online"] is False and body["desired_state"] == {} and body["network"] is None
    assert dev_list(server, tok(u)) == {d["device_id"]: {k: v for k, v in body.items() if k != "network"}}
    got = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    assert got == body


def _lower_nodash(c):
    return c.lower().replace("-", "")


def _ambiguous(c):
    # readers may type O for 0 and I or L for 1
    return c.replace("0", "o").replace("1", "l")


@pytest.mark.parametrize("form", [
    lambda c: c.lower(),
    lambda c: c.replace("-", ""),
    _lower_nodash,
    lambda c: c.replace("-", " "),
    lambda c: " " + c + " ",
    _ambiguous,
], ids=["lower", "nodash", "lower-nodash", "spaces", "padded", "ambiguous-letters"])
def test_claim_code_is_case_and_dash_insensitive(server, mu, form):
    d = provision(server)
    code = d["claim_code"]
    if form is _ambiguous:
        for _ in range(20):
            if "0" in code or "1" in code:
                break
            d = provision(server)
            code = d["claim_code"]
        assert "0" in code or "1" in code
    body = claim(server, tok(mu), form(code))
    assert body["id"] == d["device_id"]


def test_claim_code_is_single_use(server):
    d = provision(server)
    a, b = server.new_user(), server.new_user()
    claim(server, tok(a), d["claim_code"], "A's camera")
    # the same user again, and another user, in any spelling
    for t in (tok(a), tok(b)):
        for code in (d["claim_code"], _lower_nodash(d["claim_code"])):
            r = claim_raw(server, t, code, "Mine now")
            assert_problem(r, 404, "not_found")
    assert d["device_id"] not in dev_list(server, tok(b))
    not_found(dev_get(server, tok(b), d["device_id"]))
    got = expect_json(dev_get(server, tok(a), d["device_id"]), 200)
    assert got["role"] == "owner" and got["name"] == "A's camera"


@pytest.mark.parametrize("code", [
    "RANDOM",                      # replaced by a random well-formed code
    "hello",
    "",
    "ABCDE-FGHJK-MNPQR-STVWX-YZ01-2",   # 26 characters
    "ABCDE-FGHJK-MNPQR-STVWX-YZ0",      # 24 characters
    "ABCDE-FGHJK-MNPQR-STVWX-YZ0U",     # U is not in the alphabet
    "ABCDE-FGHJK-MNPQR-STVWX-YZ0!",
])
def test_claim_with_wrong_code_is_404(server, code):
    # a fresh account each time: failed claims count against the account
    # (test_26_device_limits_stepup.py), and this test is about the answer
    guesser = server.new_user()
    if code == "RANDOM":
        code = random_code()
    r = claim_raw(server, tok(guesser), code, "Nope")
    assert_problem(r, 404, "not_found")
    assert dev_list(server, tok(guesser)) == {}


def test_claim_code_longer_than_64_bytes_is_400(server, bystander):
    assert_problem(claim_raw(server, tok(bystander), "A" * 65, "x"), 400, "invalid_request")
    assert dev_list(server, tok(bystander)) == {}


@pytest.mark.parametrize("body", [
    {},                                            # name missing (claim_code added below)
    {"name": ""},
    {"name": "n" * 129},
    {"name": "bell\x07"},
    {"name": "line\nbreak"},
    {"name": 42},
    {"name": None},
    {"name": ["x"]},
])
def test_claim_with_bad_name_is_400_and_keeps_code(server, mu, body):
    d = provision(server)
    u = mu
    b = dict(body)
    b["claim_code"] = d["claim_code"]
    r = server.post("/v1/devices/claim", token=tok(u), json=b)
    assert_problem(r, 400, "invalid_request")
    assert d["device_id"] not in dev_list(server, tok(u))
    # nothing was consumed: the code still claims the device
    assert claim(server, tok(u), d["claim_code"], "n" * 128)["id"] == d["device_id"]


@pytest.mark.parametrize("body", [{"name": "x"}, {"name": "x", "claim_code": 12345},
                                  {"name": "x", "claim_code": None}])
def test_claim_with_missing_or_non_string_code_is_400(server, bystander, body):
    r = server.post("/v1/devices/claim", token=tok(bystander), json=body)
    assert_problem(r, 400, "invalid_request")
    assert dev_list(server, tok(bystander)) == {}


def test_concurrent_claims_one_winner(server):
    d = provision(server)
    users = [server.new_user() for _ in range(4)]
    jobs = [(tok(users[i % 4]), d["claim_code"], "Racer %d" % i) for i in range(8)]
    results = parallel(lambda t, c, n: claim_raw(server, t, c, n), jobs)
    won = [r for r in results if r.status_code == 201]
    assert len(won) == 1, [describe(r) for r in results]
    for r in results:
        if r.status_code != 201:
            assert_problem(r, 404, "not_found")
    winner = won[0].json()
    owners = [u for u in users if d["device_id"] in dev_list(server, tok(u))]
    assert len(owners) == 1
    got = expect_json(dev_get(server, tok(owners[0]), d["device_id"]), 200)
    assert got["name"] == winner["name"] and got["role"] == "owner"


def test_claim_code_expiry_is_one_hour(server):
    """The stored expiry is exactly one hour after provisioning (and after a reset)."""
    d = provision(server)
    rows = server.db_query("SELECT claim_expires_at - created_at FROM devices WHERE id = ?",
                           (bytes.fromhex(d["device_id"]),))
    assert rows == [(3600 * 1000000,)], rows
    t0 = time.time()
    d2 = reset(server, d["device_token"])
    rows = server.db_query("SELECT claim_expires_at FROM devices WHERE id = ?",
                           (bytes.fromhex(d2["device_id"]),))
    assert abs(rows[0][0] / 1e6 - (t0 + 3600)) < 30, rows


def test_expired_claim_code_is_refused(server_factory):
    """Moves one device's claim expiry into the past (with the server stopped): its code no
    longer claims; a device whose code expires in a minute still can be claimed."""
    srv = server_factory(name="claim-expiry")
    old, fresh = provision(srv), provision(srv)
    u = srv.new_user()
    srv.stop_ok()
    now_us = int(time.time() * 1e6)
    assert srv.db_execute("UPDATE devices SET claim_expires_at = ? WHERE id = ?",
                          (now_us - 1000000, bytes.fromhex(old["device_id"]))) == 1
    assert srv.db_execute("UPDATE devices SET claim_expires_at = ? WHERE id = ?",
                          (now_us + 60 * 1000000, bytes.fromhex(fresh["device_id"]))) == 1
    srv.start()
    assert_problem(claim_raw(srv, tok(u), old["claim_code"], "Late"), 404, "not_found")
    assert claim(srv, tok(u), fresh["claim_code"])["id"] == fresh["device_id"]
    # a reset issues a fresh code with a fresh hour
    d2 = reset(srv, old["device_token"])
    assert claim(srv, tok(u), d2["claim_code"])["id"] == old["device_id"]


# ---- heartbeat and desired state -------------------------------------------------------------


def owned_device(srv, type_="plug", user=None):
    d = provision(srv, type_)
    u = user or srv.new_user()
    claim(srv, tok(u), d["claim_code"])
    return d, u


def test_heartbeat_records_firmware_last_seen_online(server):
    d, u = owned_device(server)
    before = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    assert before["firmware_version"] is None and before["last_seen_at"] is None and not before["online"]
    assert heartbeat(server, d["device_token"], firmware="4.2.0-rc1") == {}
    after = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    assert after["firmware_version"] == "4.2.0-rc1"
    assert_recent(after["last_seen_at"], slack=60)
    assert after["online"] is True
    listed = dev_list(server, tok(u))[d["device_id"]]
    assert listed["firmware_version"] == "4.2.0-rc1" and listed["online"] is True
    heartbeat(server, d["device_token"], firmware="4.3.0")
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200)["firmware_version"] == "4.3.0"


def test_heartbeat_network_is_shown_to_owner_and_kept(server):
    d, u = owned_device(server, "camera")
    net = {"wifi_ssid": "Home " + uniq(), "subnet": "192.168.77.0/24", "local_ip": "192.168.77.23"}
    heartbeat(server, d["device_token"], **net)
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200)["network"] == net
    # a heartbeat without network details keeps the last ones
    heartbeat(server, d["device_token"], firmware="1.0.1")
    got = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    assert got["network"] == net and got["firmware_version"] == "1.0.1"
    # network details are replaced as a whole
    heartbeat(server, d["device_token"], wifi_ssid="Other " + uniq())
    got = expect_json(dev_get(server, tok(u), d["device_id"]), 200)["network"]
    assert set(got) == {"wifi_ssid", "subnet", "local_ip"}
    assert got["wifi_ssid"].startswith("Other ") and got["subnet"] is None and got["local_ip"] is None
    # never in the list, not even for the owner
    assert "network" not in dev_list(server, tok(u))[d["device_id"]]


def test_heartbeat_of_unclaimed_device_keeps_no_network(server):
    d = provision(server, "camera")
    assert heartbeat(server, d["device_token"], firmware="0.9", wifi_ssid="Factory " + uniq(),
                     subnet="10.9.9.0/24", local_ip="10.9.9.9") == {}
    rows = server.db_query("SELECT network_ct FROM devices WHERE id = ?", (bytes.fromhex(d["device_id"]),))
    assert rows == [(None,)]
    u = server.new_user()
    body = claim(server, tok(u), d["claim_code"])
    assert body["network"] is None and body["firmware_version"] == "0.9"


def test_desired_state_round_trip(server):
    d, u = owned_device(server, "bulb")
    assert heartbeat(server, d["device_token"]) == {}
    r = set_state_raw(server, tok(u), d["device_id"], {"power": "on"})
    assert expect_json(r, 200) == {"desired_state": {"power": "on"}}
    assert heartbeat(server, d["device_token"]) == {"power": "on"}
    # fields merge into the desired state
    r = set_state_raw(server, tok(u), d["device_id"], {"brightness": 40})
    assert expect_json(r, 200) == {"desired_state": {"power": "on", "brightness": 40}}
    r = set_state_raw(server, tok(u), d["device_id"], {"power": "off", "brightness": 0})
    assert expect_json(r, 200) == {"desired_state": {"power": "off", "brightness": 0}}
    assert heartbeat(server, d["device_token"]) == {"power": "off", "brightness": 0}
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200)["desired_state"] == \
        {"power": "off", "brightness": 0}
    assert dev_list(server, tok(u))[d["device_id"]]["desired_state"] == {"power": "off", "brightness": 0}
    r = set_state_raw(server, tok(u), d["device_id"], {"brightness": 100})
    assert expect_json(r, 200)["desired_state"]["brightness"] == 100


@pytest.mark.parametrize("state", [
    {},
    {"power": "ON"},
    {"power": "maybe"},
    {"power": ""},
    {"power": True},
    {"power": None},
    {"power": 1},
    {"brightness": 101},
    {"brightness": -1},
    {"brightness": 50.5},
    {"brightness": 50.0},
    {"brightness": "50"},
    {"brightness": True},
    {"brightness": None},
    {"brightness": 2 ** 40},
    {"color": "red"},
    {"power": "on", "color": "red"},         # one good field does not carry a bad one
    {"power": "off", "brightness": 101},
    {"Power": "on"},
])
def test_bad_state_is_400_and_changes_nothing(server, mu, state):
    d, u = owned_device(server, "bulb", user=mu)
    expect_json(set_state_raw(server, tok(u), d["device_id"], {"power": "on", "brightness": 7}), 200)
    r = set_state_raw(server, tok(u), d["device_id"], state)
    body = assert_problem(r, 400, "invalid_request")
    assert body.get("detail"), describe(r)
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200)["desired_state"] == \
        {"power": "on", "brightness": 7}
    assert heartbeat(server, d["device_token"]) == {"power": "on", "brightness": 7}


# ---- rename --------------------------------------------------------------------------------------


def test_rename(server):
    d, u = owned_device(server, "camera")
    new = "Garage " + uniq()
    r = server.req("PATCH", "/v1/devices/" + d["device_id"], token=tok(u), json={"name": new})
    body = check_device(expect_json(r, 200), role="owner", owner_view=True)
    assert body["name"] == new and body["id"] == d["device_id"]
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200)["name"] == new
    assert dev_list(server, tok(u))[d["device_id"]]["name"] == new
    # unicode names up to 128 characters
    uni = "Küche 台所 " + "é" * 119
    assert len(uni) == 128
    r = server.req("PATCH", "/v1/devices/" + d["device_id"], token=tok(u), json={"name": uni})
    assert expect_json(r, 200)["name"] == uni


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 129}, {"name": "tab\there"},
                                  {"name": "\x1b[31m"}, {"name": 5}, {"name": None}, {"name": {}}])
def test_rename_bad_name_is_400_and_changes_nothing(server, mu, body):
    d, u = owned_device(server, user=mu)
    before = expect_json(dev_get(server, tok(u), d["device_id"]), 200)
    r = server.req("PATCH", "/v1/devices/" + d["device_id"], token=tok(u), json=body)
    assert_problem(r, 400, "invalid_request")
    assert expect_json(dev_get(server, tok(u), d["device_id"]), 200) == before


# ---- reset and release ------------------------------------------------------------------------------


def test_reset_gives_new_token_and_code_old_token_dies(server):
    d = provision(server, "camera")
    heartbeat(server, d["device_token"])
    n = reset(server, d["device_token"])
    assert n["device_id"] == d["device_id"]
    assert n["device_token"] != d["device_token"] and n["claim_code"] != d["claim_code"]
    for path, body in (("/v1/device/heartbeat", {"firmware_version": "1"}), ("/v1/device/reset", None)):
        r = server.post(path, token=d["device_token"], json=body)
        assert_problem(r, 401, "invalid_token")
    assert heartbeat(server, n["device_token"]) == {}
    # the old claim code is dead, the new one works
    u = server.new_user()
    assert_problem(claim_raw(server, tok(u), d["claim_code"], "x"), 404, "not_found")
    assert claim(server, tok(u), n["claim_code"])["id"] == d["device_id"]
    # a second reset again replaces both
    n2 = reset(server, n["device_token"])
    assert n2["device_token"] not in (n["device_token"], d["device_token"])
    assert_problem(heartbeat_raw(server, n["device_token"]), 401, "invalid_token")


def test_reset_ends_the_owners_access(server):
    d, u = owned_device(server, "bulb")
    name_before = expect_json(dev_get(server, tok(u), d["device_id"]), 200)["name"]
    expect_json(set_state_raw(server, tok(u), d["device_id"], {"power": "on"}), 200)
    n = reset(server, d["device_token"])
    not_found(dev_get(server, tok(u), d["device_id"]))
    assert d["device_id"] not in dev_list(server, tok(u))
    not_found(set_state_raw(server, tok(u), d["device_id"], {"power": "off"}))
    # the desired state of the old generation is gone
    assert heartbeat(server, n["device_token"]) == {}
    v = server.new_user()
    body = claim(server, tok(v), n["claim_code"], "New home")
    assert body["name"] == "New home" != name_before and body["desired_state"] == {}


def test_release_keeps_device_credential_but_needs_a_reset_to_be_claimed(server):
    d, u = owned_device(server, "plug")
    expect_json(set_state_raw(server, tok(u), d["device_id"], {"power": "on"}), 200)
    expect_status(server.req("DELETE", "/v1/devices/" + d["device_id"], token=tok(u)), 204)
    not_found(dev_get(server, tok(u), d["device_id"]))
    not_found(server.req("DELETE", "/v1/devices/" + d["device_id"], token=tok(u)))
    assert d["device_id"] not in dev_list(server, tok(u))
    # the device itself still talks to the service, with an empty desired state
    assert heartbeat(server, d["device_token"]) == {}
    # it cannot be claimed with its old code; a factory reset makes it claimable
    v = server.new_user()
    assert_problem(claim_raw(server, tok(v), d["claim_code"], "x"), 404, "not_found")
    n = reset(server, d["device_token"])
    assert claim(server, tok(v), n["claim_code"])["id"] == d["device_id"]


# ---- heartbeats under load (group commit) ----------------------------------------------------


def _hammer(srv, devs, rounds):
    def run(i, d):
        out = []
        for k in range(rounds):
            r = heartbeat_raw(srv, d["device_token"], firmware="v%d-%d" % (i, k), wifi_ssid="net-%d-%d" % (i, k))
            out.append(r.status_code)
        return out
    return parallel(run, [(i, d) for i, d in enumerate(devs)])


def test_concurrent_heartbeats_are_all_recorded(server, mu):
    """Many devices at once: every heartbeat is acknowledged, and each device ends with the
    firmware and network of its last acknowledged heartbeat (no lost or crossed update)."""
    devs = provision(server, "sensor", "Load", count=24)
    for d in devs:
        claim(server, tok(mu), d["claim_code"])
    statuses = _hammer(server, devs, 5)
    assert all(s == 200 for row in statuses for s in row), statuses
    listed = dev_list(server, tok(mu))
    for i, d in enumerate(devs):
        assert listed[d["device_id"]]["firmware_version"] == "v%d-4" % i
        assert listed[d["device_id"]]["online"] is True
    for i in (0, 11, 23):
        got = expect_json(dev_get(server, tok(mu), devs[i]["device_id"]), 200)
        assert got["network"]["wifi_ssid"] == "net-%d-4" % i


def test_kill9_loses_no_acknowledged_heartbeat(server_factory):
    srv = server_factory(name="hb-kill9")
    devs = provision(srv, "plug", "K9", count=16)
    u = srv.new_user()
    for d in devs:
        claim(srv, tok(u), d["claim_code"])
    statuses = _hammer(srv, devs, 3)
    assert all(s == 200 for row in statuses for s in row), statuses
    srv.kill9()
    srv.start()
    s = u.login()
    listed = dev_list(srv, s["access_token"])
    for i, d in enumerate(devs):
        assert listed[d["device_id"]]["firmware_version"] == "v%d-2" % i, "acknowledged heartbeat lost"
        got = expect_json(dev_get(srv, s["access_token"], d["device_id"]), 200)
        assert got["network"]["wifi_ssid"] == "net-%d-2" % i
