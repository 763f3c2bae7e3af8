"""`safehouse admin migrate-store`: moving an installation from SQLite to
PostgreSQL (and back).

A SQLite server gets accounts, sessions, a two-factor user, a claimed device
with a share, a partner link and a revocation rule; it stops; the store is
copied into a fresh PostgreSQL database; a server on that database with the
same data dir (so the same master key) must then know everyone and
everything: passwords, second factors, tokens issued before, the rule's
refusal, devices, shares, the partner's tokens and the admin token. A second
copy into the now non-empty database is refused and changes nothing.

Runs whatever SAFEHOUSE_TEST_STORE is: the source is always SQLite, the
target always a database of the run's PostgreSQL cluster (pg_cluster()).
"""

import json
import os
import shutil
import sqlite3
import tempfile

import pytest

from conftest import (SANITIZER_MARKERS, Server, assert_problem, expect_json, pg_cluster,
                      wait_until)
from devkit import claim, dev_get, dev_list, heartbeat, provision, share, shares, tok
from mfa_support import enable_mfa, login_2fa
from oauthkit import ALEXA_URI, GOOGLE_URI, link, partner_devices, refresh, register_client

# Every table of the schema, as store/tables.c lists them.
TABLES = ("users", "sessions", "refresh_tokens", "revocation_rules", "meta", "devices",
          "device_shares", "relays", "mfa_totp", "mfa_recovery", "mfa_challenges", "user_tokens",
          "known_logins", "mail_outbox", "oauth_clients", "oauth_codes", "oauth_grants",
          "oauth_grant_devices", "oauth_refresh_tokens", "limit_buckets")


def start(factory, tmp_path_factory, name, data_dir, store_url, admin_token=None):
    """A server on data_dir with the given store (None: the SQLite file in
    data_dir), whatever SAFEHOUSE_TEST_STORE says; stopped by the factory."""
    srv = Server(data_dir, str(tmp_path_factory.mktemp(name)), name=name)
    srv.store_url = store_url
    srv.admin_token = admin_token  # a migrated store prints no new one
    factory.servers.append(srv)
    return srv.start()


def migrate(srv, src, dst):
    p = srv.cli("admin", "migrate-store", "--from", src, "--to", dst, data_dir=False,
                timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    for m in SANITIZER_MARKERS:
        assert m not in err, "sanitizer report from migrate-store:\n" + err
    return p, err


def sqlite_snapshot(path, columns):
    """{table: sorted rows} of a SQLite store (on a copy: never the live
    files), with the given columns of each table."""
    tmp = tempfile.mkdtemp(prefix="shmig-")
    try:
        for suffix in ("", "-wal"):
            if os.path.exists(path + suffix):
                shutil.copyfile(path + suffix, os.path.join(tmp, "db" + suffix))
        con = sqlite3.connect(os.path.join(tmp, "db"))
        try:
            return {t: sorted(con.execute("SELECT %s FROM %s" % (",".join(columns[t]), t))
                              .fetchall(), key=repr)
                    for t in TABLES}
        finally:
            con.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sqlite_columns(path, table):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return [r[1] for r in con.execute("PRAGMA table_info(%s)" % table)]
    finally:
        con.close()


def pg_rows(key, sql):
    con = pg_cluster().connect(key)
    try:
        cur = con.cursor()
        cur.execute(sql)
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in cur.fetchall()]
    finally:
        con.close()


def pg_snapshot(key, columns):
    """The same for a PostgreSQL store."""
    return {t: sorted(pg_rows(key, "SELECT %s FROM %s" % (",".join(columns[t]), t)), key=repr)
            for t in TABLES}


def pg_counts(key):
    return {t: pg_rows(key, "SELECT count(*) FROM %s" % t)[0][0] for t in TABLES}


def counts(snapshot):
    return {t: len(rows) for t, rows in snapshot.items()}


