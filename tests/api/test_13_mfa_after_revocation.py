"""The 2019 regression: after a mass revocation, two-factor users can log in at once.

In 2019 a company wiped every login token after a leak, and its two-factor users could
not log in any more. Here, after each kind of revocation rule (all, class, user,
session), a two-factor user logs in with password and code, and with a recovery code,
straight away; the old tokens are dead and the new ones work."""

import pytest

from conftest import assert_problem, expect_json
from mfa_support import enable_mfa, login_2fa


@pytest.fixture(scope="module")
def rsrv(module_server_factory):
    return module_server_factory(name="mfa_revoke")


def two_factor_user(srv, client):
    u = srv.create_account()
    enable_mfa(srv, u)
    old = login_2fa(srv, u, client=client)
    assert srv.token_ok(old["access_token"])
    return u, old


def rule_for(kind, u, old, client):
    if kind == "all":
        return {"scope": "all"}
    if kind == "class":
        return {"scope": "class", "value": client}
    if kind == "user":
        return {"scope": "user", "value": u.id}
    return {"scope": "session", "value": old["session_id"]}


@pytest.mark.parametrize("kind", ["all", "class", "user", "session"])
@pytest.mark.parametrize("via", ["api", "cli"])
def test_two_factor_login_works_right_after_revocation(rsrv, kind, via):
    client = "android"
    u, old = two_factor_user(rsrv, client)
    rule = rule_for(kind, u, old, client)
    if via == "api":
        expect_json(rsrv.admin_req("POST", "/admin/v1/revocations", json=rule), 201)
    else:
        args = {"all": ["--all"], "class": ["--class", client], "user": ["--user", u.id],
                "session": ["--session", old["session_id"]]}[kind]
        r = rsrv.cli("admin", "revoke", *args)
        assert r.returncode == 0, r.stderr
    assert rsrv.wait_token_dead(old["access_token"]), "old access token still works"
    ok, _ = rsrv.refresh_ok(old["refresh_token"])
    assert not ok

    # password and code, at once, same client kind as the revoked one
    new = login_2fa(rsrv, u, client=client)
    assert rsrv.token_ok(new["access_token"])
    ok, again = rsrv.refresh_ok(new["refresh_token"])
    assert ok and rsrv.token_ok(again["access_token"])

    # and with a recovery code
    rec = login_2fa(rsrv, u, client=client, recovery=True)
    assert rsrv.token_ok(rec["access_token"])
    me = expect_json(rsrv.me(rec["access_token"]), 200)
    assert me["id"] == u.id and me["mfa_enabled"] is True


def test_challenge_issued_before_a_rule_still_completes(rsrv):
    """A challenge is not a session: a rule added between the password and the code does
    not stop the login, and the session it opens is newer than the rule."""
    from mfa_support import login_challenge, mfa_raw
    u, old = two_factor_user(rsrv, "ios")
    ch = login_challenge(rsrv, u, client="ios")
    expect_json(rsrv.admin_req("POST", "/admin/v1/revocations", json={"scope": "user", "value": u.id}), 201)
    body = expect_json(mfa_raw(rsrv, ch["mfa_token"], code=u.totp.code()), 200)
    assert rsrv.token_ok(body["access_token"])
    assert rsrv.wait_token_dead(old["access_token"])


def test_recovery_codes_survive_revocation_and_stay_single_use(rsrv):
    u, old = two_factor_user(rsrv, "web")
    used = u.recovery[-1]
    login_2fa(rsrv, u, client="web", recovery=True)
    expect_json(rsrv.admin_req("POST", "/admin/v1/revocations", json={"scope": "all"}), 201)
    from mfa_support import login_challenge, mfa_raw
    assert_problem(mfa_raw(rsrv, login_challenge(rsrv, u)["mfa_token"], recovery_code=used), 400,
                   "invalid_code")
    s = login_2fa(rsrv, u, client="web", recovery=True)
    assert rsrv.token_ok(s["access_token"])
