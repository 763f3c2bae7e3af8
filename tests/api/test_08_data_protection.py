"""Promise P1 (nothing personal or secret in clear in the store's files - SQLite's database
and WAL, PostgreSQL's dump, heap, WAL and log - or the logs), P2 (no unkeyed token or e-mail
hashes), master key handling, Argon2id and re-hashing."""

import base64
import hashlib
import os
import stat
import uuid

import pytest

from conftest import (assert_problem, expect_json, expect_status, wait_until)


def h():
    return uuid.uuid4().hex


def unkeyed_digests(value):
    b = value.encode()
    return [hashlib.sha256(b).digest(), hashlib.blake2b(b, digest_size=32).digest(),
            hashlib.blake2b(b, digest_size=16).digest(), hashlib.sha256(b).hexdigest().encode(),
            hashlib.sha512(b).digest()[:32]]


@pytest.fixture(scope="module")
def leak(module_server_factory):
    """One server on which every kind of personal and secret value goes through the API."""
    srv = module_server_factory(name="dataprot")
    c = {}
    c["email_in"] = "  Canary.%s@Canary-%s.Example " % (h()[:20], h()[:12])
    c["name"] = "DisplayCanary-%s" % h()
    c["password"] = "PwCanary-%s!" % h()
    r = srv.create_account_raw(c["email_in"], c["password"], c["name"])
    body = expect_json(r, 201)
    c["email"] = body["email"]
    c["local"], c["domain"] = c["email"].split("@")
    uid = body["id"]
    tokens = []
    c["device"] = "DeviceCanary-%s" % h()
    s1 = srv.login(c["email"], c["password"], client="android", device_name=c["device"])
    c["device2"] = "OtherDevice-%s" % h()
    s2 = srv.login(c["email"], c["password"], client="web", device_name=c["device2"])
    tokens += [s1["access_token"], s1["refresh_token"], s2["access_token"], s2["refresh_token"]]
    r1 = expect_json(srv.refresh_raw(s1["refresh_token"]), 200)
    tokens += [r1["access_token"], r1["refresh_token"]]
    # reuse detection path (logs a security event: it must not contain the token)
    assert_problem(srv.refresh_raw(s1["refresh_token"]), 401, "invalid_token")
    # PATCH name, password change
    c["name2"] = "PatchedName-%s" % h()
    c["device3"] = "Dev3Canary-%s" % h()
    s3 = srv.login(c["email"], c["password"], client="ios", device_name=c["device3"])
    tokens += [s3["access_token"], s3["refresh_token"]]
    expect_json(srv.req("PATCH", "/v1/me", token=s3["access_token"], json={"display_name": c["name2"]}), 200)
    c["password2"] = "NewPwCanary-%s!" % h()
    expect_status(srv.post("/v1/me/password", token=s3["access_token"],
                           json={"current_password": c["password"], "new_password": c["password2"]}), 204)
    # failures carrying personal or secret values
    c["wrong_pw"] = "WrongPwCanary-%s" % h()
    assert_problem(srv.login_raw(c["email"], c["wrong_pw"]), 401, "invalid_credentials")
    c["ghost"] = "ghost.%s@ghost-%s.example" % (h()[:16], h()[:8])
    assert_problem(srv.login_raw(c["ghost"], c["wrong_pw"]), 401, "invalid_credentials")
    c["bad_email"] = "invalidcanary-%s-no-at-sign" % h()
    assert_problem(srv.create_account_raw(c["bad_email"], "Pw-" + h()), 400, "invalid_email")
    c["weak_pw"] = ("WeakCanary%s" % h()) * 8     # > 256 chars
    assert_problem(srv.create_account_raw("weak.%s@example.com" % h(), c["weak_pw"]), 400, "weak_password")
    c["dup_pw"] = "DupPwCanary-%s" % h()
    assert_problem(srv.create_account_raw(c["email"], c["dup_pw"]), 409, "email_taken")
    forged = s3["access_token"][:-4] + "AAAA"
    assert_problem(srv.me(forged), 401, "invalid_token")
    tokens.append(forged)
    # an IDN account
    c["idn_in"] = "idn.%s@Ünïcödé-%s.de" % (h()[:12], h()[:8])
    c["idn_name"] = "Ñame-%s" % h()
    body = expect_json(srv.create_account_raw(c["idn_in"], c["password2"], c["idn_name"]), 201)
    c["idn"] = body["email"]
    assert "xn--" in c["idn"], c["idn"]
    s4 = srv.login(c["idn"], c["password2"], client="cli")
    tokens += [s4["access_token"], s4["refresh_token"]]
    expect_json(srv.me(s4["access_token"]), 200)
    expect_json(srv.get("/v1/sessions", token=s4["access_token"]), 200)
    # admin side
    rule = expect_json(srv.admin_req("POST", "/admin/v1/revocations",
                                     json={"scope": "session", "value": s2["session_id"]}), 201)
    assert rule["scope"] == "session"
    tokens.append(srv.admin_token)
    canaries = dict(c)
    canaries["email_lower"] = c["email"].lower()
    canaries["email_in_trimmed"] = c["email_in"].strip()
    canaries["weak_pw"] = c["weak_pw"][:60]
    canaries["idn_in_unicode_domain"] = c["idn_in"].split("@")[1]
    return {"srv": srv, "canaries": canaries, "tokens": tokens, "user_id": uid}


