"""Promise P5 (issue 3, items 6 and 7): release, reset and resale end every access that came
through the previous owner at once: shares, stream tickets, names, network details, desired
state. And a stream ticket dies with its share, its user's session and any revocation rule
that covers it."""

import time

import pytest

from conftest import (RULE_DELAY, assert_problem, expect_json, expect_status, parse_rfc3339, uniq,
                      wait_until)
from devkit import (check_device, claim, claim_raw, dev_get, dev_list, heartbeat, heartbeat_raw,
                    logout, not_found, provision, relay, reset, set_state_raw, share, share_raw, shares,
                    stream, stream_raw, tok, verify)


@pytest.fixture(scope="module")
def relay_token(server):
    return relay(server)


def active(srv, relay_token, ticket):
    return verify(srv, relay_token, ticket)["active"]


def no_access(srv, token, dev_id, share_id=None):
    """Every user route on the device answers 404 for this caller, and nothing lists it."""
    not_found(dev_get(srv, token, dev_id))
    assert dev_id not in dev_list(srv, token)
    not_found(srv.req("PATCH", "/v1/devices/" + dev_id, token=token, json={"name": "Still mine"}))
    not_found(set_state_raw(srv, token, dev_id, {"power": "on"}))
    not_found(stream_raw(srv, token, dev_id))
    not_found(srv.get("/v1/devices/%s/shares" % dev_id, token=token))
    not_found(share_raw(srv, token, dev_id, "someone.%s@example.com" % uniq(), "viewer"))
    if share_id:
        not_found(srv.req("DELETE", "/v1/devices/%s/shares/%s" % (dev_id, share_id), token=token))
    not_found(srv.req("DELETE", "/v1/devices/" + dev_id, token=token))


def test_resale_story(server, relay_token):
    a, b, c = server.new_user(), server.new_user(), server.new_user()
    cam = provision(server, "camera", "SecureCam 3")
    dev = cam["device_id"]

    # A claims and names the camera; it reports its network
    a_name = "Nursery of A " + uniq()
    claim(server, tok(a), cam["claim_code"], a_name)
    a_net = {"wifi_ssid": "A-Home-" + uniq(), "subnet": "192.168.31.0/24", "local_ip": "192.168.31.40"}
    heartbeat(server, cam["device_token"], firmware="3.1.0", **a_net)
    assert expect_json(dev_get(server, tok(a), dev), 200)["network"] == a_net
    expect_json(set_state_raw(server, tok(a), dev, {"power": "on"}), 200)

    # A shares it with C; A and C take stream tickets the relay accepts
    sc = share(server, tok(a), dev, c.email, "controller")
    assert dev_list(server, tok(c))[dev]["name"] == a_name
    ta, tc = stream(server, tok(a), dev), stream(server, tok(c), dev)
    va, vc = verify(server, relay_token, ta), verify(server, relay_token, tc)
    assert va["active"] and va["device_id"] == dev and va["user_id"] == a.id
    assert vc["active"] and vc["device_id"] == dev and vc["user_id"] == c.id
    exp = parse_rfc3339(va["expires_at"])
    assert 280 <= exp - time.time() <= 310, va

    # A releases it: every access through A ends at once, before any reset
    expect_status(server.req("DELETE", "/v1/devices/" + dev, token=tok(a)), 204)
    assert not active(server, relay_token, ta)
    assert not active(server, relay_token, tc)
    no_access(server, tok(a), dev, sc["id"])
    no_access(server, tok(c), dev, sc["id"])

    # the camera is factory-reset and sold; B claims it with the new code
    n = reset(server, cam["device_token"])
    assert n["device_id"] == dev
    assert_problem(heartbeat_raw(server, cam["device_token"]), 401, "invalid_token")
    assert_problem(claim_raw(server, tok(b), cam["claim_code"], "old code"), 404, "not_found")
    b_name = "Porch of B " + uniq()
    body = claim(server, tok(b), n["claim_code"], b_name)
    assert body["name"] == b_name and body["network"] is None and body["desired_state"] == {}
    assert body["type"] == "camera" and body["model"] == "SecureCam 3"

    # A and C: 404 everywhere; A's and C's tickets stay dead
    no_access(server, tok(a), dev, sc["id"])
    no_access(server, tok(c), dev, sc["id"])
    assert verify(server, relay_token, ta) == {"active": False}
    assert verify(server, relay_token, tc) == {"active": False}

    # B sees neither A's name nor A's network; C's share is gone
    got = check_device(expect_json(dev_get(server, tok(b), dev), 200), role="owner", owner_view=True)
    assert got["name"] == b_name and got["network"] is None and got["desired_state"] == {}
    assert a_name not in str(got) and a_net["wifi_ssid"] not in str(got)
    assert shares(server, tok(b), dev) == []
    not_found(server.req("DELETE", "/v1/devices/%s/shares/%s" % (dev, sc["id"]), token=tok(b)))
    # only B's own heartbeat fills in the network again
    assert heartbeat(server, n["device_token"], firmware="3.1.1") == {}
    assert expect_json(dev_get(server, tok(b), dev), 200)["network"] is None
    b_net = {"wifi_ssid": "B-Flat-" + uniq(), "subnet": "10.20.0.0/16", "local_ip": "10.20.3.4"}
    heartbeat(server, n["device_token"], firmware="3.1.1", **b_net)
    assert expect_json(dev_get(server, tok(b), dev), 200)["network"] == b_net
    # B's own ticket works; A's still does not
    tb = stream(server, tok(b), dev)
    vb = verify(server, relay_token, tb)
    assert vb["active"] and vb["user_id"] == b.id
    assert not active(server, relay_token, ta)
    # B can share with C afresh; C's old ticket stays dead, a new one works
    share(server, tok(b), dev, c.email, "viewer")
    assert dev_list(server, tok(c))[dev]["role"] == "viewer"
    assert dev_list(server, tok(c))[dev]["name"] == b_name
    assert not active(server, relay_token, tc)
    assert active(server, relay_token, stream(server, tok(c), dev))


