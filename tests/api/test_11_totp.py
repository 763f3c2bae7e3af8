"""Two-factor enrolment with TOTP (RFC 6238): enrol, confirm, show, turn off.

Codes come from the `oathtool` command, not from the server."""

import base64
import re
import time
import urllib.parse

from conftest import assert_problem, expect_json, expect_status
from mfa_support import STEP, Totp, enable_mfa, enrol, login_2fa, oathtool


def test_enrol_returns_secret_uri_and_svg_qr(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    e = enrol(server, tok)
    assert re.match(r"^[A-Z2-7]{32}$", e["secret"]), e
    assert len(base64.b32decode(e["secret"])) == 20
    uri = urllib.parse.urlparse(e["otpauth_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp", e["otpauth_uri"]
    assert urllib.parse.unquote(uri.path) == "/safehouse:" + u.email
    q = urllib.parse.parse_qs(uri.query)
    assert q["secret"] == [e["secret"]] and q["issuer"] == ["safehouse"]
    assert q["algorithm"] == ["SHA1"] and q["digits"] == ["6"] and q["period"] == ["30"]
    svg = e["qr_svg"]
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<path" in svg
    assert expect_json(server.me(tok), 200)["mfa_enabled"] is False


def test_pending_enrolment_does_not_turn_2fa_on(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    enrol(server, tok)
    s = expect_json(server.login_raw(u.email, u.password), 200)
    assert "access_token" in s and "mfa_required" not in s


def test_confirm_with_wrong_code_is_refused(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    e = enrol(server, tok)
    good = oathtool(e["secret"])
    bad = "%06d" % ((int(good) + 1) % 1000000)
    for code in (bad, "12345", "abcdef", "1234567"):
        assert_problem(server.post("/v1/me/mfa/totp/confirm", token=tok, json={"code": code}),
                       400, "invalid_code")
    assert expect_json(server.me(tok), 200)["mfa_enabled"] is False
    assert_problem(server.post("/v1/me/mfa/totp/confirm", token=tok, json={}), 400,
                   "invalid_request")


def test_confirm_turns_2fa_on_with_ten_recovery_codes(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    _, codes = enable_mfa(server, u, tok)
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    for c in codes:
        assert re.match(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$", c), c
    me = expect_json(server.me(tok), 200)
    assert me["mfa_enabled"] is True
    # a second enrolment or confirmation while on is refused
    assert_problem(server.post("/v1/me/mfa/totp", token=tok), 409, "conflict")
    assert_problem(server.post("/v1/me/mfa/totp/confirm", token=tok,
                               json={"code": "123456"}), 409, "conflict")


def test_confirm_without_enrolment(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    assert_problem(server.post("/v1/me/mfa/totp/confirm", token=tok, json={"code": "123456"}),
                   409, "conflict")


def test_reenrolment_replaces_a_pending_secret(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    first = enrol(server, tok)["secret"]
    second = enrol(server, tok)["secret"]
    assert first != second
    t_old = Totp(first, int(time.time()) // STEP - 2)
    r = server.post("/v1/me/mfa/totp/confirm", token=tok, json={"code": t_old.code()})
    if r.status_code == 200:  # the two secrets gave the same code by chance (1 in a million)
        return
    assert_problem(r, 400, "invalid_code")
    t = Totp(second, int(time.time()) // STEP - 2)
    expect_json(server.post("/v1/me/mfa/totp/confirm", token=tok, json={"code": t.code()}), 200)


def test_mfa_routes_need_a_token(server):
    assert_problem(server.post("/v1/me/mfa/totp"), 401, "unauthenticated")
    assert_problem(server.post("/v1/me/mfa/totp/confirm", json={"code": "123456"}), 401,
                   "unauthenticated")
    assert_problem(server.req("DELETE", "/v1/me/mfa/totp", json={}), 401, "unauthenticated")


def test_turn_off_needs_password_and_code(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    enable_mfa(server, u, tok)

    def off(body):
        return server.req("DELETE", "/v1/me/mfa/totp", token=tok, json=body)

    assert_problem(off({}), 403, "reauthentication_required")
    assert_problem(off({"password": u.password}), 403, "reauthentication_required")
    assert_problem(off({"code": "123456"}), 403, "reauthentication_required")
    assert_problem(off({"password": u.password + "x", "code": "123456"}), 403,
                   "reauthentication_required")
    assert expect_json(server.me(tok), 200)["mfa_enabled"] is True
    expect_status(off({"password": u.password, "code": u.totp.code()}), 204)
    assert expect_json(server.me(tok), 200)["mfa_enabled"] is False
    s = expect_json(server.login_raw(u.email, u.password), 200)
    assert "access_token" in s
    assert_problem(off({"password": u.password, "code": "123456"}), 409, "conflict")


def test_turn_off_with_a_recovery_code(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    enable_mfa(server, u, tok)
    r = server.req("DELETE", "/v1/me/mfa/totp", token=tok,
                   json={"password": u.password, "recovery_code": u.recovery[0]})
    expect_status(r, 204)


def test_secret_and_recovery_codes_not_stored_in_clear(server):
    u = server.create_account()
    tok = u.login()["access_token"]
    t, codes = enable_mfa(server, u, tok)
    raw = base64.b32decode(t.secret)
    rows = server.db_query("SELECT secret_ct FROM mfa_totp WHERE user_id = ?",
                           (bytes.fromhex(u.id),))
    assert len(rows) == 1 and isinstance(rows[0][0], bytes)
    blob = rows[0][0]
    assert raw not in blob and t.secret.encode() not in blob
    hashes = [r[0] for r in server.db_query("SELECT hash FROM mfa_recovery WHERE user_id = ?",
                                            (bytes.fromhex(u.id),))]
    assert len(hashes) == 10 and all(len(h) == 32 for h in hashes)
    for name, data in server.store_blobs().items():
        assert raw not in data and t.secret.encode() not in data, name
        for c in codes:
            assert c.encode() not in data and c.replace("-", "").encode() not in data, name
    log = server.log_bytes()
    assert t.secret.encode() not in log
    for c in codes:
        assert c.encode() not in log


def test_second_factor_login_after_enrolment(server):
    u = server.create_account()
    enable_mfa(server, u)
    s = login_2fa(server, u, client="android")
    me = expect_json(server.me(s["access_token"]), 200)
    assert me["mfa_enabled"] is True and me["id"] == u.id
