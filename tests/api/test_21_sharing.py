"""Device sharing (issue 3, item 5): create, list, delete; viewer and controller abilities;
unknown_account, conflict, self-share; shared users see the device with their role and
never its network details (P6)."""

import pytest

from conftest import (assert_problem, assert_recent, describe, expect_json, expect_status, new_email,
                      uniq)
from devkit import (check_device, claim, dev_get, dev_list, forbidden, heartbeat, not_found, provision,
                    relay, set_state_raw, share, share_raw, shares, stream, stream_raw, tok, verify)


@pytest.fixture(scope="module")
def people(server):
    """owner, controller, viewer and an unrelated user (shared by the module's tests)."""
    return {k: server.new_user() for k in ("owner", "controller", "viewer", "other")}


@pytest.fixture(scope="module")
def relay_token(server):
    return relay(server)


def household(srv, people, type_="camera", net=True):
    """A fresh device owned by people['owner'], shared with the controller and the viewer."""
    d = provision(srv, type_)
    o = people["owner"]
    name = "Shared %s %s" % (type_, uniq())
    claim(srv, tok(o), d["claim_code"], name)
    network = None
    if net:
        network = {"wifi_ssid": "Net " + uniq(), "subnet": "10.4.0.0/16", "local_ip": "10.4.2.2"}
        heartbeat(srv, d["device_token"], firmware="7.0", **network)
    sc = share(srv, tok(o), d["device_id"], people["controller"].email, "controller")
    sv = share(srv, tok(o), d["device_id"], people["viewer"].email, "viewer")
    return {"dev": d, "id": d["device_id"], "name": name, "network": network, "sc": sc, "sv": sv}


def owner_snapshot(srv, people, h):
    return (expect_json(dev_get(srv, tok(people["owner"]), h["id"]), 200),
            sorted((s["id"], s["email"], s["role"]) for s in shares(srv, tok(people["owner"]), h["id"])))