def test_reset_alone_ends_owner_shares_and_tickets(server, relay_token):
    a, c = server.new_user(), server.new_user()
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"], "A cam")
    sc = share(server, tok(a), dev, c.email, "viewer")
    ta, tc = stream(server, tok(a), dev), stream(server, tok(c), dev)
    n = reset(server, cam["device_token"])
    assert not active(server, relay_token, ta) and not active(server, relay_token, tc)
    no_access(server, tok(a), dev, sc["id"])
    no_access(server, tok(c), dev, sc["id"])
    assert heartbeat(server, n["device_token"]) == {}


def test_old_ticket_stays_dead_when_the_same_owner_claims_again(server, relay_token):
    a, c = server.new_user(), server.new_user()
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"], "First life")
    share(server, tok(a), dev, c.email, "viewer")
    ta, tc = stream(server, tok(a), dev), stream(server, tok(c), dev)
    n = reset(server, cam["device_token"])
    body = claim(server, tok(a), n["claim_code"], "Second life")
    assert body["name"] == "Second life"
    # same owner, new generation: the tickets of the first life do not come back
    assert not active(server, relay_token, ta)
    assert not active(server, relay_token, tc)
    # nor does C's share
    no_access(server, tok(c), dev)
    assert shares(server, tok(a), dev) == []
    assert active(server, relay_token, stream(server, tok(a), dev))


def test_ticket_dies_with_its_share(server, relay_token):
    a, c, v = server.new_user(), server.new_user(), server.new_user()
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"])
    sc = share(server, tok(a), dev, c.email, "controller")
    share(server, tok(a), dev, v.email, "viewer")
    ta, tc, tv = stream(server, tok(a), dev), stream(server, tok(c), dev), stream(server, tok(v), dev)
    expect_status(server.req("DELETE", "/v1/devices/%s/shares/%s" % (dev, sc["id"]), token=tok(a)), 204)
    assert not active(server, relay_token, tc)
    # the others are untouched
    assert active(server, relay_token, ta) and active(server, relay_token, tv)


def test_ticket_of_deleted_share_stays_dead_after_reshare(server, relay_token):
    a, c = server.new_user(), server.new_user()
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"])
    sc = share(server, tok(a), dev, c.email, "viewer")
    tc = stream(server, tok(c), dev)
    expect_status(server.req("DELETE", "/v1/devices/%s/shares/%s" % (dev, sc["id"]), token=tok(a)), 204)
    assert not active(server, relay_token, tc)
    share(server, tok(a), dev, c.email, "viewer")
    assert not active(server, relay_token, tc), "a ticket of a deleted share came back to life"


