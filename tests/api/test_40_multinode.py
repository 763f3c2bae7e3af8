"""Several `safehouse serve` nodes on one PostgreSQL database behave as one service
(issue: the store seam and PostgreSQL). Every node has its own data dir and the same
master key, as behind a load balancer; each test talks to different nodes on purpose.

Runs in the PostgreSQL pass of the suite (SAFEHOUSE_TEST_STORE=postgres)."""

import os
import secrets
import shutil
import threading
import time

import pytest
import requests

from conftest import (RULE_DELAY, STORE, assert_problem, bearer, expect_json, pg_ctl,
                      expect_status, pg_cluster, wait_until)
from devkit import claim_raw, provision
from oauthkit import authorize_code, exchange, introspect, register_client

pytestmark = pytest.mark.skipif(STORE != "postgres", reason="several nodes need PostgreSQL")

SH_RULE_USER = 3  # enum sh_rule_scope in src/store/store.h


def start_nodes(factory, n=3, store_url=None, extra_args=()):
    """n nodes sharing one database and one master key; returns them in start order."""
    first = factory(name="node0", store_url=store_url, extra_args=extra_args)
    key = os.path.join(first.data_dir, "master.key")
    nodes = [first]
    for i in range(1, n):
        srv = factory(name="node%d" % i, store_url=first.store_url, extra_args=extra_args,
                      start=False)
        os.makedirs(srv.data_dir, mode=0o700)
        shutil.copyfile(key, os.path.join(srv.data_dir, "master.key"))
        os.chmod(os.path.join(srv.data_dir, "master.key"), 0o600)
        srv.admin_token = first.admin_token  # printed once, by the first node of the store
        nodes.append(srv.start())
    return nodes


@pytest.fixture(scope="module")
def nodes(module_server_factory):
    return start_nodes(module_server_factory)


def at_once(*fns):
    """Runs the functions in threads released together; returns their results in order."""
    barrier = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def run(i, fn):
        barrier.wait()
        out[i] = fn()

    ts = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def post(srv, path, **kw):
    def fn():
        return requests.post(srv.base + path, timeout=15, **kw)
    return fn


# ---- item 3: revocation rules reach every node ----------------------------------


def test_a_token_from_one_node_works_on_every_node(nodes):
    u = nodes[0].create_account()
    s = u.login()
    for n in nodes:
        assert n.token_ok(s["access_token"]), n.name
        expect_json(n.get("/v1/sessions", token=s["access_token"]), 200)


def test_rule_added_through_the_api_of_one_node_refuses_on_every_node(nodes):
    a, b, c = nodes
    u = a.create_account()
    s = u.login()
    assert b.token_ok(s["access_token"]) and c.token_ok(s["access_token"])
    r = b.admin_req("POST", "/admin/v1/revocations", json={"scope": "user", "value": u.id})
    expect_status(r, 201)
    t0 = time.monotonic()
    for n in (a, c):
        assert n.wait_token_dead(s["access_token"], timeout=RULE_DELAY), n.name
    assert time.monotonic() - t0 < RULE_DELAY


def test_rule_added_with_the_cli_refuses_on_every_node(nodes):
    a, b, c = nodes
    u = a.create_account()
    s = u.login(client="android")
    p = c.cli("admin", "revoke", "--user", u.id)
    assert p.returncode == 0, p.stderr
    for n in nodes:
        assert n.wait_token_dead(s["access_token"]), n.name


def test_rule_committed_out_of_sequence_order_is_not_skipped(nodes):
    """A transaction that took a lower seq commits after one with a higher seq that the
    nodes have already read: they must still apply it."""
    a, b, c = nodes
    late, early = a.create_account(), a.create_account()
    s_late, s_early = late.login(), early.login()
    con = pg_cluster().connect(a.data_dir)
    con.autocommit = False
    cur = con.cursor()
    now = int(time.time() * 1e6)
    cur.execute("INSERT INTO revocation_rules(id,scope,value,not_before,created_at) "
                "VALUES (%s,%s,%s,%s,%s) RETURNING seq",
                (secrets.token_bytes(16), SH_RULE_USER, late.id, now, now))
    low_seq = cur.fetchone()[0]
    try:
        # a rule with a higher seq commits first, and every node reads past it
        expect_status(a.admin_req("POST", "/admin/v1/revocations",
                                  json={"scope": "user", "value": early.id}), 201)
        for n in nodes:
            assert n.wait_token_dead(s_early["access_token"]), n.name
        seqs = [r[0] for r in a.db_query("SELECT seq FROM revocation_rules")]
        assert max(seqs) > low_seq
        for n in nodes:
            assert n.token_ok(s_late["access_token"]), "uncommitted rule applied on %s" % n.name
    finally:
        con.commit()
        con.close()
    for n in nodes:
        assert n.wait_token_dead(s_late["access_token"]), "late commit skipped on %s" % n.name


