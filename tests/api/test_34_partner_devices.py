"""Account linking, part 5: what a partner can do with its token. The /v1/devices routes,
narrowed to the granted devices and scopes; every other route refused; devices leave every
grant when they are released, reset or transferred (promise P5); IFTTT's endpoints."""

import pytest

from conftest import assert_problem, expect_json, uniq, wait_until
from oauthkit import add_device, link, partner_devices, register_client


@pytest.fixture(scope="module")
def srv(module_server_factory):
    return module_server_factory(name="partner")


def user_with_devices(srv, kinds=("camera", "plug", "camera")):
    u = srv.new_user(clients=("ios",))
    tok = u.sessions[0]["access_token"]
    devs = [add_device(srv, tok, k) for k in kinds]
    return u, tok, devs


def ids(resp):
    body = expect_json(resp, 200)
    return sorted(d["id"] for d in body["devices"])


def test_list_and_get_narrowed_to_grant(srv):
    u, tok, (cam, plug, cam2) = user_with_devices(srv)
    c = register_client(srv)
    t = link(srv, u, c, [cam["id"], plug["id"]])
    at = t["access_token"]
    assert ids(partner_devices(srv, at)) == sorted([cam["id"], plug["id"]])
    got = expect_json(srv.get("/v1/devices/" + cam["id"], token=at), 200)
    assert got["name"] == cam["name"] and got["role"] == "controller"
    assert "network" not in got
    assert_problem(srv.get("/v1/devices/" + cam2["id"], token=at), 404, "not_found")
    # another user's device is as unknown as a device that does not exist
    other, otok, (ocam,) = user_with_devices(srv, ("camera",))
    assert_problem(srv.get("/v1/devices/" + ocam["id"], token=at), 404, "not_found")
    assert_problem(srv.get("/v1/devices/" + "00" * 16, token=at), 404, "not_found")


def test_owner_sees_network_partner_never(srv):
    u, tok, (cam,) = user_with_devices(srv, ("camera",))
    hb = srv.post("/v1/device/heartbeat", token=cam["device_token"],
                  json={"firmware_version": "1.2.3", "wifi_ssid": "HomeNet-" + uniq(),
                        "subnet": "192.168.7.0/24", "local_ip": "192.168.7.20"})
    expect_json(hb, 200)
    assert expect_json(srv.get("/v1/devices/" + cam["id"], token=tok), 200)["network"]
    t = link(srv, u, register_client(srv), [cam["id"]])
    got = expect_json(srv.get("/v1/devices/" + cam["id"], token=t["access_token"]), 200)
    assert "network" not in got and "HomeNet" not in str(got)


def test_control_and_stream_need_their_scopes(srv):
    u, tok, (cam, plug) = user_with_devices(srv, ("camera", "plug"))
    c = register_client(srv)
    ro = link(srv, u, c, [cam["id"], plug["id"]], scope="devices:read")["access_token"]
    r = srv.req("PUT", "/v1/devices/%s/state" % plug["id"], token=ro, json={"power": "on"})
    assert_problem(r, 403, "insufficient_scope")
    assert 'insufficient_scope' in r.headers.get("WWW-Authenticate", "")
    assert_problem(srv.post("/v1/devices/%s/stream" % cam["id"], token=ro), 403, "insufficient_scope")
    assert expect_json(srv.get("/v1/devices/" + plug["id"], token=ro), 200)["role"] == "viewer"
    # read + control, no stream
    c2 = register_client(srv)
    rc = link(srv, u, c2, [cam["id"], plug["id"]], scope="devices:control")["access_token"]
    assert_problem(partner_devices(srv, rc), 403, "insufficient_scope")
    r = srv.req("PUT", "/v1/devices/%s/state" % plug["id"], token=rc, json={"power": "on"})
    assert expect_json(r, 200)["desired_state"] == {"power": "on"}
    assert_problem(srv.post("/v1/devices/%s/stream" % cam["id"], token=rc), 403, "insufficient_scope")