def test_ticket_dies_with_its_session(server, relay_token):
    a, c = server.new_user(), server.new_user()
    c.login("android")        # a second session of C
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"])
    share(server, tok(a), dev, c.email, "viewer")
    c_web, c_android = c.sessions[0]["access_token"], c.sessions[1]["access_token"]
    t_web, t_android = stream(server, c_web, dev), stream(server, c_android, dev)
    ta = stream(server, tok(a), dev)
    logout(server, c_web)
    assert not active(server, relay_token, t_web)
    # C's other session, its ticket and the owner's ticket live on
    assert active(server, relay_token, t_android) and active(server, relay_token, ta)
    # ending a session from another one (DELETE /v1/sessions/{id}) kills its tickets too
    c.login("ios")
    expect_status(server.req("DELETE", "/v1/sessions/" + c.sessions[1]["session_id"],
                             token=c.sessions[2]["access_token"]), 204)
    assert not active(server, relay_token, t_android)
    assert active(server, relay_token, stream(server, c.sessions[2]["access_token"], dev))


def test_ticket_dies_with_password_change_of_other_sessions(server, relay_token):
    a = server.new_user()
    a.login("ios")
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"])
    t_web = stream(server, a.sessions[0]["access_token"], dev)
    t_ios = stream(server, a.sessions[1]["access_token"], dev)
    new_pw = a.password + "-2"
    expect_status(server.post("/v1/me/password", token=a.sessions[1]["access_token"],
                              json={"current_password": a.password, "new_password": new_pw}), 204)
    assert not active(server, relay_token, t_web)
    assert active(server, relay_token, t_ios)


def test_ticket_dies_with_user_revocation_rule_cli_and_api(server, relay_token):
    a, c, d = server.new_user(), server.new_user(), server.new_user()
    cam = provision(server, "camera")
    dev = cam["device_id"]
    claim(server, tok(a), cam["claim_code"])
    share(server, tok(a), dev, c.email, "viewer")
    share(server, tok(a), dev, d.email, "viewer")
    ta, tc, td = stream(server, tok(a), dev), stream(server, tok(c), dev), stream(server, tok(d), dev)
    # the CLI writes the rule; the running server learns it within a second
    p = server.cli("admin", "revoke", "--user", c.id)
    assert p.returncode == 0, p.stderr
    assert wait_until(lambda: not active(server, relay_token, tc), timeout=RULE_DELAY + 1), \
        "C's ticket still active after `admin revoke --user`"
    # the admin API applies at once
    expect_json(server.admin_req("POST", "/admin/v1/revocations", json={"scope": "user", "value": d.id}), 201)
    assert not active(server, relay_token, td)
    assert active(server, relay_token, ta)
    # after logging in again, C and D get working tickets (P4)
    c.login()
    d.login()
    assert active(server, relay_token, stream(server, tok(c), dev))
    assert active(server, relay_token, stream(server, tok(d), dev))


def test_ticket_dies_with_class_and_all_rules(server_factory):
    srv = server_factory(name="ticket-rules")
    rl = relay(srv)
    a = srv.new_user(clients=("web", "android"))
    cam = provision(srv, "camera")
    dev = cam["device_id"]
    claim(srv, tok(a), cam["claim_code"])
    t_web = stream(srv, a.sessions[0]["access_token"], dev)
    t_android = stream(srv, a.sessions[1]["access_token"], dev)
    expect_json(srv.admin_req("POST", "/admin/v1/revocations", json={"scope": "class", "value": "android"}), 201)
    assert not active(srv, rl, t_android)
    assert active(srv, rl, t_web)
    expect_json(srv.admin_req("POST", "/admin/v1/revocations", json={"scope": "all"}), 201)
    assert not active(srv, rl, t_web)
    # devices are not app sessions: the camera keeps working, and a fresh login streams again
    assert heartbeat(srv, cam["device_token"]) == {}
    s = a.login("web")
    assert active(srv, rl, stream(srv, s["access_token"], dev))


def test_ticket_is_bound_to_this_installation_and_unforgeable(server, server_factory, relay_token):
    a = server.new_user()
    cam = provision(server, "camera")
    claim(server, tok(a), cam["claim_code"])
    t = stream(server, tok(a), cam["device_id"])
    assert active(server, relay_token, t)
    # every single-character change is refused
    for i in (6, len(t) // 2, len(t) - 5, len(t) - 1):
        ch = "A" if t[i] != "A" else "B"
        assert verify(server, relay_token, t[:i] + ch + t[i + 1:]) == {"active": False}
    assert verify(server, relay_token, t + "A") == {"active": False}
    assert verify(server, relay_token, t[:-1]) == {"active": False}
    assert verify(server, relay_token, "sh_at_" + t[6:]) == {"active": False}
    # another installation (another master key) does not accept it
    other = server_factory(name="other-install")
    assert verify(other, relay(other), t) == {"active": False}
    # a stream ticket is not an access token
    assert_problem(server.get("/v1/devices", token=t), 401, "invalid_token")
