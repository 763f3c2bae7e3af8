"""Helpers for the two-factor, step-up, limit and mail tests (test_11..test_19).

TOTP codes are computed with the `oathtool` command (Debian package
oathtool), independently of the server's own code. Mail is read from the
SMTP sink in tests/support/smtp_sink.py, started by the `mail_sink`
fixture in conftest.py.
"""

import email
import email.policy
import os
import re
import subprocess
import time

from conftest import expect_json, wait_until

STEP = 30
TOKEN_RE = {
    "verify": re.compile(r"^token: (sh_ev_[A-Za-z0-9_-]+)\s*$", re.M),
    "reset": re.compile(r"^token: (sh_pr_[A-Za-z0-9_-]+)\s*$", re.M),
}


def oathtool(secret, at=None):
    """The 6-digit TOTP code for base32 secret at unix time `at` (default now)."""
    cmd = ["oathtool", "--totp", "-b"]
    if at is not None:
        cmd += ["-N", "@%d" % int(at)]
    out = subprocess.run(cmd + [secret], capture_output=True, text=True, timeout=10, check=True)
    code = out.stdout.strip()
    assert re.match(r"^\d{6}$", code), out
    return code


class Totp:
    """A user's authenticator: hands out codes for steps never used before
    (the server accepts each step once), waiting for the clock if needed."""

    def __init__(self, secret, last_step=None):
        self.secret = secret
        self.last = last_step if last_step is not None else int(time.time()) // STEP

    def code(self):
        """The earliest unused step the server accepts now: the previous step too, unless
        the clock is about to move on (then that code would be two steps old on arrival).
        Three codes per 30 s come without waiting; a fourth waits for the clock."""
        while True:
            t = time.time()
            now_step = int(t) // STEP
            lowest = now_step - 1 if t % STEP < STEP - 4 else now_step
            step = max(lowest, self.last + 1)
            if step <= now_step + 1:
                break
            time.sleep(1)
        self.last = step
        return oathtool(self.secret, step * STEP + 1)


def enrol(srv, token):
    r = srv.post("/v1/me/mfa/totp", token=token)
    return expect_json(r, 200)


def enable_mfa(srv, user, token=None):
    """Turns 2FA on for user; returns (Totp, recovery codes)."""
    token = token or user.login()["access_token"]
    e = enrol(srv, token)
    t = Totp(e["secret"], last_step=int(time.time()) // STEP - 2)
    r = srv.post("/v1/me/mfa/totp/confirm", token=token, json={"code": t.code()})
    body = expect_json(r, 200)
    user.totp = t
    user.recovery = list(body["recovery_codes"])
    return t, user.recovery


def login_challenge(srv, user, client="web", device_name=None):
    body = expect_json(srv.login_raw(user.email, user.password, client, device_name), 200)
    assert body.get("mfa_required") is True, body
    assert "access_token" not in body and "refresh_token" not in body, body
    return body


def mfa_raw(srv, mfa_token, code=None, recovery_code=None, client=None, **kw):
    body = {"mfa_token": mfa_token}
    if code is not None:
        body["code"] = code
    if recovery_code is not None:
        body["recovery_code"] = recovery_code
    if client is not None:
        body["client"] = client
    return srv.post("/v1/sessions/mfa", json=body, **kw)


def login_2fa(srv, user, client="web", recovery=False, device_name=None):
    """Full two-factor login: password, then a fresh code (or a recovery code)."""
    ch = login_challenge(srv, user, client, device_name)
    if recovery:
        r = mfa_raw(srv, ch["mfa_token"], recovery_code=user.recovery.pop())
    else:
        r = mfa_raw(srv, ch["mfa_token"], code=user.totp.code())
    return expect_json(r, 200)


# ---- mail ------------------------------------------------------------------------


class Mailbox:
    """The messages the SMTP sink wrote into its directory."""

    def __init__(self, directory):
        self.dir = directory

    def all(self):
        out = []
        for name in sorted(os.listdir(self.dir)):
            if not name.endswith(".eml"):
                continue
            with open(os.path.join(self.dir, name), "rb") as f:
                raw = f.read()
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            out.append((name, raw, msg))
        return out

    def to(self, address, subject_has=None):
        found = []
        for name, raw, msg in self.all():
            rcpt = msg.get("X-Sink-Rcpt", "")
            if address.lower() not in [a.strip().lower() for a in rcpt.split(",")]:
                continue
            if subject_has and subject_has.lower() not in str(msg["Subject"]).lower():
                continue
            found.append(msg)
        return found

    def wait(self, address, subject_has=None, count=1, timeout=10.0):
        msgs = wait_until(lambda: len(self.to(address, subject_has)) >= count and
                          self.to(address, subject_has), timeout=timeout)
        assert msgs, "no message to %s with %r within %.0f s; mailbox: %s" % (
            address, subject_has, timeout,
            [(str(m["To"]), str(m["Subject"])) for _, _, m in self.all()])
        return msgs

    def token(self, address, kind, subject_has=None):
        msg = self.wait(address, subject_has)[-1]
        body = msg.get_content()
        m = TOKEN_RE[kind].findall(body)
        assert m, "no %s token in message body: %r" % (kind, body)
        return m[-1]
