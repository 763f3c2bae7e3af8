"""GET/PATCH /v1/me, POST /v1/me/password, and how bearer tokens are checked."""

import uuid

import pytest

from conftest import (assert_problem, assert_recent, expect_json, expect_status, new_password)


def test_get_me(server):
    u = server.create_account(display_name="Alice Example")
    s = u.login()
    body = expect_json(server.me(s["access_token"]), 200)
    assert body["id"] == u.id
    assert body["email"] == u.email
    assert body["display_name"] == "Alice Example"
    assert_recent(body["created_at"])
    assert "password" not in body


def test_get_me_without_display_name(server):
    u = server.new_user()
    body = expect_json(server.me(u.sessions[0]["access_token"]), 200)
    assert body["display_name"] is None


def test_patch_me_display_name(server):
    u = server.new_user()
    at = u.sessions[0]["access_token"]
    name = "Zoë 🏠 " + uuid.uuid4().hex[:6]
    r = server.req("PATCH", "/v1/me", token=at, json={"display_name": name})
    body = expect_json(r, 200)
    assert body["display_name"] == name and body["id"] == u.id and body["email"] == u.email
    assert expect_json(server.me(at), 200)["display_name"] == name
    # visible from another session too
    s2 = u.login(client="cli")
    assert expect_json(server.me(s2["access_token"]), 200)["display_name"] == name
    # and cleared with null
    body = expect_json(server.req("PATCH", "/v1/me", token=at, json={"display_name": None}), 200)
    assert body["display_name"] is None
    assert expect_json(server.me(at), 200)["display_name"] is None


def test_patch_me_wrong_type_changes_nothing(server):
    u = server.create_account(display_name="Stays")
    at = u.login()["access_token"]
    for bad in (42, ["x"], {"a": 1}, True):
        r = server.req("PATCH", "/v1/me", token=at, json={"display_name": bad})
        assert_problem(r, 400, "invalid_request")
    assert expect_json(server.me(at), 200)["display_name"] == "Stays"


def test_patch_me_cannot_change_email_or_id(server):
    u = server.new_user()
    at = u.sessions[0]["access_token"]
    r = server.req("PATCH", "/v1/me", token=at,
                   json={"display_name": "N", "email": "evil@example.com", "id": "0" * 32})
    body = expect_json(r, 200)
    assert body["email"] == u.email and body["id"] == u.id


def test_me_requires_auth(server):
    assert_problem(server.get("/v1/me"), 401, "unauthenticated")
    assert_problem(server.req("PATCH", "/v1/me", json={"display_name": "x"}), 401, "unauthenticated")
    assert_problem(server.post("/v1/me/password",
                               json={"current_password": "a" * 12, "new_password": "b" * 12}),
                   401, "unauthenticated")


def test_users_see_only_themselves(server):
    a = server.new_user()
    b = server.new_user()
    ma = expect_json(server.me(a.sessions[0]["access_token"]), 200)
    mb = expect_json(server.me(b.sessions[0]["access_token"]), 200)
    assert ma["id"] == a.id and mb["id"] == b.id and ma["email"] != mb["email"]


# ---- password change -------------------------------------------------------------


def test_password_change_ends_other_sessions(server):
    u = server.create_account()
    cur = u.login(client="web")
    others = [u.login(client="android"), u.login(client="ios")]
    bystander = server.new_user()
    new_pw = new_password()
    r = server.post("/v1/me/password", token=cur["access_token"],
                    json={"current_password": u.password, "new_password": new_pw})
    expect_status(r, 204)
    assert server.token_ok(cur["access_token"])
    ok, _ = server.refresh_ok(cur["refresh_token"])
    assert ok
    for s in others:
        assert_problem(server.me(s["access_token"]), 401, "invalid_token")
        assert_problem(server.refresh_raw(s["refresh_token"]), 401, "invalid_token")
    assert_problem(server.login_raw(u.email, u.password), 401, "invalid_credentials")
    s = server.login(u.email, new_pw)
    assert server.token_ok(s["access_token"])
    assert server.token_ok(bystander.sessions[0]["access_token"])


