"""Account linking, part 4: RFC 7009 revocation, RFC 7662 introspection (only a client's
own tokens) and RFC 8414 metadata."""

import pytest
import requests

from conftest import HTTP_TIMEOUT
from oauthkit import (ALL_SCOPES, add_device, introspect, link, oauth_error, partner_devices,
                      refresh, register_client, revoke)


@pytest.fixture(scope="module")
def setup(module_server_factory):
    srv = module_server_factory(name="introspect")
    c = register_client(srv)
    u = srv.new_user(clients=("ios",))
    cam = add_device(srv, u.sessions[0]["access_token"], "camera")
    return srv, c, u, cam


def test_metadata(setup):
    srv, c, u, cam = setup
    r = requests.get(srv.base + "/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT)
    m = r.json()
    assert m["issuer"] == srv.base
    for k, path in (("authorization_endpoint", "/oauth/authorize"), ("token_endpoint", "/oauth/token"),
                    ("revocation_endpoint", "/oauth/revoke"), ("introspection_endpoint", "/oauth/introspect")):
        assert m[k] == srv.base + path
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert m["response_types_supported"] == ["code"]
    assert set(m["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    for k in ("token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported",
              "introspection_endpoint_auth_methods_supported"):
        assert set(m[k]) == {"client_secret_basic", "client_secret_post"}
    assert m["scopes_supported"] == ALL_SCOPES.split()


def test_issuer_flag(server_factory):
    srv = server_factory(extra_args=["--issuer", "https://home.example.com/"], name="issuer")
    m = requests.get(srv.base + "/.well-known/oauth-authorization-server", timeout=HTTP_TIMEOUT).json()
    assert m["issuer"] == "https://home.example.com"
    assert m["token_endpoint"] == "https://home.example.com/oauth/token"


@pytest.mark.parametrize("auth", ["basic", "post"])
def test_introspect_own_tokens(setup, auth):
    srv, c, u, cam = setup
    t = link(srv, u, c, [cam["id"]], scope="devices:read camera:stream")
    body = introspect(srv, c, t["access_token"], auth=auth).json()
    assert body["active"] is True and body["scope"] == "devices:read camera:stream"
    assert body["client_id"] == c.id and body["token_type"] == "Bearer"
    assert len(body["sub"]) == 32 and body["sub"] != u.id
    assert body["exp"] - body["iat"] == 3600 and body["iss"] == srv.base
    rt = introspect(srv, c, t["refresh_token"], auth=auth).json()
    assert rt["active"] is True and rt["sub"] == body["sub"] and "exp" not in rt


def test_pairwise_subject_differs_per_client(setup):
    srv, c, u, cam = setup
    other = register_client(srv)
    a = introspect(srv, c, link(srv, u, c, [])["access_token"]).json()["sub"]
    b = introspect(srv, other, link(srv, u, other, [])["access_token"]).json()["sub"]
    assert a != b


def test_introspect_other_clients_and_garbage_are_inactive(setup):
    srv, c, u, cam = setup
    other = register_client(srv)
    t = link(srv, u, c, [])
    for tok in (t["access_token"], t["refresh_token"]):
        assert introspect(srv, other, tok).json() == {"active": False}
    for tok in ("garbage", t["access_token"][:-3] + "AAA", u.sessions[0]["access_token"],
                u.sessions[0]["refresh_token"], other.secret):
        assert introspect(srv, c, tok).json() == {"active": False}


def test_introspect_needs_client_auth(setup):
    srv, c, u, cam = setup
    t = link(srv, u, c, [])
    r = requests.post(srv.base + "/oauth/introspect", data={"token": t["access_token"]}, timeout=HTTP_TIMEOUT)
    oauth_error(r, 401, "invalid_client")
    r = requests.post(srv.base + "/oauth/introspect", data={}, headers=c.basic(), timeout=HTTP_TIMEOUT)
    oauth_error(r, 400, "invalid_request")
    # a partner's bearer token is not client authentication either
    r = requests.post(srv.base + "/oauth/introspect", data={"token": t["access_token"]},
                      headers={"Authorization": "Bearer " + t["access_token"]}, timeout=HTTP_TIMEOUT)
    oauth_error(r, 401, "invalid_client")


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoke_ends_the_grant(setup, which):
    srv, c, u, cam = setup
    t = link(srv, u, c, [cam["id"]])
    r = revoke(srv, c, t[which])
    # {} rather than nothing: simple-oauth2 (npm) parses the answer as JSON
    assert r.status_code == 200 and r.json() == {}
    assert r.headers["Content-Type"] == "application/json"
    assert partner_devices(srv, t["access_token"]).status_code == 401
    oauth_error(refresh(srv, c, t["refresh_token"]), 400, "invalid_grant")
    assert introspect(srv, c, t["refresh_token"]).json() == {"active": False}
    # revoking again, or garbage, is fine (RFC 7009 2.2)
    assert revoke(srv, c, t[which]).status_code == 200
    assert revoke(srv, c, "garbage").status_code == 200
    # the user's app session is untouched
    assert srv.token_ok(u.sessions[0]["access_token"])


def test_revoke_another_clients_token_does_nothing(setup):
    srv, c, u, cam = setup
    other = register_client(srv)
    t = link(srv, u, c, [])
    assert revoke(srv, other, t["refresh_token"]).status_code == 200
    assert revoke(srv, other, t["access_token"]).status_code == 200
    assert partner_devices(srv, t["access_token"]).status_code == 200
    assert refresh(srv, c, t["refresh_token"]).status_code == 200


def test_revoke_needs_client_auth_and_token(setup):
    srv, c, u, cam = setup
    t = link(srv, u, c, [])
    r = requests.post(srv.base + "/oauth/revoke", data={"token": t["access_token"]}, timeout=HTTP_TIMEOUT)
    oauth_error(r, 401, "invalid_client")
    r = requests.post(srv.base + "/oauth/revoke", data={"token_type_hint": "access_token"},
                      headers=c.basic(), timeout=HTTP_TIMEOUT)
    oauth_error(r, 400, "invalid_request")
    assert partner_devices(srv, t["access_token"]).status_code == 200
