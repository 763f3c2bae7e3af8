"""Account linking, part 1: registering partners (OAuth clients) with the CLI and the
admin API; secrets shown once and stored only as keyed hashes; rotation and disabling."""

import json

import pytest

from conftest import assert_problem, expect_json, uniq, wait_until
from oauthkit import (ALEXA_URI, ALL_SCOPES, GOOGLE_URI, Browser, Client, add_device, introspect,
                      link, oauth_error, partner_devices, pkce, register_client, token_req)


def test_cli_add_prints_id_and_secret_once(server):
    c = register_client(server, uris=(ALEXA_URI, GOOGLE_URI))
    assert len(c.id) == 32 and c.secret.startswith("sh_cs_")
    p = server.cli("admin", "oauth-client", "list")
    assert p.returncode == 0, p.stderr
    clients = json.loads(p.stdout)["clients"]
    mine = [x for x in clients if x["client_id"] == c.id]
    assert len(mine) == 1
    assert mine[0]["redirect_uris"] == [ALEXA_URI, GOOGLE_URI]
    assert mine[0]["scopes"] == ALL_SCOPES
    assert mine[0]["disabled_at"] is None
    assert c.secret not in p.stdout.decode()
    rows = server.db_query("SELECT secret_hash FROM oauth_clients WHERE id = ?", (bytes.fromhex(c.id),))
    assert len(rows) == 1 and len(rows[0][0]) == 32
    assert c.secret.encode() not in rows[0][0]


@pytest.mark.parametrize("args", [
    ["--name", "X", "--scopes", "devices:read"],                                   # no redirect URI
    ["--name", "X", "--redirect-uri", "http://partner.example/cb", "--scopes", "devices:read"],
    ["--name", "X", "--redirect-uri", "https://partner.example/cb#frag", "--scopes", "devices:read"],
    ["--name", "X", "--redirect-uri", "https://user@partner.example/cb", "--scopes", "devices:read"],
    ["--name", "X", "--redirect-uri", "https://partner.example/c b", "--scopes", "devices:read"],
    ["--name", "X", "--redirect-uri", "/relative", "--scopes", "devices:read"],
    ["--name", "X", "--redirect-uri", "https://p.example/cb", "--scopes", "health:read"],
    ["--name", "X", "--redirect-uri", "https://p.example/cb", "--scopes", "devices:read  camera:stream"],
    ["--name", "", "--redirect-uri", "https://p.example/cb", "--scopes", "devices:read"],
    ["--redirect-uri", "https://p.example/cb", "--scopes", "devices:read"],       # no name
    ["--name", "X", "--redirect-uri", "https://p.example/cb", "--scopes", "devices:read",
     "--ifttt-service-key", "short"],
])
def test_cli_add_bad_input_changes_nothing(server, args):
    before = server.db_query("SELECT count(*) FROM oauth_clients")[0][0]
    p = server.cli("admin", "oauth-client", "add", *args)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert p.stderr
    assert server.db_query("SELECT count(*) FROM oauth_clients")[0][0] == before


def test_http_redirect_allowed_only_on_loopback(server):
    c = register_client(server, uris=("http://127.0.0.1:9/cb", "http://localhost/cb"))
    assert c.id


def test_rotate_secret(server):
    c = register_client(server)
    u = server.new_user()
    body = link(server, u, c, [])
    p = server.cli("admin", "oauth-client", "rotate-secret", "--client", c.id)
    assert p.returncode == 0, p.stderr
    new = json.loads(p.stdout)
    assert new["client_id"] == c.id and new["client_secret"].startswith("sh_cs_")
    assert new["client_secret"] != c.secret
    # a running server sees a change made by the CLI within a second (client cache)
    assert wait_until(lambda: introspect(server, c, body["access_token"]).status_code == 401)
    oauth_error(introspect(server, c, body["access_token"]), 401, "invalid_client")
    c2 = Client(c.id, new["client_secret"], c.redirect_uri, c.name)
    r = introspect(server, c2, body["access_token"])
    assert r.status_code == 200 and r.json()["active"] is True, r.text
    # the partner's tokens survive a secret rotation
    assert partner_devices(server, body["access_token"]).status_code == 200


