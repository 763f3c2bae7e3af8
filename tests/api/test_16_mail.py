"""Outgoing mail through a real SMTP sink: e-mail verification, password reset,
new-login alerts and security notices; a sealed outbox; the development spool."""

import os
import time

from conftest import assert_problem, expect_json, expect_status, new_email, new_password
from mfa_support import enable_mfa, login_2fa


def test_registration_mails_a_verification_token(mail_server):
    srv = mail_server
    u = srv.create_account()
    msg = srv.mailbox.wait(u.email, "confirm")[-1]
    assert str(msg["From"]) == "<noreply@safehouse.test>" or "noreply@safehouse.test" in str(msg["From"])
    assert u.email in str(msg["To"])
    tok = u.login()["access_token"]
    assert expect_json(srv.me(tok), 200)["email_verified"] is False
    token = srv.mailbox.token(u.email, "verify", "confirm")
    expect_json(srv.post("/v1/email/verify", json={"token": token}), 200)
    assert expect_json(srv.me(tok), 200)["email_verified"] is True
    # single use
    assert_problem(srv.post("/v1/email/verify", json={"token": token}), 401, "invalid_token")


def test_verify_bad_tokens(mail_server):
    srv = mail_server
    for bad in ("", "sh_ev_", "sh_ev_AAAA", "sh_pr_" + "A" * 48):
        assert_problem(srv.post("/v1/email/verify", json={"token": bad}), 401, "invalid_token")
    assert_problem(srv.post("/v1/email/verify", json={}), 400, "invalid_request")
    assert_problem(srv.post("/v1/email/verify", json={"token": 5}), 400, "invalid_request")


def test_token_sent_to_an_old_address_does_not_verify_the_new_one(mail_server):
    srv = mail_server
    u = srv.create_account()
    old_token = srv.mailbox.token(u.email, "verify", "confirm")
    tok = u.login()["access_token"]
    new = new_email()
    expect_json(srv.post("/v1/me/email", token=tok, json={"email": new}), 200)
    notice = srv.mailbox.wait(u.email, "changed")
    assert notice
    assert_problem(srv.post("/v1/email/verify", json={"token": old_token}), 401, "invalid_token")
    assert expect_json(srv.me(tok), 200)["email_verified"] is False
    new_token = srv.mailbox.token(new, "verify", "confirm")
    expect_json(srv.post("/v1/email/verify", json={"token": new_token}), 200)
    assert expect_json(srv.me(tok), 200)["email_verified"] is True


def test_password_reset_for_unknown_address_is_202_and_sends_nothing(mail_server):
    srv = mail_server
    ghost = new_email()
    r = srv.post("/v1/password-reset", json={"email": ghost})
    assert r.status_code == 202 and r.text == ""
    r = srv.post("/v1/password-reset", json={"email": "not an address"})
    assert r.status_code == 202
    time.sleep(1.0)
    assert srv.mailbox.to(ghost) == []


def test_password_reset_end_to_end(mail_server):
    srv = mail_server
    u = srv.create_account()
    a = u.login(client="ios")
    b = u.login(client="android")
    r = srv.post("/v1/password-reset", json={"email": u.email})
    assert r.status_code == 202 and r.text == ""
    token = srv.mailbox.token(u.email, "reset", "reset")
    assert token.startswith("sh_pr_")
    # a weak password does not use the token up
    assert_problem(srv.post("/v1/password-reset/confirm",
                            json={"token": token, "new_password": "short"}), 400, "weak_password")
    nxt = new_password()
    expect_status(srv.post("/v1/password-reset/confirm",
                           json={"token": token, "new_password": nxt}), 204)
    # every session ended: access and refresh tokens
    for s in (a, b):
        assert srv.wait_token_dead(s["access_token"])
        ok, _ = srv.refresh_ok(s["refresh_token"])
        assert not ok
    assert_problem(srv.login_raw(u.email, u.password), 401, "invalid_credentials")
    expect_json(srv.login_raw(u.email, nxt), 200)
    # single use
    assert_problem(srv.post("/v1/password-reset/confirm",
                            json={"token": token, "new_password": new_password()}),
                   401, "invalid_token")
    assert srv.mailbox.wait(u.email, "password was changed")


def test_password_reset_tokens_die_with_the_first_use(mail_server):
    srv = mail_server
    u = srv.create_account()
    expect_status(srv.post("/v1/password-reset", json={"email": u.email}), 202)
    expect_status(srv.post("/v1/password-reset", json={"email": u.email}), 202)
    msgs = srv.mailbox.wait(u.email, "reset", count=2)
    import re
    tokens = [re.search(r"token: (sh_pr_\S+)", m.get_content()).group(1) for m in msgs]
    assert len(set(tokens)) == 2
    expect_status(srv.post("/v1/password-reset/confirm",
                           json={"token": tokens[1], "new_password": new_password()}), 204)
    assert_problem(srv.post("/v1/password-reset/confirm",
                            json={"token": tokens[0], "new_password": new_password()}),
                   401, "invalid_token")