# ---- item 3: single-use secrets across nodes ------------------------------------------


def test_same_refresh_token_on_two_nodes_rotates_at_most_once(nodes):
    a, b, _ = nodes
    for _round in range(8):
        s = a.create_account().login()
        rt = {"refresh_token": s["refresh_token"]}
        r1, r2 = at_once(post(a, "/v1/sessions/refresh", json=rt),
                         post(b, "/v1/sessions/refresh", json=rt))
        oks = [r for r in (r1, r2) if r.status_code == 200]
        assert len(oks) <= 1, "one refresh token rotated on two nodes"
        for r in (r1, r2):
            if r.status_code != 200:
                assert_problem(r, 401, "invalid_token")
        if oks:
            # the loser presented a rotated token: reuse ends the family everywhere
            new = oks[0].json()
            for n in nodes:
                assert n.wait_token_dead(new["access_token"]), n.name


def test_same_claim_code_on_two_nodes_claims_once(nodes):
    a, b, _ = nodes
    for _round in range(5):
        dev = provision(a)
        u1, u2 = a.create_account(), b.create_account()
        t1, t2 = u1.login()["access_token"], u2.login()["access_token"]
        body = {"claim_code": dev["claim_code"], "name": "Door"}
        r1, r2 = at_once(post(a, "/v1/devices/claim", json=body, headers=bearer(t1)),
                         post(b, "/v1/devices/claim", json=body, headers=bearer(t2)))
        codes = sorted([r1.status_code, r2.status_code])
        assert codes[0] in (200, 201) and codes[1] not in (200, 201), (r1.text, r2.text)
        lost = r1 if r1.status_code not in (200, 201) else r2
        assert lost.status_code in (400, 404, 409), lost.text


def test_oauth_code_is_single_use_across_nodes(nodes):
    a, b, c = nodes
    client = register_client(a)
    u = a.create_account()
    code, verifier, _ = authorize_code(a, u, client, [])
    r1, r2 = at_once(lambda: exchange(b, client, code, verifier),
                     lambda: exchange(c, client, code, verifier))
    oks = [r for r in (r1, r2) if r.status_code == 200]
    assert len(oks) == 1, (r1.status_code, r1.text, r2.status_code, r2.text)
    bad = r1 if r1.status_code != 200 else r2
    assert bad.status_code == 400 and bad.json().get("error") == "invalid_grant", bad.text


# ---- item 3: limits and caches across nodes ------------------------------------------


def test_password_guessing_spread_over_three_nodes_gets_one_nodes_budget(nodes):
    """Per-account limit: 10 failures, then 429 on whichever node is asked."""
    u = nodes[0].create_account()
    failures = 0
    limited = False
    for i in range(40):
        n = nodes[i % 3]
        r = n.login_raw(u.email, "wrong-" + u.password)
        if r.status_code == 429:
            assert_problem(r, 429, "rate_limited")
            limited = True
            break
        assert_problem(r, 401, "invalid_credentials")
        failures += 1
    assert limited, "no node limited the guessing"
    assert failures <= 10, "%d wrong passwords accepted for checking over 3 nodes" % failures
    for n in nodes:
        assert_problem(n.login_raw(u.email, "wrong-" + u.password), 429, "rate_limited")


def test_client_secret_rotated_on_one_node_is_refused_on_the_others(nodes):
    a, b, c = nodes
    client = register_client(a)
    u = a.create_account()
    code, verifier, _ = authorize_code(a, u, client, [])
    tokens = expect_json(exchange(b, client, code, verifier), 200)
    # b and c have the client in their caches now
    for n in (b, c):
        assert introspect(n, client, tokens["access_token"]).status_code == 200
    rot = expect_json(a.admin_req("POST", "/admin/v1/oauth/clients/%s/secret" % client.id), 200)
    old = client.secret
    client.secret = rot["client_secret"]
    for n in (b, c):
        assert introspect(n, client, tokens["access_token"]).status_code == 200, n.name
    client.secret = old
    for n in (b, c):
        assert wait_until(lambda: introspect(n, client, tokens["access_token"]).status_code == 401,
                          timeout=RULE_DELAY), "old secret still accepted on %s" % n.name


# ---- item 4: faults -----------------------------------------------------------------