def _scan(blobs, leak):
    found = []
    for fname, data in blobs.items():
        low = data.lower()
        for name, value in leak["canaries"].items():
            for variant in {value, value.lower()}:
                enc = variant.encode("utf-8")
                if enc.lower() in low:
                    found.append("%s: canary %s (%r)" % (fname, name, variant))
                if enc.hex().encode() in low:
                    found.append("%s: hex of canary %s" % (fname, name))
            if len(value) >= 6:
                b64 = base64.b64encode(value.encode())[:-4]
                if len(b64) >= 8 and b64 in data:
                    found.append("%s: base64 of canary %s" % (fname, name))
        for tok in leak["tokens"]:
            if tok.encode() in data:
                found.append("%s: token %s..." % (fname, tok[:10]))
            # the token's secret part without its prefix
            if len(tok) > 16 and tok[6:].encode() in data:
                found.append("%s: token body %s..." % (fname, tok[:10]))
    return found


def test_no_canary_in_database_wal_or_log_while_running(leak):
    srv = leak["srv"]
    blobs = srv.store_blobs()
    blobs["stderr log"] = srv.log_bytes()
    blobs["stdout"] = srv.stdout_text(start=1).replace(srv.admin_token, "").encode()
    found = _scan(blobs, leak)
    assert not found, "personal or secret values in clear:\n" + "\n".join(found)


def test_no_unkeyed_hashes_of_tokens_or_emails(leak):
    srv = leak["srv"]
    blobs = srv.store_blobs()
    found = []
    values = list(leak["tokens"]) + [leak["canaries"]["email"], leak["canaries"]["email_lower"],
                                     leak["canaries"]["password"], leak["canaries"]["password2"]]
    for fname, data in blobs.items():
        for v in values:
            for d in unkeyed_digests(v):
                if d in data:
                    found.append("%s: unkeyed digest of %s..." % (fname, v[:10]))
    assert not found, "\n".join(found)


def test_passwords_are_argon2id(leak):
    srv = leak["srv"]
    rows = srv.db_query("SELECT password FROM users")
    assert len(rows) >= 2
    for (pw,) in rows:
        assert isinstance(pw, str) and pw.startswith("$argon2id$"), pw
        assert "$v=19$" in pw and "m=19456,t=2,p=1" in pw, pw
    # each hash is salted: two rows never share a hash
    assert len({r[0] for r in rows}) == len(rows)
    stored = srv.stored_password(leak["user_id"])
    assert leak["canaries"]["password2"] not in stored


def test_personal_columns_are_blobs_not_text(leak):
    srv = leak["srv"]
    rows = srv.db_query("SELECT typeof(email_idx), typeof(email_ct), typeof(name_ct), length(email_ct) "
                        "FROM users")
    assert rows
    for idx_t, ct_t, name_t, ct_len in rows:
        assert idx_t == "blob" and ct_t == "blob", rows
        assert name_t in ("blob", "null"), rows
        assert ct_len > len("a@b.c") + 16, "e-mail ciphertext too short to be sealed"
    # the same e-mail ciphertext is never reused between rows (unique nonces)
    cts = srv.db_query("SELECT email_ct FROM users")
    assert len({bytes(c[0]) for c in cts}) == len(cts)


def test_master_key_file(leak):
    srv = leak["srv"]
    path = os.path.join(srv.data_dir, "master.key")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
    assert st.st_uid == os.getuid()
    with open(path, "rb") as f:
        content = f.read().strip()
    assert len(content) == 64
    raw = bytes.fromhex(content.decode())
    blobs = srv.store_blobs()
    blobs["stderr log"] = srv.log_bytes()
    blobs["stdout"] = srv.stdout_text(start=1).encode()
    for fname, data in blobs.items():
        assert content.lower() not in data.lower(), "master key (hex) in " + fname
        assert raw not in data, "master key (raw) in " + fname
        assert raw[:16] not in data, "half of the master key (raw) in " + fname


