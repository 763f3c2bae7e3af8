"""Account linking, part 7: selective revocation (promises P3, P4). The 2019 story: a
user with app sessions on two phones and links to three partners. Revoking the Android
class leaves the partners and the iPhone alone; revoking one partner leaves the other two
and both phones; revoking all ends everything, and the user logs in again and relinks."""

import json

import pytest

from conftest import RULE_DELAY, assert_problem, expect_json, wait_until
from oauthkit import (ALEXA_URI, GOOGLE_URI, IFTTT_URI, add_device, introspect, link, oauth_error,
                      partner_devices, refresh, register_client)


def partner_ok(srv, client, tokens):
    """Access token accepted and refresh token still exchangeable (then keeps the new pair)."""
    if partner_devices(srv, tokens["access_token"]).status_code != 200:
        return False
    r = refresh(srv, client, tokens["refresh_token"])
    if r.status_code != 200:
        return False
    tokens.update(r.json())
    return True


def partner_dead(srv, client, tokens):
    if partner_devices(srv, tokens["access_token"]).status_code != 401:
        return False
    assert introspect(srv, client, tokens["access_token"]).json() == {"active": False}
    oauth_error(refresh(srv, client, tokens["refresh_token"]), 400, "invalid_grant")
    return True


def revoke_cli(srv, *args):
    p = srv.cli("admin", "revoke", *args)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_the_2019_story(server_factory):
    srv = server_factory(name="story2019")
    alexa = register_client(srv, name="Alexa", uris=(ALEXA_URI,))
    google = register_client(srv, name="Google Assistant", uris=(GOOGLE_URI,))
    ifttt = register_client(srv, name="IFTTT", uris=(IFTTT_URI,), scopes="devices:read devices:control")
    u = srv.create_account()
    android = u.login(client="android")
    iphone = u.login(client="ios")
    cam = add_device(srv, iphone["access_token"], "camera")
    links = {alexa: link(srv, u, alexa, [cam["id"]]),
             google: link(srv, u, google, [cam["id"]]),
             ifttt: link(srv, u, ifttt, [cam["id"]], scope="devices:read devices:control")}

    # 1. log out every Android phone
    rule = revoke_cli(srv, "--class", "android")
    assert rule["scope"] == "class"
    assert srv.wait_token_dead(android["access_token"])
    assert srv.token_ok(iphone["access_token"])
    for client, tokens in links.items():
        assert partner_ok(srv, client, tokens), client.name

    # 2. end one partner (every user's link with it)
    rule = revoke_cli(srv, "--client", alexa.id)
    assert rule["scope"] == "client" and rule["value"] == alexa.id
    assert wait_until(lambda: partner_devices(srv, links[alexa]["access_token"]).status_code == 401)
    assert partner_dead(srv, alexa, links[alexa])
    assert partner_ok(srv, google, links[google]) and partner_ok(srv, ifttt, links[ifttt])
    assert srv.token_ok(iphone["access_token"])
    ok, _ = srv.refresh_ok(iphone["refresh_token"])
    assert ok

    # the user can link Alexa again at once: the rule covers only older grants
    links[alexa] = link(srv, u, alexa, [cam["id"]])
    assert partner_ok(srv, alexa, links[alexa])

    # 3. revoke everything
    revoke_cli(srv, "--all")
    assert wait_until(lambda: partner_devices(srv, links[google]["access_token"]).status_code == 401)
    for client, tokens in links.items():
        assert partner_dead(srv, client, tokens), client.name
    assert not srv.token_ok(iphone["access_token"])

    # 4. the user logs in again and relinks
    again = u.login(client="ios")
    assert srv.token_ok(again["access_token"])
    fresh = link(srv, u, google, [cam["id"]])
    assert partner_ok(srv, google, fresh)
    listed = expect_json(srv.get("/v1/me/integrations", token=again["access_token"]), 200)
    assert [i["client_id"] for i in listed["integrations"]] == [google.id]


def test_integration_scope_ends_every_partner_but_no_app_session(server_factory):
    srv = server_factory(name="integration-rule")
    a, g = register_client(srv), register_client(srv)
    u = srv.create_account()
    phone = u.login(client="android")
    web = u.login(client="web")
    la, lg = link(srv, u, a, []), link(srv, u, g, [])
    body = expect_json(srv.admin_req("POST", "/admin/v1/revocations", json={"scope": "integration"}), 201)
    assert body["scope"] == "integration"
    assert partner_dead(srv, a, la) and partner_dead(srv, g, lg)
    assert srv.token_ok(phone["access_token"]) and srv.token_ok(web["access_token"])
    assert srv.refresh_ok(phone["refresh_token"])[0]
    assert partner_ok(srv, a, link(srv, u, a, []))


def test_user_rule_ends_that_users_partners_only(server_factory):
    srv = server_factory(name="user-rule")
    a = register_client(srv)
    u, other = srv.create_account(), srv.create_account()
    lu, lo = link(srv, u, a, []), link(srv, other, a, [])
    expect_json(srv.admin_req("POST", "/admin/v1/revocations", json={"scope": "user", "value": u.id}), 201)
    assert partner_dead(srv, a, lu)
    assert partner_ok(srv, a, lo)


def test_class_rules_never_touch_partners(server_factory):
    srv = server_factory(name="class-rules")
    a = register_client(srv)
    u = srv.create_account()
    la = link(srv, u, a, [])
    for cls in ("android", "ios", "web", "cli"):
        revoke_cli(srv, "--class", cls)
    import time
    time.sleep(RULE_DELAY)
    assert partner_ok(srv, a, la)


@pytest.mark.parametrize("args", [["--client", "nothex"], ["--client"], ["--integration", "--all"],
                                  ["--grant", "xyz"], ["--integration", "extra"]])
def test_cli_bad_revocation_arguments(server, args):
    p = server.cli("admin", "revoke", *args)
    assert p.returncode == 2, (args, p.stderr)


def test_admin_api_client_scope_validation(server):
    assert_problem(server.admin_req("POST", "/admin/v1/revocations", json={"scope": "client"}),
                   400, "invalid_request")
    assert_problem(server.admin_req("POST", "/admin/v1/revocations",
                                    json={"scope": "integration", "value": "x"}), 400, "invalid_request")
    a = register_client(server)
    body = expect_json(server.admin_req("POST", "/admin/v1/revocations",
                                        json={"scope": "client", "value": a.id.upper()}), 201)
    assert body["value"] == a.id
