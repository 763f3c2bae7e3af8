"""Account linking, part 6: a user sees and ends their links. Ending one partner's link
for one user touches nothing else: not the user's other partners, not the same partner's
links of other users, not the user's app sessions."""

import time

from conftest import assert_problem, assert_recent, expect_json
from oauthkit import add_device, link, oauth_error, partner_devices, refresh, register_client


def test_list_integrations(server):
    u = server.new_user(clients=("ios",))
    tok = u.sessions[0]["access_token"]
    cam = add_device(server, tok, "camera")
    plug = add_device(server, tok, "plug")
    a = register_client(server, name="Alexa test")
    g = register_client(server, name="Google test")
    link(server, u, a, [cam["id"], plug["id"]])
    link(server, u, g, [plug["id"]], scope="devices:read devices:control")
    body = expect_json(server.get("/v1/me/integrations", token=tok), 200)
    by_id = {i["client_id"]: i for i in body["integrations"]}
    assert set(by_id) == {a.id, g.id}
    assert by_id[a.id]["name"] == "Alexa test"
    assert by_id[a.id]["scopes"] == ["devices:read", "devices:control", "camera:stream"]
    assert sorted(by_id[a.id]["devices"]) == sorted([cam["id"], plug["id"]])
    assert by_id[g.id]["scopes"] == ["devices:read", "devices:control"]
    assert by_id[g.id]["devices"] == [plug["id"]]
    for i in body["integrations"]:
        assert_recent(i["linked_at"])
        assert_recent(i["last_used_at"])
    # a released device disappears from the listing
    assert server.req("DELETE", "/v1/devices/" + plug["id"], token=tok).status_code == 204
    body = expect_json(server.get("/v1/me/integrations", token=tok), 200)
    by_id = {i["client_id"]: i for i in body["integrations"]}
    assert by_id[a.id]["devices"] == [cam["id"]] and by_id[g.id]["devices"] == []


def test_unlink_ends_one_partner_for_one_user_only(server):
    a, g = register_client(server), register_client(server)
    u = server.new_user(clients=("ios", "android"))
    other = server.new_user(clients=("ios",))
    ua = link(server, u, a, [])
    ug = link(server, u, g, [])
    oa = link(server, other, a, [])
    tok = u.sessions[0]["access_token"]
    r = server.req("DELETE", "/v1/me/integrations/" + a.id, token=tok)
    assert r.status_code == 204
    assert_problem(partner_devices(server, ua["access_token"]), 401, "invalid_token")
    oauth_error(refresh(server, a, ua["refresh_token"]), 400, "invalid_grant")
    # everything else works
    assert partner_devices(server, ug["access_token"]).status_code == 200
    assert refresh(server, g, ug["refresh_token"]).status_code == 200
    assert partner_devices(server, oa["access_token"]).status_code == 200
    assert refresh(server, a, oa["refresh_token"]).status_code == 200
    for s in u.sessions:
        assert server.token_ok(s["access_token"])
    listed = expect_json(server.get("/v1/me/integrations", token=tok), 200)["integrations"]
    assert [i["client_id"] for i in listed] == [g.id]
    # again: nothing to end
    assert_problem(server.req("DELETE", "/v1/me/integrations/" + a.id, token=tok), 404, "not_found")
    # relinking works at once
    again = link(server, u, a, [])
    assert partner_devices(server, again["access_token"]).status_code == 200


def test_unlink_unknown_or_foreign_client_is_404(server):
    u = server.new_user()
    tok = u.sessions[0]["access_token"]
    for cid in ("00" * 16, "nothex", register_client(server).id):
        assert_problem(server.req("DELETE", "/v1/me/integrations/" + cid, token=tok), 404, "not_found")


def test_relink_replaces_previous_link(server):
    a = register_client(server)
    u = server.new_user()
    first = link(server, u, a, [])
    second = link(server, u, a, [])
    assert_problem(partner_devices(server, first["access_token"]), 401, "invalid_token")
    assert partner_devices(server, second["access_token"]).status_code == 200
    listed = expect_json(server.get("/v1/me/integrations", token=u.sessions[0]["access_token"]), 200)
    assert len(listed["integrations"]) == 1


def test_last_used_moves_on_refresh(server):
    a = register_client(server)
    u = server.new_user()
    t = link(server, u, a, [])
    tok = u.sessions[0]["access_token"]
    before = expect_json(server.get("/v1/me/integrations", token=tok), 200)["integrations"][0]
    time.sleep(1.1)
    assert refresh(server, a, t["refresh_token"]).status_code == 200
    after = expect_json(server.get("/v1/me/integrations", token=tok), 200)["integrations"][0]
    assert after["last_used_at"] > before["last_used_at"]
    assert after["linked_at"] == before["linked_at"]


def test_integrations_need_an_app_token(server):
    assert_problem(server.get("/v1/me/integrations"), 401, "unauthenticated")