def test_share_create_list_delete(server, people):
    h = household(server, people)
    o = tok(people["owner"])
    for s in (h["sc"], h["sv"]):
        assert_recent(s["created_at"], slack=60)
    listed = shares(server, o, h["id"])
    assert sorted((s["id"], s["email"], s["role"]) for s in listed) == sorted(
        [(h["sc"]["id"], people["controller"].email, "controller"),
         (h["sv"]["id"], people["viewer"].email, "viewer")])
    for s in listed:
        assert set(s) == {"id", "email", "role", "created_at"}, s
    expect_status(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sv"]["id"]), token=o), 204)
    assert [s["id"] for s in shares(server, o, h["id"])] == [h["sc"]["id"]]
    # the viewer lost access at once
    not_found(dev_get(server, tok(people["viewer"]), h["id"]))
    assert h["id"] not in dev_list(server, tok(people["viewer"]))
    not_found(stream_raw(server, tok(people["viewer"]), h["id"]))
    # deleting again: gone
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sv"]["id"]), token=o))
    # and it can be shared again, with a new share id
    s2 = share(server, o, h["id"], people["viewer"].email, "controller")
    assert s2["id"] != h["sv"]["id"]
    assert dev_list(server, tok(people["viewer"]))[h["id"]]["role"] == "controller"


def test_shared_users_see_device_with_their_role_and_no_network(server, people):
    h = household(server, people)
    for who, role in (("controller", "controller"), ("viewer", "viewer")):
        t = tok(people[who])
        listed = dev_list(server, t)
        assert h["id"] in listed, who
        check_device(listed[h["id"]], role=role)
        assert listed[h["id"]]["name"] == h["name"]
        got = check_device(expect_json(dev_get(server, t, h["id"]), 200), role=role, owner_view=False)
        assert "network" not in got
        assert got["name"] == h["name"] and got["firmware_version"] == "7.0" and got["online"] is True
        assert h["network"]["wifi_ssid"] not in str(got) and h["network"]["local_ip"] not in str(got)
    got = check_device(expect_json(dev_get(server, tok(people["owner"]), h["id"]), 200), role="owner",
                       owner_view=True)
    assert got["network"] == h["network"]
    # the unrelated user sees nothing
    assert h["id"] not in dev_list(server, tok(people["other"]))
    not_found(dev_get(server, tok(people["other"]), h["id"]))


def test_viewer_can_look_and_stream_but_not_act(server, people, relay_token):
    h = household(server, people)
    v = tok(people["viewer"])
    before = owner_snapshot(server, people, h)
    ticket = stream(server, v, h["id"])
    body = verify(server, relay_token, ticket)
    assert body["active"] is True and body["user_id"] == people["viewer"].id and body["device_id"] == h["id"]
    forbidden(set_state_raw(server, v, h["id"], {"power": "on"}))
    forbidden(server.req("PATCH", "/v1/devices/" + h["id"], token=v, json={"name": "Viewer's"}))
    forbidden(server.req("DELETE", "/v1/devices/" + h["id"], token=v))
    forbidden(server.get("/v1/devices/%s/shares" % h["id"], token=v))
    forbidden(share_raw(server, v, h["id"], people["other"].email, "viewer"))
    forbidden(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sv"]["id"]), token=v))
    forbidden(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sc"]["id"]), token=v))
    assert owner_snapshot(server, people, h) == before
    assert heartbeat(server, h["dev"]["device_token"], firmware="7.0") == {}


def test_controller_can_set_state_but_not_manage(server, people, relay_token):
    h = household(server, people, "bulb")
    c = tok(people["controller"])
    r = set_state_raw(server, c, h["id"], {"power": "on", "brightness": 55})
    assert expect_json(r, 200) == {"desired_state": {"power": "on", "brightness": 55}}
    assert heartbeat(server, h["dev"]["device_token"], firmware="7.0") == {"power": "on", "brightness": 55}
    assert expect_json(dev_get(server, tok(people["viewer"]), h["id"]), 200)["desired_state"] == \
        {"power": "on", "brightness": 55}
    before = owner_snapshot(server, people, h)
    forbidden(server.req("PATCH", "/v1/devices/" + h["id"], token=c, json={"name": "Controller's"}))
    forbidden(server.req("DELETE", "/v1/devices/" + h["id"], token=c))
    forbidden(server.get("/v1/devices/%s/shares" % h["id"], token=c))
    forbidden(share_raw(server, c, h["id"], people["other"].email, "viewer"))
    forbidden(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sv"]["id"]), token=c))
    # not even its own share (only the owner manages shares)
    forbidden(server.req("DELETE", "/v1/devices/%s/shares/%s" % (h["id"], h["sc"]["id"]), token=c))
    assert owner_snapshot(server, people, h) == before
    # a bulb does not stream, whoever asks
    assert_problem(stream_raw(server, c, h["id"]), 400, "invalid_request")
    assert_problem(stream_raw(server, tok(people["owner"]), h["id"]), 400, "invalid_request")


def test_controller_streams_camera(server, people, relay_token):
    h = household(server, people, "camera", net=False)
    ticket = stream(server, tok(people["controller"]), h["id"])
    body = verify(server, relay_token, ticket)
    assert body["active"] and body["user_id"] == people["controller"].id


@pytest.mark.parametrize("email", ["nobody.%s@example.com", "not-an-email-%s", "", "@%s"])
def test_share_with_unknown_account_is_404_unknown_account(server, people, email):
    if "%s" in email:
        email = email % uniq()
    h = household(server, people, net=False)
    before = owner_snapshot(server, people, h)
    r = share_raw(server, tok(people["owner"]), h["id"], email, "viewer")
    assert_problem(r, 404, "unknown_account")
    assert owner_snapshot(server, people, h) == before


def test_share_twice_is_409_conflict(server, people):
    h = household(server, people, net=False)
    before = owner_snapshot(server, people, h)
    o = tok(people["owner"])
    for role in ("viewer", "controller"):
        assert_problem(share_raw(server, o, h["id"], people["viewer"].email, role), 409, "conflict")
    # the same account spelt with another domain case and white space is the same account
    local, domain = people["controller"].email.split("@")
    r = share_raw(server, o, h["id"], "  %s@%s " % (local, domain.upper()), "viewer")
    assert_problem(r, 409, "conflict")
    assert owner_snapshot(server, people, h) == before


def test_share_email_is_normalized(server, people):
    h = household(server, people, net=False)
    local, domain = people["other"].email.split("@")
    s = share(server, tok(people["owner"]), h["id"], people["other"].email, "viewer")
    assert s["email"] == people["other"].email
    h2 = household(server, people, net=False)
    r = share_raw(server, tok(people["owner"]), h2["id"], " %s@%s " % (local, domain.upper()), "viewer")
    body = expect_json(r, 201)
    assert body["email"] == people["other"].email, describe(r)
    assert dev_list(server, tok(people["other"]))[h2["id"]]["role"] == "viewer"


def test_share_with_self_is_400(server, people):
    h = household(server, people, net=False)
    before = owner_snapshot(server, people, h)
    r = share_raw(server, tok(people["owner"]), h["id"], people["owner"].email, "controller")
    assert_problem(r, 400, "invalid_request")
    assert owner_snapshot(server, people, h) == before
    assert dev_list(server, tok(people["owner"]))[h["id"]]["role"] == "owner"


@pytest.mark.parametrize("body", [
    {"role": "owner"}, {"role": "admin"}, {"role": ""}, {"role": "Viewer"}, {"role": 3},
    {"role": None}, {}, {"role": "viewer", "email": None}, {"role": "viewer", "email": 1},
    {"role": "viewer", "email": "x" * 1025 + "@example.com"},
])
def test_share_bad_input_is_400_and_changes_nothing(server, people, body):
    h = household(server, people, net=False)
    before = owner_snapshot(server, people, h)
    b = {"email": people["other"].email}
    b.update(body)
    r = server.post("/v1/devices/%s/shares" % h["id"], token=tok(people["owner"]), json=b)
    assert_problem(r, 400, "invalid_request")
    assert owner_snapshot(server, people, h) == before
    assert h["id"] not in dev_list(server, tok(people["other"]))


def test_share_ids_are_scoped_to_their_device_and_owner(server, people):
    """An owner cannot delete (or learn about) a share of someone else's device, not by
    naming the other device and not by pairing the share id with their own device."""
    mine = household(server, people, net=False)
    stranger = server.new_user()
    friend = server.new_user()
    d2 = provision(server, "plug")
    claim(server, tok(stranger), d2["claim_code"], "Stranger's plug")
    s2 = share(server, tok(stranger), d2["device_id"], friend.email, "controller")
    o = tok(people["owner"])
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (mine["id"], s2["id"]), token=o))
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (d2["device_id"], s2["id"]), token=o))
    not_found(server.get("/v1/devices/%s/shares" % d2["device_id"], token=o))
    not_found(share_raw(server, o, d2["device_id"], people["viewer"].email, "viewer"))
    # and the stranger cannot touch mine
    st = tok(stranger)
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (mine["id"], mine["sv"]["id"]), token=st))
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (d2["device_id"], mine["sv"]["id"]),
                         token=st))
    # everything is still in place
    assert [s["id"] for s in shares(server, st, d2["device_id"])] == [s2["id"]]
    assert dev_list(server, tok(friend))[d2["device_id"]]["role"] == "controller"
    assert {s["id"] for s in shares(server, o, mine["id"])} == {mine["sc"]["id"], mine["sv"]["id"]}


