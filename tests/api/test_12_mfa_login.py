"""Logging in with a second factor: the mfa_required challenge and POST /v1/sessions/mfa."""

import time

from conftest import HEX32, assert_problem, assert_token_shape, expect_json
from mfa_support import STEP, enable_mfa, login_challenge, login_2fa, mfa_raw, oathtool


def test_password_alone_gives_a_challenge_not_tokens(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u)
    assert ch["mfa_token"].startswith("sh_mt_") and len(ch["mfa_token"]) > 40
    assert ch["expires_in"] == 300
    assert set(ch["methods"]) == {"totp", "recovery_code"}


def test_wrong_password_gives_no_challenge(server):
    u = server.create_account()
    enable_mfa(server, u)
    assert_problem(server.login_raw(u.email, u.password + "x"), 401, "invalid_credentials")


def test_code_gives_the_usual_tokens(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u, client="ios", device_name="Ann's phone")
    body = expect_json(mfa_raw(server, ch["mfa_token"], code=u.totp.code()), 200)
    assert_token_shape(body)
    sessions = expect_json(server.get("/v1/sessions", token=body["access_token"]), 200)["sessions"]
    cur = [s for s in sessions if s["current"]]
    assert len(cur) == 1 and cur[0]["client"] == "ios" and cur[0]["device_name"] == "Ann's phone"
    ok, _ = server.refresh_ok(body["refresh_token"])
    assert ok


def test_mfa_token_is_single_use(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u)
    expect_json(mfa_raw(server, ch["mfa_token"], code=u.totp.code()), 200)
    assert_problem(mfa_raw(server, ch["mfa_token"], code="123456"), 401, "invalid_token")


def test_code_is_accepted_once(server):
    u = server.create_account()
    enable_mfa(server, u)
    code = u.totp.code()
    expect_json(mfa_raw(server, login_challenge(server, u)["mfa_token"], code=code), 200)
    r = mfa_raw(server, login_challenge(server, u)["mfa_token"], code=code)
    assert_problem(r, 400, "invalid_code")


def away_from_step_boundary():
    while int(time.time()) % STEP >= STEP - 4:
        time.sleep(1)
    return int(time.time()) // STEP


def test_one_step_of_clock_skew_either_way(server):
    """A code of the previous or the next 30 s step works; two steps ahead does not."""
    from mfa_support import enrol
    u = server.create_account()
    tok = u.login()["access_token"]
    secret = enrol(server, tok)["secret"]
    now = away_from_step_boundary()
    # the previous step's code confirms the enrolment
    expect_json(server.post("/v1/me/mfa/totp/confirm", token=tok,
                            json={"code": oathtool(secret, (now - 1) * STEP + 1)}), 200)
    now = away_from_step_boundary()
    # two steps ahead: refused
    r = mfa_raw(server, login_challenge(server, u)["mfa_token"],
                code=oathtool(secret, (now + 2) * STEP + 1))
    assert_problem(r, 400, "invalid_code")
    # the next step's code logs in
    r = mfa_raw(server, login_challenge(server, u)["mfa_token"],
                code=oathtool(secret, (now + 1) * STEP + 1))
    expect_json(r, 200)
    # and now the current step is older than the last used one: refused as a replay
    r = mfa_raw(server, login_challenge(server, u)["mfa_token"],
                code=oathtool(secret, now * STEP + 1))
    assert_problem(r, 400, "invalid_code")


def test_five_wrong_codes_kill_the_mfa_token(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u)
    good = u.totp.code()
    bad = "%06d" % ((int(good) + 500000) % 1000000)
    for _ in range(5):
        assert_problem(mfa_raw(server, ch["mfa_token"], code=bad), 400, "invalid_code")
    assert_problem(mfa_raw(server, ch["mfa_token"], code=good), 401, "invalid_token")


def test_mfa_token_is_bound_to_the_client_kind(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u, client="android")
    assert_problem(mfa_raw(server, ch["mfa_token"], code="123456", client="web"), 401,
                   "invalid_token")
    body = expect_json(mfa_raw(server, ch["mfa_token"], code=u.totp.code(), client="android"), 200)
    sessions = expect_json(server.get("/v1/sessions", token=body["access_token"]), 200)["sessions"]
    assert [s["client"] for s in sessions if s["current"]] == ["android"]


def test_mfa_token_is_bound_to_the_user(server):
    """One user's challenge cannot be completed with another user's code."""
    a, b = server.create_account(), server.create_account()
    enable_mfa(server, a)
    enable_mfa(server, b)
    ch = login_challenge(server, a)
    assert_problem(mfa_raw(server, ch["mfa_token"], code=b.totp.code()), 400, "invalid_code")
    body = expect_json(mfa_raw(server, ch["mfa_token"], code=a.totp.code()), 200)
    assert expect_json(server.me(body["access_token"]), 200)["id"] == a.id


def test_recovery_code_works_once(server):
    u = server.create_account()
    enable_mfa(server, u)
    code = u.recovery[0]
    body = expect_json(mfa_raw(server, login_challenge(server, u)["mfa_token"],
                               recovery_code=code.lower()), 200)
    assert_token_shape(body)
    assert_problem(mfa_raw(server, login_challenge(server, u)["mfa_token"], recovery_code=code),
                   400, "invalid_code")
    # another one of the ten still works
    expect_json(mfa_raw(server, login_challenge(server, u)["mfa_token"],
                        recovery_code=u.recovery[1].replace("-", "")), 200)


def test_recovery_code_of_another_user_does_not_work(server):
    a, b = server.create_account(), server.create_account()
    enable_mfa(server, a)
    enable_mfa(server, b)
    assert_problem(mfa_raw(server, login_challenge(server, a)["mfa_token"],
                           recovery_code=b.recovery[0]), 400, "invalid_code")


def test_bad_mfa_requests(server):
    u = server.create_account()
    enable_mfa(server, u)
    ch = login_challenge(server, u)
    assert_problem(mfa_raw(server, ch["mfa_token"]), 400, "invalid_request")
    assert_problem(mfa_raw(server, ch["mfa_token"], code="123456", recovery_code="AAAAA-AAAAA"),
                   400, "invalid_request")
    assert_problem(mfa_raw(server, ch["mfa_token"], code="123456", client="toaster"), 400,
                   "invalid_request")
    assert_problem(server.post("/v1/sessions/mfa", json={"code": "123456"}), 400,
                   "invalid_request")
    # the last character changed (to one it is not: 1 in 64 tokens already ends in "A")
    last = "B" if ch["mfa_token"].endswith("A") else "A"
    for garbage in ("", "sh_mt_", "sh_mt_AAAA", ch["mfa_token"][:-1] + last, "sh_rt_" + ch["mfa_token"][6:]):
        assert_problem(mfa_raw(server, garbage, code="123456"), 401, "invalid_token")
    # the challenge is still good after all that
    expect_json(mfa_raw(server, ch["mfa_token"], code=u.totp.code()), 200)


def test_login_2fa_helper_with_recovery(server):
    u = server.create_account()
    enable_mfa(server, u)
    s = login_2fa(server, u, recovery=True)
    assert HEX32.match(s["session_id"])