def test_migrate_store_sqlite_to_postgres(server_factory, tmp_path_factory):
    pg = pg_cluster()
    data_dir = os.path.join(str(tmp_path_factory.mktemp("mig-data")), "data")
    src = start(server_factory, tmp_path_factory, "mig-sqlite", data_dir, None)
    db_path = os.path.join(data_dir, "safehouse.db")
    src_url = "sqlite:" + db_path

    # ---- an installation with a bit of everything ----------------------------
    owner = src.new_user(display_name="Owner Migrated")
    friend = src.new_user()
    mfa_user = src.create_account()
    enable_mfa(src, mfa_user)
    revoked = src.new_user()
    dev = provision(src, "camera")
    d = claim(src, tok(owner), dev["claim_code"], name="Hall camera")
    heartbeat(src, dev["device_token"], firmware="2.1.0")
    share(src, tok(owner), d["id"], friend.email, "viewer")
    # text that COPY must escape: a backslash, and the newline between URIs
    client = register_client(src, name="Back\\slash Ünïcode partner",
                             uris=(ALEXA_URI, GOOGLE_URI))
    partner = link(src, owner, client, [d["id"]])
    p = src.cli("admin", "revoke", "--user", revoked.id)
    assert p.returncode == 0, p.stderr
    old_session = revoked.sessions[-1]
    assert wait_until(lambda: not src.token_ok(old_session["access_token"]))
    src.stop_ok()

    # the columns both backends have; seq is the target's to number
    columns = {t: [c for c in sqlite_columns(db_path, t) if (t, c) != ("revocation_rules", "seq")]
               for t in TABLES}
    source = sqlite_snapshot(db_path, columns)
    partner_row = dict(zip(columns["oauth_clients"], source["oauth_clients"][0]))
    assert "\\" in partner_row["name"] and "\n" in partner_row["redirect_uris"], partner_row
    for t in ("users", "sessions", "refresh_tokens", "revocation_rules", "meta", "devices",
              "device_shares", "mfa_totp", "mfa_recovery", "oauth_clients", "oauth_grants",
              "oauth_grant_devices", "oauth_refresh_tokens"):
        assert source[t], "the source has no row in %s: the test would prove nothing" % t

    # ---- the copy --------------------------------------------------------------
    p = src.cli("admin", "migrate-store", "--help", data_dir=False)
    assert p.returncode == 0 and b"--from" in p.stdout and b"--to" in p.stdout, p

    target_key = data_dir + "#target"
    target_url = pg.url_for(target_key)
    p, err = migrate(src, src_url, target_url)
    assert p.returncode == 0, err
    summary = json.loads(p.stdout.decode())
    assert summary == {"tables": counts(source), "rows": sum(counts(source).values())}, summary
    assert list(summary["tables"]) == list(TABLES)

    # every row arrived as it was: same values, same bytes
    assert pg_snapshot(target_key, columns) == source
    assert pg_counts(target_key) == summary["tables"]
    # the rules keep their order (PostgreSQL numbers them itself)
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    order = [r[0] for r in con.execute("SELECT id FROM revocation_rules ORDER BY seq")]
    con.close()
    assert [r[0] for r in pg_rows(target_key, "SELECT id FROM revocation_rules ORDER BY seq")] \
        == order

    # ---- and back: PostgreSQL to a new SQLite file gives the same rows ---------
    back = os.path.join(str(tmp_path_factory.mktemp("mig-back")), "back.db")
    p, err = migrate(src, target_url, "sqlite:" + back)
    assert p.returncode == 0, err
    assert json.loads(p.stdout.decode()) == summary
    assert sqlite_snapshot(back, columns) == source

    # ---- a server on PostgreSQL, same data dir: everything still works ------
    srv = start(server_factory, tmp_path_factory, "mig-pg", data_dir, target_url,
                admin_token=src.admin_token)
    assert srv.stdout_text().strip() == "", "a migrated store has its admin token already"
    for u in (owner, friend, mfa_user, revoked):
        u.server = srv
    # sessions from before: access and refresh tokens
    s = owner.sessions[-1]
    assert srv.token_ok(s["access_token"])
    expect_json(srv.refresh_raw(s["refresh_token"]), 200)
    # passwords and the second factor
    owner.login()
    body = login_2fa(srv, mfa_user)
    assert srv.token_ok(body["access_token"])
    # the rule still refuses what it refused, and nothing else
    assert_problem(srv.me(old_session["access_token"]), 401, "invalid_token")
    assert_problem(srv.refresh_raw(old_session["refresh_token"]), 401, "invalid_token")
    assert srv.token_ok(revoked.login()["access_token"])
    # the device, its sealed name, its token, its share
    got = expect_json(dev_get(srv, tok(owner), d["id"]), 200)
    assert got["name"] == "Hall camera" and got["firmware_version"] == "2.1.0", got
    heartbeat(srv, dev["device_token"])
    assert [x["email"] for x in shares(srv, tok(owner), d["id"])] == [friend.email]
    friend.login()
    assert dev_list(srv, tok(friend))[d["id"]]["role"] == "viewer"
    # the partner: its access token, then its refresh token
    r = partner_devices(srv, partner["access_token"])
    assert r.status_code == 200 and [x["id"] for x in r.json()["devices"]] == [d["id"]], r.text
    r = refresh(srv, client, partner["refresh_token"])
    assert r.status_code == 200, r.text
    # the admin token
    rules = expect_json(srv.admin_req("GET", "/admin/v1/revocations"), 200)["rules"]
    assert revoked.id in [x["value"] for x in rules], rules
    srv.stop_ok()

    # ---- a second copy into the now non-empty target is refused --------------
    before = pg_snapshot(target_key, columns)
    p, err = migrate(src, src_url, target_url)
    assert p.returncode != 0 and p.stdout == b"", (p.returncode, p.stdout)
    assert "not empty" in err, err
    assert pg_snapshot(target_key, columns) == before