def test_password_reset_keeps_two_factor_on(mail_server):
    srv = mail_server
    u = srv.create_account()
    enable_mfa(srv, u)
    expect_status(srv.post("/v1/password-reset", json={"email": u.email}), 202)
    token = srv.mailbox.token(u.email, "reset", "reset")
    u.password = new_password()
    expect_status(srv.post("/v1/password-reset/confirm",
                           json={"token": token, "new_password": u.password}), 204)
    body = expect_json(srv.login_raw(u.email, u.password), 200)
    assert body.get("mfa_required") is True
    login_2fa(srv, u)


def test_security_notices(mail_server):
    srv = mail_server
    u = srv.create_account()
    tok = u.login()["access_token"]
    enable_mfa(srv, u, tok)
    assert srv.mailbox.wait(u.email, "two-factor sign-in is on")
    expect_status(srv.req("DELETE", "/v1/me/mfa/totp", token=tok,
                          json={"password": u.password, "code": u.totp.code()}), 204)
    assert srv.mailbox.wait(u.email, "two-factor sign-in is off")
    nxt = new_password()
    expect_status(srv.post("/v1/me/password", token=tok,
                           json={"current_password": u.password, "new_password": nxt}), 204)
    assert srv.mailbox.wait(u.email, "password was changed")


def test_new_login_alert_only_for_unseen_clients(mail_server):
    srv = mail_server
    u = srv.create_account()
    u.login(client="web")                       # the first login ever: no alert
    u.login(client="web")                       # seen
    time.sleep(1.0)
    assert srv.mailbox.to(u.email, "new sign-in") == []
    u.login(client="android", device_name="Pixel of Ann")
    msg = srv.mailbox.wait(u.email, "new sign-in")[-1]
    body = msg.get_content()
    assert "android" in body and "Pixel of Ann" in body
    u.login(client="android", device_name="Pixel of Ann")
    u.login(client="web")
    time.sleep(1.0)
    assert len(srv.mailbox.to(u.email, "new sign-in")) == 1
    u.login(client="android", device_name="Another phone")
    srv.mailbox.wait(u.email, "new sign-in", count=2)


def test_new_login_alert_for_two_factor_login(mail_server):
    srv = mail_server
    u = srv.create_account()
    enable_mfa(srv, u)   # logs in once with web
    login_2fa(srv, u, client="ios", device_name="iPad")
    msg = srv.mailbox.wait(u.email, "new sign-in")[-1]
    assert "iPad" in msg.get_content()


def test_outbox_is_sealed_and_logs_carry_no_values(mail_server):
    srv = mail_server
    u = srv.create_account()
    expect_status(srv.post("/v1/password-reset", json={"email": u.email}), 202)
    token = srv.mailbox.token(u.email, "reset", "reset")
    verify = srv.mailbox.token(u.email, "verify", "confirm")
    for name, data in srv.store_blobs().items():
        for secret in (u.email, token, verify):
            assert secret.encode() not in data, "%s in the store (%s)" % (secret[:12], name)
    log = srv.log_bytes()
    for secret in (u.email, token, verify, u.password):
        assert secret.encode() not in log, "%s in the log" % secret[:12]
    # sent messages leave the outbox
    left = srv.db_query("SELECT count(*) FROM mail_outbox WHERE user_id = ?",
                        (bytes.fromhex(u.id),))
    assert left == [(0,)]


def test_deleted_account_leaves_no_mail_behind(mail_server):
    srv = mail_server
    u = srv.create_account()
    tok = u.login()["access_token"]
    expect_status(srv.req("DELETE", "/v1/me", token=tok), 204)
    for table in ("mail_outbox", "user_tokens", "known_logins", "mfa_totp"):
        rows = srv.db_query("SELECT count(*) FROM %s WHERE user_id = ?" % table,
                            (bytes.fromhex(u.id),))
        assert rows == [(0,)], table


def test_sender_retries_when_the_smtp_server_fails(server_factory, tmp_path):
    from conftest import SmtpSink
    from mfa_support import Mailbox
    sink = SmtpSink(str(tmp_path), fail_first=2)
    try:
        srv = server_factory(name="retry", extra_args=["--smtp-url", sink.url])
        u = srv.create_account()
        box = Mailbox(sink.dir)
        box.wait(u.email, "confirm", timeout=20)
        assert any(e.get("event") == "mail_retry" for e in srv.log_events())
    finally:
        sink.stop()


def test_spool_without_smtp(server_factory):
    srv = server_factory(name="spool")
    ev = [e for e in srv.log_events() if e.get("event") == "mail_spool"]
    assert ev and ev[0]["dir"].endswith("mail-spool"), ev
    u = srv.create_account()
    spool = os.path.join(srv.data_dir, "mail-spool")

    def files():
        return [f for f in os.listdir(spool) if f.endswith(".eml")] if os.path.isdir(spool) else []
    from conftest import wait_until
    assert wait_until(files, timeout=10)
    with open(os.path.join(spool, files()[0]), "rb") as f:
        raw = f.read()
    assert b"Subject: Confirm your e-mail address" in raw and u.email.encode() in raw
    assert (os.stat(os.path.join(spool, files()[0])).st_mode & 0o077) == 0