def test_stream_ticket_for_partner_and_relay(srv):
    u, tok, (cam, plug) = user_with_devices(srv, ("camera", "plug"))
    c = register_client(srv)
    at = link(srv, u, c, [cam["id"], plug["id"]], scope="camera:stream")["access_token"]
    ticket = expect_json(srv.post("/v1/devices/%s/stream" % cam["id"], token=at), 201)["ticket"]
    assert_problem(srv.post("/v1/devices/%s/stream" % plug["id"], token=at), 400, "invalid_request")
    relay = expect_json(srv.admin_req("POST", "/admin/v1/relays"), 201)["relay_token"]
    v = expect_json(srv.post("/v1/streams/verify", token=relay, json={"ticket": ticket}), 200)
    assert v["active"] is True and v["device_id"] == cam["id"]
    # unlinking ends the ticket too
    assert srv.req("DELETE", "/v1/me/integrations/" + c.id, token=tok).status_code == 204
    v = expect_json(srv.post("/v1/streams/verify", token=relay, json={"ticket": ticket}), 200)
    assert v["active"] is False


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/v1/me", None),
    ("PATCH", "/v1/me", {"display_name": "x"}),
    ("POST", "/v1/me/password", {"current_password": "a", "new_password": "b"}),
    ("GET", "/v1/sessions", None),
    ("DELETE", "/v1/sessions", None),
    ("POST", "/v1/logout", None),
    ("GET", "/v1/me/integrations", None),
    ("POST", "/v1/devices/claim", {"claim_code": "x", "name": "y"}),
    ("PATCH", "/v1/devices/{id}", {"name": "renamed"}),
    ("DELETE", "/v1/devices/{id}", None),
    ("GET", "/v1/devices/{id}/shares", None),
    ("POST", "/v1/devices/{id}/shares", {"email": "a@example.com", "role": "viewer"}),
])
def test_partner_token_never_reaches_other_routes(srv, method, path, body):
    u, tok, (cam,) = user_with_devices(srv, ("camera",))
    c = register_client(srv)
    at = link(srv, u, c, [cam["id"]])["access_token"]
    r = srv.req(method, path.replace("{id}", cam["id"]), token=at, json=body)
    assert_problem(r, 403, "forbidden")
    # nothing happened: the device is still there, named as before, owned by the user
    got = expect_json(srv.get("/v1/devices/" + cam["id"], token=tok), 200)
    assert got["name"] == cam["name"] and got["role"] == "owner"
    assert srv.token_ok(tok)


def test_partner_token_is_not_an_admin_or_device_token(srv):
    u, tok, (cam,) = user_with_devices(srv, ("camera",))
    at = link(srv, u, register_client(srv), [cam["id"]])["access_token"]
    assert_problem(srv.admin_req("GET", "/admin/v1/revocations", token=at), 401, "invalid_token")
    assert_problem(srv.post("/v1/device/heartbeat", token=at, json={"firmware_version": "1"}),
                   401, "invalid_token")


def test_forged_partner_token(srv):
    u, tok, (cam,) = user_with_devices(srv, ("camera",))
    at = link(srv, u, register_client(srv), [cam["id"]])["access_token"]
    for i in (8, 40, 80, len(at) - 10):
        ch = "A" if at[i] != "A" else "B"
        assert_problem(partner_devices(srv, at[:i] + ch + at[i + 1:]), 401, "invalid_token")
    assert_problem(partner_devices(srv, "sh_oa_" + at[6:-1]), 401, "invalid_token")


def test_viewer_share_caps_partner(srv):
    owner, otok, (plug,) = user_with_devices(srv, ("plug",))
    friend = srv.new_user(clients=("ios",))
    expect_json(srv.post("/v1/devices/%s/shares" % plug["id"], token=otok,
                         json={"email": friend.email, "role": "viewer"}), 201)
    at = link(srv, friend, register_client(srv), [plug["id"]])["access_token"]
    assert expect_json(srv.get("/v1/devices/" + plug["id"], token=at), 200)["role"] == "viewer"
    r = srv.req("PUT", "/v1/devices/%s/state" % plug["id"], token=at, json={"power": "on"})
    assert_problem(r, 403, "forbidden")


def test_share_removed_drops_out_of_sharees_grant(srv):
    owner, otok, (plug,) = user_with_devices(srv, ("plug",))
    friend = srv.new_user(clients=("ios",))
    share = expect_json(srv.post("/v1/devices/%s/shares" % plug["id"], token=otok,
                                 json={"email": friend.email, "role": "controller"}), 201)
    at = link(srv, friend, register_client(srv), [plug["id"]])["access_token"]
    assert ids(partner_devices(srv, at)) == [plug["id"]]
    assert srv.req("DELETE", "/v1/devices/%s/shares/%s" % (plug["id"], share["id"]), token=otok).status_code == 204
    assert ids(partner_devices(srv, at)) == []
    assert_problem(srv.get("/v1/devices/" + plug["id"], token=at), 404, "not_found")