def test_migrate_store_refuses_an_unknown_table(server_factory, tmp_path_factory):
    """A table the copy does not know fails loudly instead of being left behind."""
    data_dir = os.path.join(str(tmp_path_factory.mktemp("mig-extra")), "data")
    src = start(server_factory, tmp_path_factory, "mig-extra", data_dir, None)
    src.new_user()
    src.stop_ok()
    db_path = os.path.join(data_dir, "safehouse.db")
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE gadgets (id BLOB PRIMARY KEY)")
    con.commit()
    con.close()
    key = data_dir + "#target"
    p, err = migrate(src, "sqlite:" + db_path, pg_cluster().url_for(key))
    assert p.returncode != 0 and p.stdout == b"", (p.returncode, p.stdout)
    assert "gadgets" in err, err
    assert set(pg_counts(key).values()) == {0}


@pytest.mark.parametrize("args", [
    [],
    ["--from", "sqlite:/nonexistent/x.db"],
    ["--to", "sqlite:/tmp/x.db"],
    ["--from", "sqlite:/tmp/a.db", "--to", "sqlite:/tmp/a.db"],
    ["--from", "sqlite:/tmp/a.db", "--to", "sqlite:/tmp/b.db", "extra"],
])
def test_migrate_store_usage(server, args):
    p = server.cli("admin", "migrate-store", *args, data_dir=False)
    assert p.returncode == 2 and p.stdout == b"", p
    assert b"safehouse" in p.stderr, p


def test_migrate_store_missing_source(server, tmp_path):
    missing = str(tmp_path / "missing.db")
    p = server.cli("admin", "migrate-store", "--from", "sqlite:" + missing,
                   "--to", "sqlite:" + str(tmp_path / "t.db"), data_dir=False)
    assert p.returncode == 1 and b"no source store" in p.stderr, p
    assert not os.path.exists(missing), "a mistyped source must not become a new store"