def test_no_canary_after_shutdown_checkpoint(leak):
    """Stopping checkpoints the WAL into the main file (on PostgreSQL store_blobs asks for a
    CHECKPOINT): still nothing in clear, in the store or any other file of the data dir."""
    srv = leak["srv"]
    srv.stop_ok()
    blobs = srv.store_blobs()
    for name in os.listdir(srv.data_dir):
        p = os.path.join(srv.data_dir, name)
        if os.path.isfile(p) and name not in ("master.key",) and name not in {k for k in blobs}:
            with open(p, "rb") as f:
                blobs[name] = f.read()
    found = _scan(blobs, leak)
    assert not found, "personal or secret values in clear after shutdown:\n" + "\n".join(found)
    # and the data is all still there after a restart
    srv.start()
    c = leak["canaries"]
    s = srv.login(c["email"], c["password2"])
    me = expect_json(srv.me(s["access_token"]), 200)
    assert me["email"] == c["email"] and me["display_name"] == c["name2"]


def test_rehash_on_login_after_cost_raised(server_factory):
    srv = server_factory(["--argon2-ops", "1", "--argon2-mem-kib", "8192"], name="rehash")
    warnings = [e for e in srv.log_events() if str(e.get("level", "")).lower() in ("warn", "warning")]
    assert warnings, "no warning logged for weak Argon2 parameters:\n" + srv.log_text()[:2000]
    u = srv.create_account()
    weak = srv.stored_password(u.id)
    assert weak.startswith("$argon2id$") and "m=8192,t=1" in weak, weak
    srv.restart(extra_args=[])
    assert srv.stdout_text().strip() == "", "admin token printed again on a later start"
    s = srv.login(u.email, u.password)
    assert srv.token_ok(s["access_token"])
    strong = wait_until(lambda: "m=19456,t=2" in srv.stored_password(u.id) and srv.stored_password(u.id),
                        timeout=3.0)
    assert strong, "password not re-hashed at login: %s" % srv.stored_password(u.id)
    assert strong.startswith("$argon2id$") and strong != weak
    # the re-hashed password still works, the wrong one still fails
    srv.login(u.email, u.password)
    assert_problem(srv.login_raw(u.email, u.password + "!"), 401, "invalid_credentials")
    # a failed login does not re-hash anything
    assert srv.stored_password(u.id) == strong


def test_tokens_bound_to_server_keys(leak, server):
    """A token minted by one installation (another master key) is worthless on another."""
    u = server.new_user()
    s = u.sessions[0]
    srv = leak["srv"]
    assert_problem(srv.me(s["access_token"]), 401, "invalid_token")
    assert_problem(srv.refresh_raw(s["refresh_token"]), 401, "invalid_token")
    assert_problem(srv.admin_req("GET", "/admin/v1/revocations", token=server.admin_token), 401, "invalid_token")
    assert server.token_ok(s["access_token"])


def test_moved_ciphertext_is_not_accepted(server_factory):
    """P2: a sealed field copied to another row (or user) must not decrypt there."""
    srv = server_factory(name="moved-ct")
    a = srv.create_account(display_name="NameOfA-%s" % h())
    b = srv.create_account(display_name="NameOfB-%s" % h())
    dev1 = "DevOne-%s" % h()
    a1 = a.login("android", device_name=dev1)
    a2 = a.login("ios", device_name="DevTwo-%s" % h())
    b1 = b.login("web")
    srv.stop_ok()
    aid, bid = bytes.fromhex(a.id), bytes.fromhex(b.id)
    changed = srv.db_execute("UPDATE users SET name_ct = (SELECT name_ct FROM users WHERE id = ?), "
                             "email_ct = (SELECT email_ct FROM users WHERE id = ?) WHERE id = ?",
                             (aid, aid, bid))
    changed += srv.db_execute("UPDATE sessions SET device_name_ct = "
                              "(SELECT device_name_ct FROM sessions WHERE id = ?) WHERE id = ?",
                              (bytes.fromhex(a1["session_id"]), bytes.fromhex(a2["session_id"])))
    assert changed == 2
    srv.start()
    r = srv.me(b1["access_token"])
    if r.status_code == 200:
        me = r.json()
        assert me["display_name"] != a.display_name, "A's sealed name opened as B's"
        assert me["email"] != a.email, "A's sealed e-mail opened as B's"
    else:
        assert r.headers.get("Content-Type", "").startswith("application/problem+json"), r.text
        assert r.status_code >= 500, r.text
    r = srv.get("/v1/sessions", token=a1["access_token"])
    if r.status_code == 200:
        names = {x["id"]: x["device_name"] for x in r.json()["sessions"]}
        assert names.get(a2["session_id"]) != dev1, "a device name moved to another session opened"
        assert names.get(a1["session_id"]) == dev1
    else:
        assert r.status_code >= 500, r.text
    # the untouched account is unaffected and the server is healthy
    me = expect_json(srv.me(a1["access_token"]), 200)
    assert me["display_name"] == a.display_name and me["email"] == a.email
    expect_json(srv.get("/healthz"), 200)
