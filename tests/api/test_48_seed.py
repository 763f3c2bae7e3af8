"""`safehouse seed`: the synthetic population the benchmarks run on.

Seeds a store (either backend), then checks it as a server sees it: the
counts it printed are the rows stored, a seeded user logs in with the seed's
password and sees their 2 or 3 devices, e-mails are sealed like real ones,
each table's ids ascend in the order the rows were made (the load goes in
key order) while still differing in their random halves, and a second seed
of the same users changes nothing.
"""

import json

from conftest import SANITIZER_MARKERS, expect_json
from devkit import dev_list

PW = "seed test password 1"
USERS = 300


def seed(srv, users=USERS):
    p = srv.cli("seed", "--users", str(users), "--password", PW, timeout=300)
    err = p.stderr.decode("utf-8", "replace")
    for m in SANITIZER_MARKERS:
        assert m not in err, "sanitizer report from seed:\n" + err
    assert p.returncode == 0, err
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def count(srv, table):
    return srv.db_query("SELECT count(*) FROM %s" % table)[0][0]


def test_seeded_store_is_whole_and_usable(server_factory):
    srv = server_factory(name="seeded", start=False)
    out = seed(srv)
    assert out["users"] == USERS and out["sessions"] == 2 * USERS, out
    srv.start()
    assert count(srv, "users") == USERS
    assert count(srv, "sessions") == 2 * USERS
    assert count(srv, "devices") == out["devices"] == USERS // 2 * 5
    # user7 (odd) owns 3 devices, user8 (even) 2; devices the next user
    # shares with them (seed shares every fourth) list as a viewer's
    for i, n in ((7, 3), (8, 2)):
        body = expect_json(srv.login_raw("user%d@seed.invalid" % i, PW, "cli"), 200)
        devs = dev_list(srv, body["access_token"]).values()
        assert sum(d["role"] == "owner" for d in devs) == n, devs
        assert all(d["role"] in ("owner", "viewer") for d in devs), devs
    r = srv.login_raw("user7@seed.invalid", "not the seed password", "cli")
    assert r.status_code == 401, r.text
    for name, blob in srv.store_blobs().items():
        assert b"seed.invalid" not in blob, "an e-mail in clear in " + name


def test_ids_ascend_in_creation_order(server_factory):
    srv = server_factory(name="seedorder", start=False)
    seed(srv, users=200)
    srv.start()
    for table in ("users", "devices"):
        rows = srv.db_query("SELECT id, created_at FROM %s ORDER BY id" % table)
        assert len(rows) > 100
        made = [r[1] for r in rows]
        assert made == sorted(made), "%s: ids do not follow creation order" % table
        lows = {bytes(r[0])[8:] for r in rows}
        assert len(lows) == len(rows), "%s: the random halves repeat" % table


def test_seeding_twice_changes_nothing(server_factory):
    srv = server_factory(name="seedtwice", start=False)
    seed(srv, users=100)
    first = {t: count(srv, t) for t in ("users", "sessions", "devices", "device_shares")}
    seed(srv, users=100)
    assert {t: count(srv, t) for t in first} == first
