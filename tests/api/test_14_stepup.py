"""Step-up for sensitive actions: a login under the re-authentication window, or the
password (and code, for two-factor users) in the request; else 403
reauthentication_required. The server here runs with --reauth-window 2 so that a
"stale" login takes two seconds, not five minutes."""

import time

import pytest

from conftest import assert_problem, expect_json, expect_status, new_email, new_password
from mfa_support import enable_mfa, login_2fa

WINDOW = 2


@pytest.fixture(scope="module")
def ssrv(module_server_factory):
    return module_server_factory(name="stepup", extra_args=["--reauth-window", str(WINDOW)])


def stale(srv, user):
    s = user.login()
    time.sleep(WINDOW + 0.5)
    return s["access_token"]


def change_email(srv, tok, email, **proof):
    body = {"email": email}
    body.update(proof)
    return srv.post("/v1/me/email", token=tok, json=body)


def test_fresh_login_changes_email_without_password(ssrv):
    u = ssrv.create_account()
    tok = u.login()["access_token"]
    new = new_email()
    me = expect_json(change_email(ssrv, tok, new), 200)
    assert me["email"] == new and me["email_verified"] is False
    expect_json(ssrv.login_raw(new, u.password), 200)
    assert_problem(ssrv.login_raw(u.email, u.password), 401, "invalid_credentials")


def test_stale_login_needs_the_password(ssrv):
    u = ssrv.create_account()
    tok = stale(ssrv, u)
    new = new_email()
    body = assert_problem(change_email(ssrv, tok, new), 403, "reauthentication_required")
    assert "password" in body.get("detail", "")
    assert_problem(change_email(ssrv, tok, new, password=u.password + "x"), 403,
                   "reauthentication_required")
    assert expect_json(ssrv.me(tok), 200)["email"] == u.email
    expect_json(change_email(ssrv, tok, new, password=u.password), 200)
    assert expect_json(ssrv.me(tok), 200)["email"] == new


def test_stale_two_factor_login_needs_password_and_code(ssrv):
    u = ssrv.create_account()
    enable_mfa(ssrv, u)
    s = login_2fa(ssrv, u)
    time.sleep(WINDOW + 0.5)
    tok = s["access_token"]
    new = new_email()
    assert_problem(change_email(ssrv, tok, new, password=u.password), 403,
                   "reauthentication_required")
    assert_problem(change_email(ssrv, tok, new, password=u.password, code="000000"), 403,
                   "reauthentication_required")
    expect_json(change_email(ssrv, tok, new, password=u.password, code=u.totp.code()), 200)


def test_email_change_to_a_taken_address(ssrv):
    a, b = ssrv.create_account(), ssrv.create_account()
    tok = a.login()["access_token"]
    assert_problem(change_email(ssrv, tok, b.email), 409, "email_taken")
    assert_problem(change_email(ssrv, tok, "not-an-address"), 400, "invalid_email")
    assert expect_json(ssrv.me(tok), 200)["email"] == a.email


def test_delete_account_fresh_and_stale(ssrv):
    u = ssrv.create_account()
    tok = stale(ssrv, u)
    other = u.login()  # a second session, to see it die too
    assert_problem(ssrv.req("DELETE", "/v1/me", token=tok), 403, "reauthentication_required")
    assert_problem(ssrv.req("DELETE", "/v1/me", token=tok, json={"password": "nope-nope-nope"}),
                   403, "reauthentication_required")
    assert ssrv.token_ok(tok)
    expect_status(ssrv.req("DELETE", "/v1/me", token=tok, json={"password": u.password}), 204)
    assert not ssrv.token_ok(tok)
    assert not ssrv.token_ok(other["access_token"])
    ok, _ = ssrv.refresh_ok(other["refresh_token"])
    assert not ok
    assert_problem(ssrv.login_raw(u.email, u.password), 401, "invalid_credentials")
    assert ssrv.db_query("SELECT count(*) FROM users WHERE id = ?", (bytes.fromhex(u.id),)) == [(0,)]
    # the address is free again
    ssrv.create_account(email=u.email)


def test_delete_account_with_a_fresh_login_needs_no_body(ssrv):
    u = ssrv.create_account()
    tok = u.login()["access_token"]
    expect_status(ssrv.req("DELETE", "/v1/me", token=tok), 204)
    assert not ssrv.token_ok(tok)


def test_password_change_of_a_stale_two_factor_login_needs_a_code(ssrv):
    u = ssrv.create_account()
    enable_mfa(ssrv, u)
    s = login_2fa(ssrv, u)
    time.sleep(WINDOW + 0.5)
    tok = s["access_token"]
    nxt = new_password()
    r = ssrv.post("/v1/me/password", token=tok,
                  json={"current_password": u.password, "new_password": nxt})
    assert_problem(r, 403, "reauthentication_required")
    assert_problem(ssrv.login_raw(u.email, nxt), 401, "invalid_credentials")
    r = ssrv.post("/v1/me/password", token=tok,
                  json={"current_password": u.password, "new_password": nxt,
                        "code": u.totp.code()})
    expect_status(r, 204)
    u.password = nxt
    login_2fa(ssrv, u, recovery=True)


def test_password_change_of_a_fresh_two_factor_login(ssrv):
    u = ssrv.create_account()
    enable_mfa(ssrv, u)
    tok = login_2fa(ssrv, u)["access_token"]
    nxt = new_password()
    expect_status(ssrv.post("/v1/me/password", token=tok,
                            json={"current_password": u.password, "new_password": nxt}), 204)


def test_stepup_problem_is_403_not_401(ssrv):
    """A stale session is still a valid session: clients must not log the user out."""
    u = ssrv.create_account()
    tok = stale(ssrv, u)
    r = change_email(ssrv, tok, new_email())
    assert r.status_code == 403 and "WWW-Authenticate" not in r.headers
    assert ssrv.token_ok(tok)


def test_deleting_an_owner_releases_their_devices(ssrv):
    """P5 with P9: when an owner's account goes, so does every access to their devices
    that came through them (shares end with the new generation)."""
    import json
    owner, friend = ssrv.create_account(), ssrv.create_account()
    r = ssrv.cli("admin", "device", "provision", "--type", "camera", "--model", "CAM-1")
    assert r.returncode == 0, r.stderr
    dev = json.loads(r.stdout.decode().strip().splitlines()[-1])
    tok = owner.login()["access_token"]
    claimed = expect_json(ssrv.post("/v1/devices/claim", token=tok,
                                    json={"claim_code": dev["claim_code"], "name": "Door"}), 201)
    dev_id = claimed.get("id", dev["device_id"])
    expect_json(ssrv.post("/v1/devices/%s/shares" % dev_id, token=tok,
                          json={"email": friend.email, "role": "viewer"}), 201)
    ftok = friend.login()["access_token"]
    expect_json(ssrv.get("/v1/devices/%s" % dev_id, token=ftok), 200)
    expect_status(ssrv.req("DELETE", "/v1/me", token=tok), 204)
    assert_problem(ssrv.get("/v1/devices/%s" % dev_id, token=ftok), 404, "not_found")