@pytest.mark.parametrize("how", ["release", "reset"])
def test_device_leaves_every_grant(srv, how):
    u, tok, (cam, plug) = user_with_devices(srv, ("camera", "plug"))
    p1, p2 = register_client(srv), register_client(srv)
    a1 = link(srv, u, p1, [cam["id"], plug["id"]])["access_token"]
    a2 = link(srv, u, p2, [cam["id"]])["access_token"]
    ticket = expect_json(srv.post("/v1/devices/%s/stream" % cam["id"], token=a1), 201)["ticket"]
    if how == "release":
        assert srv.req("DELETE", "/v1/devices/" + cam["id"], token=tok).status_code == 204
    else:
        expect_json(srv.post("/v1/device/reset", token=cam["device_token"]), 200)
    for at in (a1, a2):
        assert_problem(srv.get("/v1/devices/" + cam["id"], token=at), 404, "not_found")
        assert_problem(srv.post("/v1/devices/%s/stream" % cam["id"], token=at), 404, "not_found")
        assert_problem(srv.req("PUT", "/v1/devices/%s/state" % cam["id"], token=at, json={"power": "on"}),
                       404, "not_found")
    assert ids(partner_devices(srv, a1)) == [plug["id"]]
    assert ids(partner_devices(srv, a2)) == []
    assert expect_json(srv.req("PUT", "/v1/devices/%s/state" % plug["id"], token=a1, json={"power": "off"}), 200)
    relay = expect_json(srv.admin_req("POST", "/admin/v1/relays"), 201)["relay_token"]
    assert expect_json(srv.post("/v1/streams/verify", token=relay, json={"ticket": ticket}), 200)["active"] is False


def test_new_owner_grants_nothing_to_old_owners_partners(srv):
    u, tok, (cam,) = user_with_devices(srv, ("camera",))
    p = register_client(srv)
    old = link(srv, u, p, [cam["id"]])["access_token"]
    reset = expect_json(srv.post("/v1/device/reset", token=cam["device_token"]), 200)
    buyer = srv.new_user(clients=("ios",))
    btok = buyer.sessions[0]["access_token"]
    expect_json(srv.post("/v1/devices/claim", token=btok,
                         json={"claim_code": reset["claim_code"], "name": "bought"}), 201)
    assert_problem(srv.get("/v1/devices/" + cam["id"], token=old), 404, "not_found")
    assert ids(partner_devices(srv, old)) == []
    # even if the seller had it back later, the old grant named an old generation
    # the buyer links the same partner and gets the device
    new = link(srv, buyer, p, [cam["id"]])["access_token"]
    assert ids(partner_devices(srv, new)) == [cam["id"]]
    assert ids(partner_devices(srv, old)) == []


def test_ifttt_user_info_and_status(srv):
    key = "svc-" + uniq() + uniq()
    p = register_client(srv, name="IFTTT", uris=("https://ifttt.com/channels/safehouse/authorize",),
                        scopes="devices:read", service_key=key)
    u = srv.create_account(display_name="Ann Example")
    at = link(srv, u, p, [], scope="devices:read")["access_token"]
    info = expect_json(srv.get("/ifttt/v1/user/info", token=at), 200)
    assert info["data"]["name"] == "Ann Example"
    assert len(info["data"]["id"]) == 32 and info["data"]["id"] != u.id
    assert_problem(srv.get("/ifttt/v1/user/info"), 401, "unauthenticated")
    app_token = srv.login(u.email, u.password)["access_token"]
    assert_problem(srv.get("/ifttt/v1/user/info", token=app_token), 401, "invalid_token")
    ok = srv.get("/ifttt/v1/status", headers={"IFTTT-Service-Key": key})
    assert expect_json(ok, 200)
    assert_problem(srv.get("/ifttt/v1/status"), 401, "unauthenticated")
    assert_problem(srv.get("/ifttt/v1/status", headers={"IFTTT-Service-Key": key + "x"}), 401, "invalid_token")
    assert key not in srv.log_text()
    rows = srv.db_query("SELECT count(*) FROM oauth_clients WHERE service_key_hash IS NOT NULL")
    assert rows[0][0] >= 1