def test_shared_user_list_holds_owned_and_shared_devices(server):
    a, b = server.new_user(), server.new_user()
    da, db_ = provision(server, "camera"), provision(server, "scale")
    claim(server, tok(a), da["claim_code"], "A cam")
    claim(server, tok(b), db_["claim_code"], "B scale")
    share(server, tok(a), da["device_id"], b.email, "viewer")
    share(server, tok(b), db_["device_id"], a.email, "controller")
    la, lb = dev_list(server, tok(a)), dev_list(server, tok(b))
    assert {k: v["role"] for k, v in la.items()} == {da["device_id"]: "owner", db_["device_id"]: "controller"}
    assert {k: v["role"] for k, v in lb.items()} == {da["device_id"]: "viewer", db_["device_id"]: "owner"}
    assert la[db_["device_id"]]["name"] == "B scale" and lb[da["device_id"]]["name"] == "A cam"
    # the share list shows the invitee's e-mail to the owner only
    assert [s["email"] for s in shares(server, tok(a), da["device_id"])] == [b.email]
    forbidden(server.get("/v1/devices/%s/shares" % da["device_id"], token=tok(b)))


def test_share_with_account_by_new_email(server, people):
    """A user who signs up after a failed share can then be invited."""
    h = household(server, people, net=False)
    email = new_email(prefix="late")
    assert_problem(share_raw(server, tok(people["owner"]), h["id"], email, "viewer"), 404, "unknown_account")
    late = server.create_account(email=email)
    late.login()
    share(server, tok(people["owner"]), h["id"], late.email, "viewer")
    assert dev_list(server, tok(late))[h["id"]]["role"] == "viewer"