def test_disable_ends_every_token_and_new_links(server):
    c = register_client(server)
    u = server.new_user()
    body = link(server, u, c, [])
    p = server.cli("admin", "oauth-client", "disable", "--client", c.id)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["disabled_at"]
    # a rule written by the CLI reaches the running server within a second
    assert wait_until(lambda: partner_devices(server, body["access_token"]).status_code == 401)
    assert_problem(partner_devices(server, body["access_token"]), 401, "invalid_token")
    again = lambda: token_req(server, c, {"grant_type": "refresh_token",
                                          "refresh_token": body["refresh_token"]})
    assert wait_until(lambda: again().status_code == 401)
    oauth_error(again(), 401, "invalid_client")
    _, challenge = pkce()
    assert wait_until(lambda: Browser(server).authorize(c, challenge).status_code == 400)
    r = Browser(server).authorize(c, challenge)
    assert r.status_code == 400 and "Location" not in r.headers
    p = server.cli("admin", "oauth-client", "disable", "--client", c.id)
    assert p.returncode == 1


@pytest.mark.parametrize("args", [[], ["--client", "nothex"], ["--client", "ab" * 16, "--name", "x"]])
def test_cli_rotate_disable_bad_args(server, args):
    for sub in ("rotate-secret", "disable"):
        p = server.cli("admin", "oauth-client", sub, *args)
        assert p.returncode == 2, (sub, args, p.stderr)


def test_cli_unknown_subcommand(server):
    assert server.cli("admin", "oauth-client", "frobnicate").returncode == 2


def test_admin_api_clients(server):
    body = {"name": uniq("Google "), "redirect_uris": [GOOGLE_URI], "scopes": "devices:read devices:control"}
    r = server.admin_req("POST", "/admin/v1/oauth/clients", json=body)
    created = expect_json(r, 201)
    assert created["client_secret"].startswith("sh_cs_")
    listed = expect_json(server.admin_req("GET", "/admin/v1/oauth/clients"), 200)["clients"]
    mine = [x for x in listed if x["client_id"] == created["client_id"]][0]
    assert mine["scopes"] == "devices:read devices:control" and "client_secret" not in mine
    rot = expect_json(server.admin_req("POST", "/admin/v1/oauth/clients/%s/secret" % created["client_id"]), 200)
    assert rot["client_secret"] != created["client_secret"]
    # through the admin API (same process) the old secret stops at once
    old = Client(created["client_id"], created["client_secret"], GOOGLE_URI, "x")
    new = Client(created["client_id"], rot["client_secret"], GOOGLE_URI, "x")
    oauth_error(introspect(server, old, "x"), 401, "invalid_client")
    assert introspect(server, new, "x").json() == {"active": False}
    dis = expect_json(server.admin_req("POST", "/admin/v1/oauth/clients/%s/disable" % created["client_id"]), 200)
    assert dis["disabled_at"]
    assert_problem(server.admin_req("POST", "/admin/v1/oauth/clients/%s/disable" % created["client_id"]),
                   404, "not_found")
    assert_problem(server.admin_req("POST", "/admin/v1/oauth/clients/%s/secret" % ("00" * 16)), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"name": "x", "redirect_uris": "https://p.example/cb", "scopes": "devices:read"},
    {"name": "x", "redirect_uris": [], "scopes": "devices:read"},
    {"name": "x", "redirect_uris": [1], "scopes": "devices:read"},
    {"name": "x", "redirect_uris": ["https://p.example/cb"], "scopes": "admin"},
    {"name": "x", "redirect_uris": ["ftp://p.example/cb"], "scopes": "devices:read"},
    {"redirect_uris": ["https://p.example/cb"], "scopes": "devices:read"},
])
def test_admin_api_bad_client(server, body):
    before = server.db_query("SELECT count(*) FROM oauth_clients")[0][0]
    assert_problem(server.admin_req("POST", "/admin/v1/oauth/clients", json=body), 400, "invalid_request")
    assert server.db_query("SELECT count(*) FROM oauth_clients")[0][0] == before


def test_admin_api_needs_admin_token(server):
    u = server.new_user()
    assert_problem(server.admin_req("GET", "/admin/v1/oauth/clients", token=u.sessions[0]["access_token"]),
                   401, "invalid_token")
    r = server.req("GET", "/admin/v1/oauth/clients", admin=True)
    assert_problem(r, 401, "unauthenticated")
    assert_problem(server.get("/admin/v1/oauth/clients"), 404, "not_found")   # not on the public listener


def test_ifttt_service_key_unique(server):
    key = uniq("ifttt-key-") * 2
    register_client(server, service_key=key)
    p = server.cli("admin", "oauth-client", "add", "--name", "Dup", "--redirect-uri",
                   "https://ifttt.com/x", "--scopes", "devices:read", "--ifttt-service-key", key)
    assert p.returncode != 0