def test_postgres_stopped_for_ten_seconds_under_load(server_factory, private_cluster):
    a, b = start_nodes(server_factory, n=2, store_url=private_cluster.url_for("outage"))
    u = a.create_account()
    s = u.login()
    forged = s["access_token"][:-4] + ("AAAA" if not s["access_token"].endswith("AAAA") else "BBBB")
    seen = {"codes": set(), "bad": [], "stop": False}

    def load():
        sess = requests.Session()
        while not seen["stop"]:
            for n in (a, b):
                try:
                    r = sess.get(n.base + "/v1/me", headers=bearer(s["access_token"]), timeout=10)
                except requests.RequestException as e:  # a crash or a hung node
                    seen["bad"].append(repr(e))
                    continue
                seen["codes"].add(r.status_code)
                if r.status_code not in (200, 503):
                    seen["bad"].append(r.text)
            time.sleep(0.02)

    t = threading.Thread(target=load)
    t.start()
    try:
        time.sleep(0.5)
        pg_ctl(private_cluster, "stop")
        t_down = time.monotonic()
        for n in (a, b):
            # GET /v1/sessions reads the store every time (GET /v1/me may be
            # answered from its one-second cache)
            assert_problem(n.get("/v1/sessions", token=s["access_token"]), 503,
                           "store_unavailable")
            # tokens are still checked from memory: a forged one is refused as such
            assert_problem(n.me(forged), 401, "invalid_token")
            expect_json(n.get("/healthz"), 200)
        time.sleep(max(0.0, 10 - (time.monotonic() - t_down)))
        for n in (a, b):
            assert n.running(), "%s died while PostgreSQL was away" % n.name
        pg_ctl(private_cluster, "resume")
        for n in (a, b):
            assert wait_until(lambda: n.me(s["access_token"]).status_code == 200, timeout=15), \
                "%s did not recover" % n.name
    finally:
        seen["stop"] = True
        t.join()
    assert not seen["bad"], seen["bad"][:5]
    assert {200, 503} <= seen["codes"], seen["codes"]
    # writes work again, on both nodes
    for n in (a, b):
        n.create_account().login()


def test_kill9_of_one_node_under_write_load_loses_nothing(server_factory):
    a, b = start_nodes(server_factory, n=2)
    acked = []
    stop = {"now": False}

    def writer():
        sess = requests.Session()
        i = 0
        while not stop["now"]:
            email = "kill9.%d.%s@example.com" % (i, secrets.token_hex(4))
            try:
                r = sess.post(a.base + "/v1/accounts", timeout=5,
                              json={"email": email, "password": "Pw-kill9-" + email})
            except requests.RequestException:
                break  # the node is gone
            if r.status_code == 201:
                acked.append(email)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(2.0)
    a.kill9()
    stop["now"] = True
    t.join()
    assert acked, "no write was acknowledged before the kill"
    for email in acked:
        r = b.login_raw(email, "Pw-kill9-" + email)
        assert r.status_code == 200, "acknowledged account %s lost: %s" % (email, r.text)
    b.create_account().login()


def test_nodes_starting_at_once_on_an_empty_database_migrate_once(server_factory):
    """The migrations run under an advisory lock: three nodes started together on an
    empty database all come up, and each schema version is applied once."""
    url = pg_cluster().url_for("migrate-at-once")
    first = server_factory(name="m0", store_url=url, start=False)
    key = secrets.token_hex(32)
    srvs = [first] + [server_factory(name="m%d" % i, store_url=url, start=False)
                      for i in (1, 2)]
    for srv in srvs:
        srv.admin_token = "unused"  # only one of the three prints it
        srv.extra_args = list(srv.extra_args)
    os.environ["SAFEHOUSE_MASTER_KEY"] = key
    try:
        errors = []

        def start(srv):
            try:
                srv.start()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        ts = [threading.Thread(target=start, args=(srv,)) for srv in srvs]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        del os.environ["SAFEHOUSE_MASTER_KEY"]
    assert not errors, errors
    rows = first.db_query("SELECT version, count(*) FROM schema_version GROUP BY version "
                          "ORDER BY version")
    assert rows and all(n == 1 for _v, n in rows), rows
    assert [v for v, _n in rows] == list(range(1, len(rows) + 1)), rows
    printed = [srv for srv in srvs if "admin token: sh_ad_" in srv.stdout_text()]
    assert len(printed) == 1, "the admin token was printed %d times" % len(printed)
    applied = sum(srv.log_text().count('"migration_applied"') for srv in srvs)
    assert applied == len(rows), applied
    u = srvs[0].create_account()
    s = u.login()
    for srv in srvs:
        assert srv.token_ok(s["access_token"]), srv.name