def test_password_change_wrong_current_changes_nothing(server):
    u = server.create_account()
    cur = u.login()
    other = u.login(client="android")
    r = server.post("/v1/me/password", token=cur["access_token"],
                    json={"current_password": u.password + "nope", "new_password": new_password()})
    assert_problem(r, 401, "invalid_credentials")
    # the session that asked is not ended by a typo
    assert server.token_ok(cur["access_token"])
    assert server.token_ok(other["access_token"])
    server.login(u.email, u.password)


@pytest.mark.parametrize("weak", ["short1234", "password1234", "x" * 257])
def test_password_change_weak_new_changes_nothing(server, weak):
    u = server.create_account()
    cur = u.login()
    other = u.login(client="ios")
    r = server.post("/v1/me/password", token=cur["access_token"],
                    json={"current_password": u.password, "new_password": weak})
    assert_problem(r, 400, "weak_password")
    assert server.token_ok(other["access_token"])
    server.login(u.email, u.password)
    assert_problem(server.login_raw(u.email, weak), 401, "invalid_credentials")


def test_password_change_missing_fields(server):
    u = server.new_user()
    at = u.sessions[0]["access_token"]
    assert_problem(server.post("/v1/me/password", token=at, json={"new_password": new_password()}),
                   400, "invalid_request")
    assert_problem(server.post("/v1/me/password", token=at, json={"current_password": u.password}),
                   400, "invalid_request")
    assert_problem(server.post("/v1/me/password", token=at,
                               json={"current_password": u.password, "new_password": 1234567890123}),
                   400, "invalid_request")
    server.login(u.email, u.password)


# ---- bearer token checks -------------------------------------------------------


def _flip(tok, i):
    c = tok[i]
    repl = "B" if c != "B" else "C"
    if c.isdigit():
        repl = "7" if c != "7" else "3"
    elif c.islower():
        repl = "q" if c != "q" else "r"
    return tok[:i] + repl + tok[i + 1:]


def test_forged_access_token_flipped_char(server):
    u = server.new_user()
    at = u.sessions[0]["access_token"]
    body = at[len("sh_at_"):]
    for pos in (len(body) // 2, len(body) // 3, (2 * len(body)) // 3):
        forged = "sh_at_" + _flip(body, pos)
        assert forged != at
        assert_problem(server.me(forged), 401, "invalid_token")
    assert server.token_ok(at)


@pytest.mark.parametrize("kind", ["garbled", "wrong_prefix", "prefix_only", "truncated", "extended",
                                  "refresh_as_access", "admin_as_access", "with_spaces"])
def test_bad_bearer_tokens(server, kind):
    u = server.new_user()
    s = u.sessions[0]
    at = s["access_token"]
    tok = {
        "garbled": "this-is-not-a-token",
        "wrong_prefix": "sh_xx_" + at[len("sh_at_"):],
        "prefix_only": "sh_at_",
        "truncated": at[:-3],
        "extended": at + "AAAA",
        "refresh_as_access": s["refresh_token"],
        "admin_as_access": server.admin_token,
        "with_spaces": at[:10] + " " + at[10:],
    }[kind]
    assert_problem(server.me(tok), 401, "invalid_token")
    assert server.token_ok(at)


def test_empty_bearer(server):
    r = server.get("/v1/me", headers={"Authorization": "Bearer "})
    assert_problem(r, 401, ("unauthenticated", "invalid_token"))
    r = server.get("/v1/me", headers={"Authorization": "Bearer"})
    assert_problem(r, 401, ("unauthenticated", "invalid_token"))


def test_basic_scheme_refused(server):
    u = server.new_user()
    r = server.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNzd29yZA=="})
    assert_problem(r, 401, ("unauthenticated", "invalid_token"))
    # even with a valid access token in it
    r = server.get("/v1/me", headers={"Authorization": "Basic " + u.sessions[0]["access_token"]})
    assert_problem(r, 401, ("unauthenticated", "invalid_token"))


def test_token_in_query_string_not_accepted(server):
    u = server.new_user()
    r = server.get("/v1/me?access_token=" + u.sessions[0]["access_token"])
    assert_problem(r, 401, "unauthenticated")
