/*
 * test_store.c - the store conformance suite: one set of cases, through the
 * public store API only (sh_store_do, sh_store_tx_run, sh_store_tx_begin /
 * end), run on every backend, so that the contract of store.h means the
 * same thing on each.
 *
 * Backends: SQLite always, on a fresh file in a mkdtemp directory per case.
 * PostgreSQL when SAFEHOUSE_TEST_PG_URL names a database the suite may
 * wipe: before each case every table of the schema except schema_version
 * is truncated, so each case starts from an empty, migrated store. Without
 * the variable the PostgreSQL group is skipped with a note.
 *
 * Races run two long-lived worker threads (each keeps its connection) in
 * lock-step rounds; of the two racing calls of a round exactly one must
 * win. Failures inside worker threads are recorded and reported by the
 * main thread once the workers are joined, so a failing case never leaves
 * a thread blocked.
 */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "core/id.h"
#include "core/log.h"
#include "core/status.h"
#include "store/store.h"
#include "store/store_devices.h"
#include "store/store_mfa.h"
#include "store/store_oauth.h"
#include "store/tables.h"

#define T0 1700000000000000LL /* us */
#define SEC 1000000LL
#define RACE_ROUNDS 100
#define MAX_SEEN 16
#define PG_URL_ENV "SAFEHOUSE_TEST_PG_URL"

#define expect_ok(expr) assert_int_equal((expr), SH_OK)

/* Sealed blobs as the store sees them: opaque bytes. */
static uint8_t ct_email[] = "sealed-email";
static uint8_t ct_name[] = "sealed-name";
static uint8_t ct_key[] = "wrapped-key";
static uint8_t ct_device[] = "sealed-device-name";
static uint8_t ct_secret[] = "sealed-totp-secret";

/* ---- fixture: one store per case ----------------------------------------- */

struct fx {
    char dir[64]; /* SQLite: the temp dir; "" for PostgreSQL */
    sh_store *st;
};

static int fx_teardown(void **state);

static int group_setup(void **state)
{
    (void)state;
    sh_log_set_level(SH_LOG_WARN); /* quiet "migration_applied" lines */
    return sodium_init() < 0 ? -1 : 0;
}

static int fx_open(void **state, struct fx *f, const char *url)
{
    *state = f;
    if (sh_store_open(url, NULL, &f->st) != SH_OK) {
        fx_teardown(state);
        *state = NULL;
        return -1;
    }
    return 0;
}

static int sqlite_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char url[128];

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sh-unit-store-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(url, sizeof(url), "sqlite:%s/safehouse.db", f->dir);
    return fx_open(state, f, url);
}

/* Empties every table but schema_version, through a connection of our own. */
static int pg_wipe(const char *url)
{
    static const char sql[] =
        "DO $$ DECLARE t text; BEGIN "
        "SELECT string_agg(quote_ident(tablename), ',') INTO t FROM pg_tables "
        "WHERE schemaname = current_schema() AND tablename <> 'schema_version'; "
        "IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ' || t || ' CASCADE'; END IF; END $$";
    PGconn *pg = PQconnectdb(url);
    PGresult *r = NULL;
    int ok = 0;

    if (PQstatus(pg) == CONNECTION_OK) {
        r = PQexec(pg, sql);
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            fprintf(stderr, "pg wipe: %s", PQerrorMessage(pg));
    }
    PQclear(r);
    PQfinish(pg);
    return ok ? 0 : -1;
}

static int pg_setup(void **state)
{
    const char *url = getenv(PG_URL_ENV);
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    if (fx_open(state, f, url) != 0)
        return -1;
    if (pg_wipe(url) != 0) { /* after open: the migrations made the tables */
        fx_teardown(state);
        *state = NULL;
        return -1;
    }
    return 0;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;

    if (f == NULL)
        return 0;
    sh_store_close(f->st);
    if (f->dir[0] != '\0')
        remove_dir(f->dir);
    free(f);
    return 0;
}

static sh_store *store_of(void **state) { return ((struct fx *)*state)->st; }

/* ---- small helpers ------------------------------------------------------- */

static void hash_of(const char *tag, uint8_t out[SH_STORE_HASH_LEN])
{
    crypto_generichash(out, SH_STORE_HASH_LEN, (const unsigned char *)tag, strlen(tag), NULL, 0);
}

static void random_hash(uint8_t out[SH_STORE_HASH_LEN]) { randombytes_buf(out, SH_STORE_HASH_LEN); }

static void assert_blob(const uint8_t *got, size_t got_len, const uint8_t *want, size_t want_len)
{
    assert_int_equal(got_len, want_len);
    if (want_len > 0) {
        assert_non_null(got);
        assert_memory_equal(got, want, want_len);
    }
}

static int id_in(const sh_id *ids, int n, const sh_id *id)
{
    for (int i = 0; i < n; i++) {
        if (sh_id_equal(&ids[i], id))
            return 1;
    }
    return 0;
}

/* Runs fn(arg) on a thread of its own and waits for it. */
static void on_other_thread(void *(*fn)(void *), void *arg)
{
    pthread_t t;

    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

/* ---- users and sessions -------------------------------------------------- */

static sh_user_rec user_rec(const char *email)
{
    sh_user_rec u;

    memset(&u, 0, sizeof(u));
    sh_id_random(&u.id);
    hash_of(email, u.email_idx);
    u.email_ct = ct_email;
    u.email_ct_len = sizeof(ct_email) - 1;
    u.name_ct = ct_name;
    u.name_ct_len = sizeof(ct_name) - 1;
    snprintf(u.password_hash, sizeof(u.password_hash), "$argon2id$v=19$test");
    u.wrapped_key = ct_key;
    u.wrapped_key_len = sizeof(ct_key) - 1;
    u.created_at = T0;
    u.updated_at = T0 + 1;
    return u;
}

/* A user with a random e-mail index. */
static sh_id add_user(sh_store *st)
{
    char email[64];
    sh_id_hex hex;
    sh_id tag;
    sh_user_rec u;

    sh_id_random(&tag);
    sh_id_to_hex(&tag, &hex);
    snprintf(email, sizeof(email), "%s@example.test", hex.s);
    u = user_rec(email);
    expect_ok(sh_store_do(st, core, user_insert, &u));
    return u.id;
}

static void assert_user_equal(const sh_user_rec *got, const sh_user_rec *want)
{
    assert_true(sh_id_equal(&got->id, &want->id));
    assert_memory_equal(got->email_idx, want->email_idx, SH_STORE_HASH_LEN);
    assert_blob(got->email_ct, got->email_ct_len, want->email_ct, want->email_ct_len);
    assert_blob(got->name_ct, got->name_ct_len, want->name_ct, want->name_ct_len);
    assert_blob(got->wrapped_key, got->wrapped_key_len, want->wrapped_key, want->wrapped_key_len);
    assert_string_equal(got->password_hash, want->password_hash);
    assert_true(got->created_at == want->created_at);
    assert_true(got->updated_at == want->updated_at);
}

static sh_status user_exists(sh_store *st, const sh_id *id)
{
    sh_user_rec u;
    sh_status rc = sh_store_do(st, core, user_get, id, &u);

    if (rc == SH_OK)
        sh_user_rec_clear(&u);
    return rc;
}

static sh_session_rec session_rec(const sh_id *user, int64_t at)
{
    sh_session_rec s;

    memset(&s, 0, sizeof(s));
    sh_id_random(&s.id);
    s.user_id = *user;
    s.token_class = 3;
    s.device_name_ct = ct_device;
    s.device_name_ct_len = sizeof(ct_device) - 1;
    s.created_at = at;
    s.last_used_at = at;
    return s;
}

/* A session of user created at `at`, with refresh token hash `refresh`. */
static sh_id add_session(sh_store *st, const sh_id *user, int64_t at,
                         const uint8_t refresh[SH_STORE_HASH_LEN])
{
    sh_session_rec s = session_rec(user, at);

    expect_ok(sh_store_do(st, core, session_insert, &s, refresh));
    return s.id;
}

static sh_id add_session_any(sh_store *st, const sh_id *user, int64_t at)
{
    uint8_t h[SH_STORE_HASH_LEN];

    random_hash(h);
    return add_session(st, user, at, h);
}

struct session_seen {
    sh_id ids[MAX_SEEN];
    int n;
    int blobs_ok; /* every device name came back intact */
};

static void collect_session(void *ctx, const sh_session_rec *s)
{
    struct session_seen *seen = ctx;

    if (seen->n < MAX_SEEN)
        seen->ids[seen->n++] = s->id;
    if (s->device_name_ct_len != sizeof(ct_device) - 1 ||
        memcmp(s->device_name_ct, ct_device, s->device_name_ct_len) != 0)
        seen->blobs_ok = 0;
}

static struct session_seen list_sessions(sh_store *st, const sh_id *user)
{
    struct session_seen seen = {.n = 0, .blobs_ok = 1};

    expect_ok(sh_store_do(st, core, session_list, user, collect_session, &seen));
    return seen;
}

static void test_user_insert_get_conflict(void **state)
{
    sh_store *st = store_of(state);
    sh_user_rec u = user_rec("alice@example.test");
    sh_user_rec dup = user_rec("alice@example.test");
    sh_user_rec got;
    sh_id unknown;
    uint8_t idx[SH_STORE_HASH_LEN];

    expect_ok(sh_store_do(st, core, user_insert, &u));
    expect_ok(sh_store_do(st, core, user_get, &u.id, &got));
    assert_user_equal(&got, &u);
    sh_user_rec_clear(&got);

    expect_ok(sh_store_do(st, core, user_get_by_email, u.email_idx, &got));
    assert_user_equal(&got, &u);
    sh_user_rec_clear(&got);

    /* the same e-mail index under another id */
    assert_int_equal(sh_store_do(st, core, user_insert, &dup), SH_ERR_CONFLICT);
    /* the same id under another e-mail */
    dup = user_rec("bob@example.test");
    dup.id = u.id;
    assert_int_equal(sh_store_do(st, core, user_insert, &dup), SH_ERR_CONFLICT);

    sh_id_random(&unknown);
    assert_int_equal(sh_store_do(st, core, user_get, &unknown, &got), SH_ERR_NOT_FOUND);
    hash_of("nobody@example.test", idx);
    assert_int_equal(sh_store_do(st, core, user_get_by_email, idx, &got), SH_ERR_NOT_FOUND);
}

static void test_session_insert_list_revoke(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st), other = add_user(st), unknown;
    sh_id s[3];
    struct session_seen seen;
    sh_session_rec got;

    for (int i = 0; i < 3; i++)
        s[i] = add_session_any(st, &user, T0 + i * SEC);
    add_session_any(st, &other, T0);

    seen = list_sessions(st, &user);
    assert_int_equal(seen.n, 3);
    assert_true(seen.blobs_ok);
    for (int i = 0; i < 3; i++) /* oldest first */
        assert_true(sh_id_equal(&seen.ids[i], &s[i]));

    expect_ok(sh_store_do(st, core, session_revoke, &s[1], T0 + 10 * SEC));
    assert_int_equal(sh_store_do(st, core, session_revoke, &s[1], T0 + 11 * SEC), SH_ERR_NOT_FOUND);
    sh_id_random(&unknown);
    assert_int_equal(sh_store_do(st, core, session_revoke, &unknown, T0), SH_ERR_NOT_FOUND);

    seen = list_sessions(st, &user);
    assert_int_equal(seen.n, 2);
    assert_false(id_in(seen.ids, seen.n, &s[1]));

    expect_ok(sh_store_do(st, core, session_get, &s[1], &got));
    assert_true(sh_id_equal(&got.user_id, &user));
    assert_int_equal(got.token_class, 3);
    assert_true(got.revoked_at == T0 + 10 * SEC); /* the first revocation's time */
    assert_blob(got.device_name_ct, got.device_name_ct_len, ct_device, sizeof(ct_device) - 1);
    sh_session_rec_clear(&got);
}

static void expect_refresh(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                           const sh_id *session, int rotated)
{
    sh_id sid;
    int r = -1;

    expect_ok(sh_store_do(st, core, refresh_find, hash, &sid, &r));
    assert_true(sh_id_equal(&sid, session));
    assert_int_equal(r, rotated);
}

static void test_refresh_rotate_exactly_once(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st), sid;
    uint8_t h0[SH_STORE_HASH_LEN], h1[SH_STORE_HASH_LEN], h2[SH_STORE_HASH_LEN];
    int rotated;

    random_hash(h0);
    random_hash(h1);
    random_hash(h2);
    sid = add_session(st, &user, T0, h0);
    expect_refresh(st, h0, &sid, 0);

    expect_ok(sh_store_do(st, core, refresh_rotate, h0, h1, &sid, T0 + SEC));
    assert_int_equal(sh_store_do(st, core, refresh_rotate, h0, h2, &sid, T0 + 2 * SEC),
                     SH_ERR_CONFLICT);
    expect_refresh(st, h0, &sid, 1);
    expect_refresh(st, h1, &sid, 0);
    /* the loser's new hash was not stored */
    assert_int_equal(sh_store_do(st, core, refresh_find, h2, &sid, &rotated), SH_ERR_NOT_FOUND);
    /* the chain goes on from the winner's */
    expect_ok(sh_store_do(st, core, refresh_rotate, h1, h2, &sid, T0 + 3 * SEC));
}

/* ---- races: two workers, lock-step rounds -------------------------------- */

/* What the workers fight over is stored before they start (one item per
 * round), so that nothing on the main thread can fail while they wait. */
struct race;
/* A worker's attempt in round r->round; who is 0 or 1. */
typedef sh_status (*race_attempt_fn)(struct race *r, int who);
/* Main thread, after a round won by `winner`: 0 if the store agrees. Must
 * not assert (the workers are waiting). */
typedef int (*race_verify_fn)(struct race *r, int winner);

struct race {
    sh_store *st;
    race_attempt_fn attempt;
    race_verify_fn verify; /* may be NULL */
    sh_status lose;        /* what the loser must get */
    void *ctx;
    int round;
    int stop;
    sh_status rc[2];
    pthread_barrier_t start, done;
};

struct racer {
    struct race *race;
    int who;
};

static void *racer_main(void *arg)
{
    struct racer *me = arg;
    struct race *r = me->race;

    for (;;) {
        pthread_barrier_wait(&r->start);
        if (r->stop)
            return NULL;
        r->rc[me->who] = r->attempt(r, me->who);
        pthread_barrier_wait(&r->done);
    }
}

/* Which worker won round `round`, or a message in msg and -1. */
static int race_winner(struct race *r, char *msg, size_t cap)
{
    int winner = r->rc[0] == SH_OK ? 0 : 1;

    if ((r->rc[0] == SH_OK) == (r->rc[1] == SH_OK) || r->rc[1 - winner] != r->lose) {
        snprintf(msg, cap, "round %d: results %d and %d, want one %d and one %d", r->round,
                 (int)r->rc[0], (int)r->rc[1], (int)SH_OK, (int)r->lose);
        return -1;
    }
    if (r->verify != NULL && r->verify(r, winner) != 0) {
        snprintf(msg, cap, "round %d: the store disagrees with winner %d", r->round, winner);
        return -1;
    }
    return winner;
}

static void run_race(struct race *r, int rounds)
{
    pthread_t t[2];
    struct racer me[2] = {{r, 0}, {r, 1}};
    char msg[160] = "";
    int wins[2] = {0, 0}, w;

    assert_int_equal(pthread_barrier_init(&r->start, NULL, 3), 0);
    assert_int_equal(pthread_barrier_init(&r->done, NULL, 3), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &me[i]), 0);
    for (r->round = 0; r->round < rounds; r->round++) {
        pthread_barrier_wait(&r->start);
        pthread_barrier_wait(&r->done);
        if ((w = race_winner(r, msg, sizeof(msg))) < 0)
            break;
        wins[w]++;
    }
    r->stop = 1;
    pthread_barrier_wait(&r->start);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&r->start);
    pthread_barrier_destroy(&r->done);
    if (msg[0] != '\0')
        fail_msg("%s", msg);
    print_message("race: %d rounds, wins %d / %d\n", rounds, wins[0], wins[1]);
}

/* Refresh rotation: both rotate the current hash to a new one of their own. */
struct rotate_race {
    sh_id session;
    uint8_t cur[SH_STORE_HASH_LEN];
    uint8_t next[2][SH_STORE_HASH_LEN];
};

static sh_status rotate_attempt(struct race *r, int who)
{
    struct rotate_race *x = r->ctx;

    return sh_store_do(r->st, core, refresh_rotate, x->cur, x->next[who], &x->session,
                       T0 + r->round);
}

static int rotate_verify(struct race *r, int winner)
{
    struct rotate_race *x = r->ctx;
    sh_id sid;
    int rotated = -1;

    if (sh_store_do(r->st, core, refresh_find, x->next[1 - winner], &sid, &rotated) !=
        SH_ERR_NOT_FOUND)
        return -1; /* the loser's hash must not be stored */
    memcpy(x->cur, x->next[winner], SH_STORE_HASH_LEN);
    random_hash(x->next[0]); /* for the next round */
    random_hash(x->next[1]);
    return sh_store_do(r->st, core, refresh_find, x->cur, &sid, &rotated) == SH_OK && rotated == 0
               ? 0
               : -1;
}

static void test_refresh_rotate_race(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st);
    struct rotate_race x;
    struct race r = {.st = st,
                     .attempt = rotate_attempt,
                     .verify = rotate_verify,
                     .lose = SH_ERR_CONFLICT,
                     .ctx = &x};

    random_hash(x.cur);
    random_hash(x.next[0]);
    random_hash(x.next[1]);
    x.session = add_session(st, &user, T0, x.cur);
    run_race(&r, RACE_ROUNDS);
}

/* ---- revocation rules ---------------------------------------------------- */

struct rule_seen {
    sh_id ids[MAX_SEEN];
    int n;          /* distinct rules */
    int deliveries; /* with repeats */
};

static void collect_rule(void *ctx, const sh_rule_rec *r)
{
    struct rule_seen *seen = ctx;

    seen->deliveries++;
    if (!id_in(seen->ids, seen->n, &r->id) && seen->n < MAX_SEEN)
        seen->ids[seen->n++] = r->id;
}

static sh_status feed(sh_store *st, sh_rule_cursor *cur, struct rule_seen *seen)
{
    memset(seen, 0, sizeof(*seen));
    return sh_store_do(st, core, rules_feed, cur, collect_rule, seen);
}

static sh_rule_rec rule_rec(int64_t not_before)
{
    sh_rule_rec r;
    sh_id_hex hex;
    sh_id u;

    memset(&r, 0, sizeof(r));
    sh_id_random(&r.id);
    sh_id_random(&u);
    sh_id_to_hex(&u, &hex);
    r.scope = SH_RULE_USER;
    snprintf(r.value, sizeof(r.value), "%s", hex.s);
    r.not_before = not_before;
    r.created_at = not_before;
    return r;
}

static sh_rule_rec add_rule(sh_store *st, int64_t not_before)
{
    sh_rule_rec r = rule_rec(not_before);

    expect_ok(sh_store_do(st, core, rule_insert, &r));
    assert_true(r.seq > 0);
    return r;
}

/* Every delivered rule is one of the n known ones. */
static void assert_only_known(const struct rule_seen *seen, const sh_rule_rec *known, int n)
{
    for (int i = 0; i < seen->n; i++) {
        int found = 0;
        for (int k = 0; k < n; k++)
            found |= sh_id_equal(&seen->ids[i], &known[k].id);
        if (!found)
            fail_msg("feed delivered a rule nobody wrote");
    }
}

static void assert_has_rules(const struct rule_seen *seen, const sh_rule_rec *want, int n)
{
    for (int i = 0; i < n; i++) {
        if (!id_in(seen->ids, seen->n, &want[i].id))
            fail_msg("feed missed rule %d (seq %lld)", i, (long long)want[i].seq);
    }
}

static void test_rules_feed_never_misses(void **state)
{
    sh_store *st = store_of(state);
    sh_rule_cursor cur = {0, 0};
    struct rule_seen seen;
    sh_rule_rec r[5];
    sh_rule_rec stored;

    expect_ok(feed(st, &cur, &seen)); /* empty store */
    assert_int_equal(seen.deliveries, 0);
    memset(&cur, 0, sizeof(cur));

    for (int i = 0; i < 3; i++) {
        r[i] = add_rule(st, T0 + i);
        if (i > 0)
            assert_true(r[i].seq > r[i - 1].seq);
    }
    expect_ok(feed(st, &cur, &seen));
    assert_int_equal(seen.n, 3);
    assert_has_rules(&seen, r, 3);

    /* from the returned cursor: nothing new, at most re-deliveries */
    expect_ok(feed(st, &cur, &seen));
    assert_only_known(&seen, r, 3);

    r[3] = add_rule(st, T0 + 3);
    r[4] = add_rule(st, T0 + 4);
    expect_ok(feed(st, &cur, &seen));
    assert_has_rules(&seen, &r[3], 2);
    assert_only_known(&seen, r, 5);

    /* rule ids are unique */
    stored = r[0];
    assert_int_equal(sh_store_do(st, core, rule_insert, &stored), SH_ERR_CONFLICT);
}

/* Thread A of the late-commit case: a transaction that inserts R1 and
 * stays open until the main thread has read the feed. */
struct late_writer {
    sh_store *st;
    sh_rule_rec r1;
    pthread_barrier_t step;
    sh_status insert_rc, commit_rc;
};

static void *late_writer_main(void *arg)
{
    struct late_writer *w = arg;
    sh_store *tx = NULL;
    sh_status rc = sh_store_tx_begin(w->st, &tx);

    if (rc == SH_OK)
        rc = sh_store_do(tx, core, rule_insert, &w->r1);
    w->insert_rc = rc;
    pthread_barrier_wait(&w->step); /* R1 written, not committed */
    pthread_barrier_wait(&w->step); /* the main thread has read the feed */
    w->commit_rc = tx != NULL ? sh_store_tx_end(tx, rc) : rc;
    return NULL;
}

/* PostgreSQL only: a transaction that took the lower seq commits after one
 * that took a higher seq; the feed must still deliver it. */
static void test_rules_feed_late_commit(void **state)
{
    sh_store *st = store_of(state);
    struct late_writer w = {.st = st, .r1 = rule_rec(T0 + 1)};
    sh_rule_cursor cur = {0, 0};
    struct rule_seen first, second;
    sh_rule_rec r2 = rule_rec(T0 + 2);
    sh_status r2_rc, feed_rc;
    pthread_t t;

    add_rule(st, T0); /* something before, so the cursor is not the start */
    expect_ok(feed(st, &cur, &first));
    assert_int_equal(pthread_barrier_init(&w.step, NULL, 2), 0);
    assert_int_equal(pthread_create(&t, NULL, late_writer_main, &w), 0);
    pthread_barrier_wait(&w.step);
    r2_rc = sh_store_do(st, core, rule_insert, &r2);
    feed_rc = feed(st, &cur, &first);
    pthread_barrier_wait(&w.step);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&w.step);

    expect_ok(w.insert_rc);
    expect_ok(r2_rc);
    expect_ok(feed_rc);
    assert_true(w.r1.seq < r2.seq); /* R1 took the lower number */
    assert_has_rules(&first, &r2, 1);
    assert_false(id_in(first.ids, first.n, &w.r1.id)); /* not committed then */
    expect_ok(w.commit_rc);

    expect_ok(feed(st, &cur, &second));
    assert_has_rules(&second, &w.r1, 1);
}

/* ---- devices ------------------------------------------------------------- */

static sh_id add_device(sh_store *st, const uint8_t claim[SH_STORE_HASH_LEN], int64_t expires_at)
{
    sh_device_rec d;
    uint8_t token[SH_STORE_HASH_LEN];

    memset(&d, 0, sizeof(d));
    sh_id_random(&d.id);
    d.type = 2;
    snprintf(d.model, sizeof(d.model), "plug-p1");
    d.generation = 1;
    d.claim_expires_at = expires_at;
    d.created_at = T0;
    random_hash(token);
    expect_ok(sh_store_do(st, devices, insert, &d, token, claim));
    return d.id;
}

static sh_status claim(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int64_t now,
                       const sh_id *owner, int64_t *generation)
{
    sh_device_rec out;
    sh_status rc;

    memset(&out, 0, sizeof(out));
    rc = sh_store_do(st, devices, claim, hash, now, owner, &out);
    if (rc == SH_OK && (!out.has_owner || !sh_id_equal(&out.owner, owner)))
        rc = SH_ERR_INTERNAL; /* claimed, but not for this owner */
    if (generation != NULL)
        *generation = out.generation;
    sh_device_rec_clear(&out);
    return rc;
}

static sh_status role_of(sh_store *st, const sh_id *device, const sh_id *user, int *role)
{
    int64_t gen = 0;

    *role = 0;
    return sh_store_do(st, devices, role_of, device, user, role, &gen);
}

static void count_share(void *ctx, const sh_share_rec *s)
{
    (void)s;
    (*(int *)ctx)++;
}

static void count_device(void *ctx, const sh_device_rec *d, int role)
{
    (void)d;
    (void)role;
    (*(int *)ctx)++;
}

static int shares_of(sh_store *st, const sh_id *device, int64_t generation)
{
    int n = 0;

    expect_ok(sh_store_do(st, devices, share_list, device, generation, count_share, &n));
    return n;
}

static int devices_of(sh_store *st, const sh_id *user)
{
    int n = 0;

    expect_ok(sh_store_do(st, devices, list_for_user, user, count_device, &n));
    return n;
}

static void test_device_insert_get(void **state)
{
    sh_store *st = store_of(state);
    uint8_t claim_hash[SH_STORE_HASH_LEN];
    sh_id id, unknown;
    sh_device_rec d;

    random_hash(claim_hash);
    id = add_device(st, claim_hash, T0 + 60 * SEC);
    expect_ok(sh_store_do(st, devices, get, &id, &d));
    assert_true(sh_id_equal(&d.id, &id));
    assert_int_equal(d.type, 2);
    assert_string_equal(d.model, "plug-p1");
    assert_false(d.has_owner);
    assert_true(d.generation == 1);
    assert_null(d.name_ct);
    assert_true(d.claim_expires_at == T0 + 60 * SEC);
    sh_device_rec_clear(&d);
    sh_id_random(&unknown);
    assert_int_equal(sh_store_do(st, devices, get, &unknown, &d), SH_ERR_NOT_FOUND);
}

static void test_device_claim_once(void **state)
{
    sh_store *st = store_of(state);
    uint8_t claim_hash[SH_STORE_HASH_LEN], wrong[SH_STORE_HASH_LEN];
    sh_id owner = add_user(st), thief = add_user(st), id;
    int64_t gen = 0;
    int role;

    random_hash(claim_hash);
    random_hash(wrong);
    id = add_device(st, claim_hash, T0 + 60 * SEC);
    assert_int_equal(claim(st, wrong, T0, &owner, NULL), SH_ERR_NOT_FOUND);
    /* an expired claim code */
    assert_int_equal(claim(st, claim_hash, T0 + 60 * SEC, &owner, NULL), SH_ERR_NOT_FOUND);

    expect_ok(claim(st, claim_hash, T0, &owner, &gen));
    assert_true(gen == 1);
    assert_int_equal(claim(st, claim_hash, T0, &thief, NULL), SH_ERR_NOT_FOUND);
    expect_ok(role_of(st, &id, &owner, &role));
    assert_int_equal(role, 1);
    assert_int_equal(role_of(st, &id, &thief, &role), SH_ERR_NOT_FOUND);
    assert_int_equal(devices_of(st, &owner), 1);
    assert_int_equal(devices_of(st, &thief), 0);
}

/* Claims: both claim the round's device, for different owners. */
struct claim_race {
    sh_id owner[2];
    sh_id device[RACE_ROUNDS];
    uint8_t hash[RACE_ROUNDS][SH_STORE_HASH_LEN];
};

static sh_status claim_attempt(struct race *r, int who)
{
    struct claim_race *x = r->ctx;

    return claim(r->st, x->hash[r->round], T0, &x->owner[who], NULL);
}

static int claim_verify(struct race *r, int winner)
{
    struct claim_race *x = r->ctx;
    const sh_id *d = &x->device[r->round];
    int role = 0;

    return role_of(r->st, d, &x->owner[winner], &role) == SH_OK && role == 1 &&
                   role_of(r->st, d, &x->owner[1 - winner], &role) == SH_ERR_NOT_FOUND
               ? 0
               : -1;
}

static void test_device_claim_race(void **state)
{
    sh_store *st = store_of(state);
    struct claim_race *x = calloc(1, sizeof(*x));
    struct race r = {.st = st,
                     .attempt = claim_attempt,
                     .verify = claim_verify,
                     .lose = SH_ERR_NOT_FOUND,
                     .ctx = x};

    assert_non_null(x);
    x->owner[0] = add_user(st);
    x->owner[1] = add_user(st);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        random_hash(x->hash[i]);
        x->device[i] = add_device(st, x->hash[i], T0 + 60 * SEC);
    }
    run_race(&r, RACE_ROUNDS);
    free(x);
}

static void test_device_release_moves_generation(void **state)
{
    sh_store *st = store_of(state);
    uint8_t c1[SH_STORE_HASH_LEN], c2[SH_STORE_HASH_LEN];
    sh_id owner = add_user(st), friend = add_user(st), id;
    sh_share_rec share = {.role = 2, .created_at = T0};
    sh_device_rec d;
    int64_t gen = 0;
    int role;

    random_hash(c1);
    random_hash(c2);
    id = add_device(st, c1, T0 + 60 * SEC);
    expect_ok(claim(st, c1, T0, &owner, &gen));
    expect_ok(sh_store_do(st, devices, set_name, &id, gen, ct_name, sizeof(ct_name) - 1));
    sh_id_random(&share.id);
    share.device_id = id;
    share.generation = gen;
    share.user_id = friend;
    expect_ok(sh_store_do(st, devices, share_insert, &share));
    expect_ok(role_of(st, &id, &friend, &role));
    assert_int_equal(role, 2);
    assert_int_equal(shares_of(st, &id, gen), 1);
    assert_int_equal(devices_of(st, &friend), 1);

    /* only from the current generation */
    assert_int_equal(sh_store_do(st, devices, release, &id, gen + 1, T0, NULL, c2, T0 + 90 * SEC),
                     SH_ERR_NOT_FOUND);
    expect_ok(sh_store_do(st, devices, release, &id, gen, T0, NULL, c2, T0 + 90 * SEC));
    assert_int_equal(sh_store_do(st, devices, release, &id, gen, T0, NULL, c2, T0 + 90 * SEC),
                     SH_ERR_NOT_FOUND);

    expect_ok(sh_store_do(st, devices, get, &id, &d));
    assert_true(d.generation == gen + 1);
    assert_false(d.has_owner);
    assert_null(d.name_ct);
    sh_device_rec_clear(&d);
    assert_int_equal(role_of(st, &id, &owner, &role), SH_ERR_NOT_FOUND);
    assert_int_equal(role_of(st, &id, &friend, &role), SH_ERR_NOT_FOUND);
    assert_int_equal(shares_of(st, &id, gen), 0); /* dropped, not only hidden */
    assert_int_equal(devices_of(st, &owner), 0);
    assert_int_equal(devices_of(st, &friend), 0);
    assert_int_equal(sh_store_do(st, devices, set_name, &id, gen, ct_name, sizeof(ct_name) - 1),
                     SH_ERR_NOT_FOUND);

    /* the new claim code works, the old one does not */
    assert_int_equal(claim(st, c1, T0, &friend, NULL), SH_ERR_NOT_FOUND);
    expect_ok(claim(st, c2, T0, &friend, &gen));
    assert_true(gen == 2);
    expect_ok(role_of(st, &id, &friend, &role));
    assert_int_equal(role, 1);
}

/* ---- two-factor and one-time tokens -------------------------------------- */

static sh_id add_challenge(sh_store *st, const sh_id *user, int64_t expires_at)
{
    sh_challenge_rec c;

    memset(&c, 0, sizeof(c));
    sh_id_random(&c.id);
    random_hash(c.hash);
    c.user_id = *user;
    c.token_class = 3;
    c.device_name_ct = ct_device;
    c.device_name_ct_len = sizeof(ct_device) - 1;
    c.expires_at = expires_at;
    c.created_at = T0;
    expect_ok(sh_store_do(st, mfa, challenge_insert, &c));
    return c.id;
}

static void test_challenge_consume_once(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st);
    sh_id live = add_challenge(st, &user, T0 + 300 * SEC);
    sh_id expired = add_challenge(st, &user, T0);
    sh_id failing = add_challenge(st, &user, T0 + 300 * SEC);
    int failures = 0;

    expect_ok(sh_store_do(st, mfa, challenge_consume, &live, T0 + SEC, 5));
    assert_int_equal(sh_store_do(st, mfa, challenge_consume, &live, T0 + SEC, 5), SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, mfa, challenge_consume, &expired, T0 + SEC, 5),
                     SH_ERR_NOT_FOUND);
    for (int i = 1; i <= 3; i++) {
        expect_ok(sh_store_do(st, mfa, challenge_fail, &failing, &failures));
        assert_int_equal(failures, i);
    }
    assert_int_equal(sh_store_do(st, mfa, challenge_consume, &failing, T0 + SEC, 3),
                     SH_ERR_NOT_FOUND);
    expect_ok(sh_store_do(st, mfa, challenge_consume, &failing, T0 + SEC, 4));
}

/* Challenges: both consume the round's challenge. */
static sh_status challenge_attempt(struct race *r, int who)
{
    const sh_id *ids = r->ctx;

    (void)who;
    return sh_store_do(r->st, mfa, challenge_consume, &ids[r->round], T0 + SEC, 5);
}

static void test_challenge_consume_race(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st), ids[RACE_ROUNDS];
    struct race r = {.st = st, .attempt = challenge_attempt, .lose = SH_ERR_NOT_FOUND, .ctx = ids};

    for (int i = 0; i < RACE_ROUNDS; i++)
        ids[i] = add_challenge(st, &user, T0 + 300 * SEC);
    run_race(&r, RACE_ROUNDS);
}

static void add_utoken(sh_store *st, const sh_id *user, const uint8_t hash[SH_STORE_HASH_LEN],
                       int64_t expires_at)
{
    sh_user_token_rec t;

    memset(&t, 0, sizeof(t));
    memcpy(t.hash, hash, SH_STORE_HASH_LEN);
    t.user_id = *user;
    t.purpose = SH_UTOKEN_PASSWORD_RESET;
    hash_of("bound@example.test", t.bound_idx);
    t.expires_at = expires_at;
    t.created_at = T0;
    expect_ok(sh_store_do(st, mfa, utoken_insert, &t));
}

static sh_status consume_utoken(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int purpose,
                                sh_user_token_rec *out)
{
    memset(out, 0, sizeof(*out));
    return sh_store_do(st, mfa, utoken_consume, hash, purpose, T0 + SEC, out);
}

static void test_utoken_consume_once(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st);
    uint8_t live[SH_STORE_HASH_LEN], expired[SH_STORE_HASH_LEN], bound[SH_STORE_HASH_LEN];
    sh_user_token_rec out;

    random_hash(live);
    random_hash(expired);
    hash_of("bound@example.test", bound);
    add_utoken(st, &user, live, T0 + 300 * SEC);
    add_utoken(st, &user, expired, T0);

    assert_int_equal(consume_utoken(st, live, SH_UTOKEN_EMAIL_VERIFY, &out), SH_ERR_NOT_FOUND);
    expect_ok(consume_utoken(st, live, SH_UTOKEN_PASSWORD_RESET, &out));
    assert_true(sh_id_equal(&out.user_id, &user));
    assert_memory_equal(out.bound_idx, bound, SH_STORE_HASH_LEN);
    assert_true(out.expires_at == T0 + 300 * SEC);
    assert_int_equal(consume_utoken(st, live, SH_UTOKEN_PASSWORD_RESET, &out), SH_ERR_NOT_FOUND);
    assert_int_equal(consume_utoken(st, expired, SH_UTOKEN_PASSWORD_RESET, &out), SH_ERR_NOT_FOUND);
}

/* meta_add stores a key once: the second add, from anyone, is a conflict
 * and leaves the first value. */
static void test_meta_add_once(void **state)
{
    sh_store *st = store_of(state);
    uint8_t a[4] = {1, 2, 3, 4}, b[4] = {9, 9, 9, 9}, got[8];
    size_t len = 0;

    expect_ok(sh_store_do(st, core, meta_add, "test_meta_add", a, sizeof(a)));
    assert_int_equal(sh_store_do(st, core, meta_add, "test_meta_add", b, sizeof(b)),
                     SH_ERR_CONFLICT);
    expect_ok(sh_store_do(st, core, meta_get, "test_meta_add", got, sizeof(got), &len));
    assert_int_equal(len, sizeof(a));
    assert_memory_equal(got, a, sizeof(a));
    expect_ok(sh_store_do(st, core, meta_put, "test_meta_add", b, sizeof(b)));
    expect_ok(sh_store_do(st, core, meta_get, "test_meta_add", got, sizeof(got), &len));
    assert_memory_equal(got, b, sizeof(b));
}

/* The outbox count /metrics shows: each insert adds one, each done takes one. */
static void test_mail_count(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st);
    uint8_t ct[] = "sealed";
    sh_mail_rec m = {.user_id = user,
                     .kind = 1,
                     .recipient_ct = ct,
                     .recipient_ct_len = 6,
                     .body_ct = ct,
                     .body_ct_len = 6,
                     .next_attempt_at = T0,
                     .created_at = T0};
    sh_id first;
    int64_t n = -1;

    expect_ok(sh_store_do(st, mfa, mail_count, &n));
    assert_true(n == 0);
    sh_id_random(&m.id);
    first = m.id;
    expect_ok(sh_store_do(st, mfa, mail_insert, &m));
    sh_id_random(&m.id);
    expect_ok(sh_store_do(st, mfa, mail_insert, &m));
    expect_ok(sh_store_do(st, mfa, mail_count, &n));
    assert_true(n == 2);
    expect_ok(sh_store_do(st, mfa, mail_done, &first));
    expect_ok(sh_store_do(st, mfa, mail_count, &n));
    assert_true(n == 1);
}

static void test_totp_step_replay_refused(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st);
    sh_totp_rec t = {.user_id = user,
                     .secret_ct = ct_secret,
                     .secret_ct_len = sizeof(ct_secret) - 1,
                     .created_at = T0};
    sh_totp_rec got;

    expect_ok(sh_store_do(st, mfa, totp_put_pending, &t));
    expect_ok(sh_store_do(st, mfa, totp_use_step, &user, 100));
    assert_int_equal(sh_store_do(st, mfa, totp_use_step, &user, 100), SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, mfa, totp_use_step, &user, 99), SH_ERR_NOT_FOUND);
    expect_ok(sh_store_do(st, mfa, totp_use_step, &user, 101));

    expect_ok(sh_store_do(st, mfa, totp_get, &user, &got));
    assert_true(got.last_step == 101);
    assert_blob(got.secret_ct, got.secret_ct_len, ct_secret, sizeof(ct_secret) - 1);
    sh_totp_rec_clear(&got);
}

/* ---- OAuth --------------------------------------------------------------- */

static sh_id add_client(sh_store *st)
{
    sh_oauth_client_rec c;

    memset(&c, 0, sizeof(c));
    sh_id_random(&c.id);
    snprintf(c.name, sizeof(c.name), "Partner");
    random_hash(c.secret_hash);
    snprintf(c.redirect_uris, sizeof(c.redirect_uris), "https://partner.example/cb");
    c.scopes = 3;
    c.created_at = T0;
    c.secret_set_at = T0;
    expect_ok(sh_store_do(st, oauth, client_insert, &c, NULL));
    return c.id;
}

static sh_oauth_code_rec code_rec(const sh_id *client, const sh_id *user)
{
    sh_oauth_code_rec c;

    memset(&c, 0, sizeof(c));
    random_hash(c.hash);
    c.client = *client;
    c.user = *user;
    snprintf(c.redirect_uri, sizeof(c.redirect_uri), "https://partner.example/cb");
    c.scopes = 1;
    snprintf(c.challenge, sizeof(c.challenge), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    sh_id_random(&c.devices[0].device);
    c.devices[0].generation = 7;
    c.ndevices = 1;
    c.created_at = T0;
    c.expires_at = T0 + 600 * SEC;
    return c;
}

static void test_code_consume_once(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st), client = add_client(st), grant, other;
    sh_oauth_code_rec c = code_rec(&client, &user), got;

    sh_id_random(&grant);
    sh_id_random(&other);
    expect_ok(sh_store_do(st, oauth, code_insert, &c));
    expect_ok(sh_store_do(st, oauth, code_get, c.hash, &got));
    assert_true(got.used_at == 0);
    assert_false(got.has_grant);

    expect_ok(sh_store_do(st, oauth, code_consume, c.hash, T0 + SEC, &grant));
    assert_int_equal(sh_store_do(st, oauth, code_consume, c.hash, T0 + 2 * SEC, &other),
                     SH_ERR_CONFLICT);

    expect_ok(sh_store_do(st, oauth, code_get, c.hash, &got));
    assert_true(got.used_at == T0 + SEC);
    assert_true(got.has_grant);
    assert_true(sh_id_equal(&got.grant, &grant)); /* the first consumer's */
    assert_true(sh_id_equal(&got.client, &client));
    assert_string_equal(got.challenge, c.challenge);
    assert_int_equal(got.ndevices, 1);
    assert_true(sh_id_equal(&got.devices[0].device, &c.devices[0].device));
    assert_true(got.devices[0].generation == 7);
}

static sh_id add_grant(sh_store *st, const uint8_t refresh[SH_STORE_HASH_LEN])
{
    sh_oauth_grant_rec g;

    memset(&g, 0, sizeof(g));
    sh_id_random(&g.id);
    g.user = add_user(st);
    g.client = add_client(st);
    g.scopes = 1;
    g.created_at = T0;
    g.last_used_at = T0;
    expect_ok(sh_store_do(st, oauth, grant_insert, &g, NULL, 0, refresh));
    return g.id;
}

/* Exchanges old for new at T0 + step seconds; returns the outcome. */
static int use_refresh(sh_store *st, const uint8_t old[SH_STORE_HASH_LEN],
                       const uint8_t new_hash[SH_STORE_HASH_LEN], int step, const sh_id *grant)
{
    sh_id g;
    int outcome = 0;

    expect_ok(sh_store_do(st, oauth, refresh_use, old, new_hash, T0 + step * SEC, &g, &outcome));
    assert_true(sh_id_equal(&g, grant));
    return outcome;
}

static void expect_refresh_state(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int state,
                                 int used)
{
    sh_id g;
    int s = -1, u = -1;

    expect_ok(sh_store_do(st, oauth, refresh_find, hash, &g, &s, &u));
    assert_int_equal(s, state);
    assert_int_equal(u, used);
}

static void expect_no_refresh(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN])
{
    sh_id g;
    int s, u;

    assert_int_equal(sh_store_do(st, oauth, refresh_find, hash, &g, &s, &u), SH_ERR_NOT_FOUND);
}

static void test_oauth_refresh_state_machine(void **state)
{
    sh_store *st = store_of(state);
    uint8_t t[5][SH_STORE_HASH_LEN], x[SH_STORE_HASH_LEN];
    sh_oauth_grant_rec g;
    sh_id grant;
    int outcome = 0;

    for (int i = 0; i < 5; i++)
        random_hash(t[i]);
    random_hash(x);
    grant = add_grant(st, t[1]);
    expect_refresh_state(st, t[1], SH_REFRESH_CURRENT, 0);

    /* t1 -> t2: t1 becomes previous (used), t2 current */
    assert_int_equal(use_refresh(st, t[1], t[2], 1, &grant), SH_REFRESH_ROTATED);
    expect_refresh_state(st, t[1], SH_REFRESH_PREVIOUS, 1);
    expect_refresh_state(st, t[2], SH_REFRESH_CURRENT, 0);
    /* t1 again while t2 is unused: still valid, t2 retires unused */
    assert_int_equal(use_refresh(st, t[1], t[3], 2, &grant), SH_REFRESH_ROTATED);
    expect_refresh_state(st, t[2], SH_REFRESH_RETIRED, 0);
    expect_refresh_state(st, t[3], SH_REFRESH_CURRENT, 0);
    /* t2, superseded and never used: stale, nothing stored */
    assert_int_equal(use_refresh(st, t[2], x, 3, &grant), SH_REFRESH_STALE);
    expect_no_refresh(st, x);
    /* t3 -> t4: t1 retires (used), t3 previous */
    assert_int_equal(use_refresh(st, t[3], t[4], 4, &grant), SH_REFRESH_ROTATED);
    expect_refresh_state(st, t[1], SH_REFRESH_RETIRED, 1);
    expect_refresh_state(st, t[3], SH_REFRESH_PREVIOUS, 1);
    expect_ok(sh_store_do(st, oauth, grant_get, &grant, &g));
    assert_true(g.last_used_at == T0 + 4 * SEC);
    /* t1, used and retired, comes back: reuse */
    assert_int_equal(use_refresh(st, t[1], x, 5, &grant), SH_REFRESH_REUSED);
    expect_no_refresh(st, x);
    expect_refresh_state(st, t[4], SH_REFRESH_CURRENT, 0);

    assert_int_equal(sh_store_do(st, oauth, refresh_use, x, t[0], T0, &grant, &outcome),
                     SH_ERR_NOT_FOUND);
}

/* Codes: both exchange the round's code. */
static sh_status code_attempt(struct race *r, int who)
{
    uint8_t(*hashes)[SH_STORE_HASH_LEN] = r->ctx;
    sh_id grant;

    (void)who;
    sh_id_random(&grant);
    return sh_store_do(r->st, oauth, code_consume, hashes[r->round], T0 + SEC, &grant);
}

static void test_code_consume_race(void **state)
{
    sh_store *st = store_of(state);
    sh_id user = add_user(st), client = add_client(st);
    uint8_t hashes[RACE_ROUNDS][SH_STORE_HASH_LEN];
    struct race r = {.st = st, .attempt = code_attempt, .lose = SH_ERR_CONFLICT, .ctx = hashes};

    for (int i = 0; i < RACE_ROUNDS; i++) {
        sh_oauth_code_rec c = code_rec(&client, &user);
        memcpy(hashes[i], c.hash, SH_STORE_HASH_LEN);
        expect_ok(sh_store_do(st, oauth, code_insert, &c));
    }
    run_race(&r, RACE_ROUNDS);
}

/* ---- transactions -------------------------------------------------------- */

struct user_probe {
    sh_store *st;
    sh_id id;
    sh_status rc;
};

static void *probe_main(void *arg)
{
    struct user_probe *p = arg;

    p->rc = user_exists(p->st, &p->id);
    return NULL;
}

/* user_get from another thread, outside any transaction of this one. */
static sh_status user_seen_elsewhere(sh_store *st, const sh_id *id)
{
    struct user_probe p = {.st = st, .id = *id, .rc = SH_ERR_INTERNAL};

    on_other_thread(probe_main, &p);
    return p.rc;
}

/* A user and a session, then whatever status `result` says. */
struct tx_work {
    sh_user_rec user;
    sh_id session;
    int duplicate; /* also insert a second user with the same e-mail */
    sh_status result;
    int calls;
};

static sh_status tx_work_fn(sh_store *tx, void *ctx)
{
    struct tx_work *w = ctx;
    sh_user_rec dup = w->user;
    sh_status rc;

    w->calls++;
    if ((rc = sh_store_do(tx, core, user_insert, &w->user)) != SH_OK)
        return rc;
    w->session = add_session_any(tx, &w->user.id, T0);
    if (w->duplicate) {
        sh_id_random(&dup.id);
        if ((rc = sh_store_do(tx, core, user_insert, &dup)) != SH_OK)
            return rc;
    }
    return w->result;
}

static void run_tx_work(sh_store *st, int duplicate, sh_status result, sh_status want)
{
    struct tx_work w = {
        .user = user_rec("tx@example.test"), .duplicate = duplicate, .result = result};
    sh_session_rec s;
    sh_status rc;

    assert_int_equal(sh_store_tx_run(st, tx_work_fn, &w), want);
    assert_int_equal(w.calls, 1);
    rc = sh_store_do(st, core, session_get, &w.session, &s);
    if (rc == SH_OK)
        sh_session_rec_clear(&s);
    if (want == SH_OK) {
        expect_ok(user_exists(st, &w.user.id));
        expect_ok(rc);
    } else {
        assert_int_equal(user_exists(st, &w.user.id), SH_ERR_NOT_FOUND);
        assert_int_equal(rc, SH_ERR_NOT_FOUND);
    }
}

static void test_tx_run_all_or_nothing(void **state)
{
    sh_store *st = store_of(state);

    /* fn fails on its own after two writes: both roll back */
    run_tx_work(st, 0, SH_ERR_INVALID_REQUEST, SH_ERR_INVALID_REQUEST);
    /* a statement of fn fails: the earlier writes roll back */
    run_tx_work(st, 1, SH_OK, SH_ERR_CONFLICT);
    /* and the same work commits when fn succeeds */
    run_tx_work(st, 0, SH_OK, SH_OK);
}

/* outer_rc / inner_rc: what each level ends with. */
static void nested_tx(sh_store *st, sh_status inner_rc, sh_status outer_rc, int want_commit)
{
    sh_store *outer = NULL, *inner = NULL;
    sh_user_rec a = user_rec("outer@example.test"), b = user_rec("inner@example.test");
    sh_status end;

    expect_ok(sh_store_tx_begin(st, &outer));
    expect_ok(sh_store_do(outer, core, user_insert, &a));
    expect_ok(sh_store_tx_begin(st, &inner));
    assert_ptr_equal(inner, outer); /* flattened into the open one */
    /* through the store itself: this thread's calls join the transaction */
    expect_ok(sh_store_do(st, core, user_insert, &b));
    assert_int_equal(sh_store_tx_end(inner, inner_rc), inner_rc);
    /* the inner end committed nothing */
    assert_int_equal(user_seen_elsewhere(st, &a.id), SH_ERR_NOT_FOUND);
    assert_int_equal(user_seen_elsewhere(st, &b.id), SH_ERR_NOT_FOUND);
    end = sh_store_tx_end(outer, outer_rc);
    if (want_commit) {
        expect_ok(end);
        expect_ok(user_seen_elsewhere(st, &a.id));
        expect_ok(user_seen_elsewhere(st, &b.id));
    } else {
        assert_int_not_equal(end, SH_OK);
        assert_int_equal(user_exists(st, &a.id), SH_ERR_NOT_FOUND);
        assert_int_equal(user_exists(st, &b.id), SH_ERR_NOT_FOUND);
    }
}

static void test_tx_nested_flattens(void **state)
{
    sh_store *st = store_of(state);

    nested_tx(st, SH_OK, SH_ERR_INTERNAL, 0); /* the outer rolls back both */
    nested_tx(st, SH_ERR_CONFLICT, SH_OK, 0); /* a failed inner part spoils the outer */
    nested_tx(st, SH_OK, SH_OK, 1);
}

/* Read-modify-write of one counter from two threads: a lost update would
 * show as a total below 2 * COUNTER_ROUNDS; a serialization failure must be
 * retried by sh_store_tx_run, not returned. */
#define COUNTER_ROUNDS 40
#define COUNTER_KEY "test.counter"

static sh_status counter_bump(sh_store *tx, void *ctx)
{
    uint8_t v[8] = {0};
    size_t len = 0;
    uint64_t n = 0;
    sh_status rc = sh_store_do(tx, core, meta_get, COUNTER_KEY, v, sizeof(v), &len);

    (void)ctx;
    if (rc != SH_OK)
        return rc;
    memcpy(&n, v, sizeof(n));
    n++;
    memcpy(v, &n, sizeof(n));
    return sh_store_do(tx, core, meta_put, COUNTER_KEY, v, sizeof(v));
}

struct counter_worker {
    sh_store *st;
    sh_status rc;
};

static void *counter_main(void *arg)
{
    struct counter_worker *w = arg;

    for (int i = 0; i < COUNTER_ROUNDS && w->rc == SH_OK; i++)
        w->rc = sh_store_tx_run(w->st, counter_bump, NULL);
    return NULL;
}

static void test_tx_run_retries_conflicts(void **state)
{
    sh_store *st = store_of(state);
    struct counter_worker w[2] = {{st, SH_OK}, {st, SH_OK}};
    uint8_t v[8] = {0};
    size_t len = 0;
    uint64_t n;
    pthread_t t[2];

    expect_ok(sh_store_do(st, core, meta_put, COUNTER_KEY, v, sizeof(v)));
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, counter_main, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    expect_ok(w[0].rc);
    expect_ok(w[1].rc);
    expect_ok(sh_store_do(st, core, meta_get, COUNTER_KEY, v, sizeof(v), &len));
    assert_int_equal(len, sizeof(v));
    memcpy(&n, v, sizeof(n));
    assert_int_equal(n, 2 * COUNTER_ROUNDS);
}

/* ---- listing callbacks that call the store again ------------------------- */

struct reentry {
    sh_store *st;
    const sh_id *other; /* NULL, or a user to list from inside the callback */
    struct session_seen outer;
    int user_get_ok;
    int inner_lists_ok;
};

static void reenter_session(void *ctx, const sh_session_rec *s)
{
    struct reentry *x = ctx;
    struct session_seen inner = {.n = 0, .blobs_ok = 1};

    collect_session(&x->outer, s);
    if (user_exists(x->st, &s->user_id) == SH_OK)
        x->user_get_ok++;
    if (x->other != NULL &&
        sh_store_do(x->st, core, session_list, x->other, collect_session, &inner) == SH_OK &&
        inner.n == 1)
        x->inner_lists_ok++;
}

/* Lists three sessions of one user; the callback calls user_get and, with
 * nested set, lists the one session of another user. */
static void list_and_reenter(sh_store *st, int nested)
{
    sh_id user = add_user(st), other = add_user(st);
    struct reentry x = {.st = st, .other = nested ? &other : NULL, .outer = {.blobs_ok = 1}};

    for (int i = 0; i < 3; i++)
        add_session_any(st, &user, T0 + i * SEC);
    add_session_any(st, &other, T0);

    expect_ok(sh_store_do(st, core, session_list, &user, reenter_session, &x));
    if (x.outer.n != 3 || x.user_get_ok != 3 || x.inner_lists_ok != (nested ? 3 : 0))
        fail_msg("outer list saw %d of 3 sessions; user_get ok %d times, nested list ok %d "
                 "times",
                 x.outer.n, x.user_get_ok, x.inner_lists_ok);
}

static void test_list_callback_calls_user_get(void **state)
{
    list_and_reenter(store_of(state), 0);
}

static void test_list_callback_lists_again(void **state) { list_and_reenter(store_of(state), 1); }

/* ---- the groups ---------------------------------------------------------- */

/* ---- bulk copy ------------------------------------------------------------ */

#define BULK_ROWS 4
#define BULK_VAL_MAX 64

/* What table_export delivered, copied out of the callback. */
struct bulk_got {
    int n, ncols;
    char names[SH_STORE_COLS_MAX][SH_STORE_NAME_MAX + 1];
    sh_store_value v[BULK_ROWS][SH_STORE_COLS_MAX];
    uint8_t buf[BULK_ROWS][SH_STORE_COLS_MAX][BULK_VAL_MAX];
};

static sh_status bulk_collect(void *ctx, int ncols, const char *const *names,
                              const sh_store_value *vals)
{
    struct bulk_got *g = ctx;

    if (g->n >= BULK_ROWS || ncols > SH_STORE_COLS_MAX)
        return SH_ERR_INTERNAL;
    g->ncols = ncols;
    for (int i = 0; i < ncols; i++) {
        snprintf(g->names[i], sizeof(g->names[i]), "%s", names[i]);
        g->v[g->n][i] = vals[i];
        if (vals[i].kind == SH_VAL_TEXT || vals[i].kind == SH_VAL_BLOB) {
            if (vals[i].p == NULL || vals[i].len > BULK_VAL_MAX)
                return SH_ERR_INTERNAL;
            memcpy(g->buf[g->n][i], vals[i].p, vals[i].len);
            g->v[g->n][i].p = g->buf[g->n][i];
        }
    }
    g->n++;
    return SH_OK;
}

static struct bulk_got *bulk_export(sh_store *st, const char *table)
{
    struct bulk_got *g = calloc(1, sizeof(*g));

    assert_non_null(g);
    expect_ok(sh_store_do(st, core, table_export, table, bulk_collect, g));
    return g;
}

/* Asserts that row `row` of g holds want[i] in column names[i]. */
static void bulk_assert_row(const struct bulk_got *g, int row, int n, const char *const *names,
                            const sh_store_value *want)
{
    for (int i = 0; i < n; i++) {
        const sh_store_value *got = NULL;

        for (int c = 0; c < g->ncols; c++) {
            if (strcmp(g->names[c], names[i]) == 0)
                got = &g->v[row][c];
        }
        assert_non_null(got);
        assert_int_equal(got->kind, want[i].kind);
        if (want[i].kind == SH_VAL_INT)
            assert_true(got->i == want[i].i);
        if (want[i].kind == SH_VAL_TEXT || want[i].kind == SH_VAL_BLOB)
            assert_blob(got->p, got->len, want[i].p, want[i].len);
    }
}

static void bulk_import(sh_store *st, const char *table, int ncols, const char *const *names,
                        const sh_store_value *rows, int nrows, int ok)
{
    sh_store_import *im = NULL;

    expect_ok(sh_store_do(st, core, table_import_begin, table, ncols, names, &im));
    for (int r = 0; r < nrows; r++)
        expect_ok(sh_store_do(st, core, table_import_row, im, rows + r * ncols));
    expect_ok(sh_store_do(st, core, table_import_end, im, ok));
}

static int64_t bulk_count(sh_store *st, const char *table)
{
    int64_t n = -1;

    expect_ok(sh_store_do(st, core, table_count, table, &n));
    return n;
}

static sh_store_value v_null(void) { return (sh_store_value){.kind = SH_VAL_NULL}; }
static sh_store_value v_int(int64_t i) { return (sh_store_value){.kind = SH_VAL_INT, .i = i}; }

static sh_store_value v_text(const char *s)
{
    return (sh_store_value){.kind = SH_VAL_TEXT, .p = (const uint8_t *)s, .len = strlen(s)};
}

static sh_store_value v_blob(const void *b, size_t n)
{
    return (sh_store_value){.kind = SH_VAL_BLOB, .p = b, .len = n};
}

struct bulk_tables {
    int meta, clients, schema_version;
};

static void bulk_table_seen(void *ctx, const char *table)
{
    struct bulk_tables *t = ctx;

    t->meta += strcmp(table, "meta") == 0;
    t->clients += strcmp(table, "oauth_clients") == 0;
    t->schema_version += strcmp(table, "schema_version") == 0;
}

/* Values come back as they went in, byte for byte, whatever COPY or SQL
 * would make of them; rules keep their order. */
static void test_bulk_round_trip(void **state)
{
    sh_store *st = store_of(state);
    static const uint8_t id[SH_ID_LEN] = {0, 1, 2, '\\', '\t', '\n', 0xff, 0x80, 9, 10, 11, 12};
    static const uint8_t hash[SH_STORE_HASH_LEN] = {0, '\\', 'x', '0', 0xfe, '\r', '\n'};
    static const uint8_t id2[SH_ID_LEN] = {0xff, 1}, id3[SH_ID_LEN] = {0x01, 2};
    static const char *const client_cols[] = {
        "id",         "name",          "secret_hash", "redirect_uris", "scopes", "service_key_hash",
        "created_at", "secret_set_at", "disabled_at"};
    const sh_store_value client[] = {
        v_blob(id, sizeof(id)),
        v_text("Back\\slash\ttab \\N \xc3\x9c"),
        v_blob(hash, sizeof(hash)),
        v_text("https://a.test/x\nhttps://b.test/y\r"),
        v_int(7),
        v_null(),
        v_int(INT64_MAX),
        v_int(-1),
        v_null(),
    };
    static const char *const meta_cols[] = {"key", "value"};
    const sh_store_value meta[] = {v_text("k\\\r\n\t."), v_blob("", 0)};
    static const char *const rule_cols[] = {"seq",   "id",         "scope",
                                            "value", "not_before", "created_at"};
    const sh_store_value rules[] = {
        v_int(4), v_blob(id2, sizeof(id2)), v_int(3), v_text(""),    v_int(T0), v_int(T0),
        v_int(9), v_blob(id3, sizeof(id3)), v_int(2), v_text("ios"), v_int(T0), v_int(T0 + 1),
    };
    struct bulk_tables seen = {0, 0, 0};
    struct bulk_got *g;

    bulk_import(st, "oauth_clients", 9, client_cols, client, 1, 1);
    bulk_import(st, "meta", 2, meta_cols, meta, 1, 1);
    bulk_import(st, "revocation_rules", 6, rule_cols, rules, 2, 1);
    assert_true(bulk_count(st, "oauth_clients") == 1);
    assert_true(bulk_count(st, "meta") == 1);
    assert_true(bulk_count(st, "revocation_rules") == 2);

    g = bulk_export(st, "oauth_clients");
    assert_int_equal(g->n, 1);
    bulk_assert_row(g, 0, 9, client_cols, client);
    free(g);
    g = bulk_export(st, "meta");
    assert_int_equal(g->n, 1);
    bulk_assert_row(g, 0, 2, meta_cols, meta);
    free(g);
    /* seq is the store's to number; the order is the import's */
    g = bulk_export(st, "revocation_rules");
    assert_int_equal(g->n, 2);
    bulk_assert_row(g, 0, 5, rule_cols + 1, rules + 1);
    bulk_assert_row(g, 1, 5, rule_cols + 1, rules + 7);
    for (int c = 0; c < g->ncols; c++)
        assert_string_not_equal(g->names[c], "txid"); /* PostgreSQL's own */
    free(g);

    expect_ok(sh_store_do(st, core, table_list, bulk_table_seen, &seen));
    assert_int_equal(seen.meta, 1);
    assert_int_equal(seen.clients, 1);
    assert_int_equal(seen.schema_version, 0);
}

/* A bulk hint changes no stored value: rows imported after it, with ids
 * from an ascending run, read back as written. */
static void test_bulk_hint_changes_nothing(void **state)
{
    sh_store *st = store_of(state);
    static const char *const meta_cols[] = {"key", "value"};
    sh_store_value rows[BULK_ROWS * 2];
    struct bulk_got *g;
    char keys[BULK_ROWS][16];
    sh_id ids[BULK_ROWS];

    expect_ok(sh_store_do(st, core, bulk_hint, SH_STORE_BULK_BYTES));
    expect_ok(sh_store_do(st, core, bulk_hint, 0)); /* nothing to ask for: fine */
    sh_id_ascending_begin(BULK_ROWS);
    for (int i = 0; i < BULK_ROWS; i++) {
        sh_id_random(&ids[i]);
        snprintf(keys[i], sizeof(keys[i]), "k%02d", i);
        rows[2 * i] = v_text(keys[i]);
        rows[2 * i + 1] = v_blob(ids[i].b, SH_ID_LEN);
    }
    sh_id_ascending_end();
    bulk_import(st, "meta", 2, meta_cols, rows, BULK_ROWS, 1);
    assert_true(bulk_count(st, "meta") == BULK_ROWS);
    g = bulk_export(st, "meta");
    assert_int_equal(g->n, BULK_ROWS);
    for (int i = 0; i < BULK_ROWS; i++)
        bulk_assert_row(g, i, 2, meta_cols, rows + 2 * i);
    free(g);
}

static void test_bulk_unknown_names(void **state)
{
    sh_store *st = store_of(state);
    static const char *const bad_col[] = {"key", "nope"};
    static const char *const bad_name[] = {"key\"--"};
    sh_store_import *im = NULL;
    struct bulk_got g;
    int64_t n;

    memset(&g, 0, sizeof(g));
    assert_int_equal(sh_store_do(st, core, table_count, "nope", &n), SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, core, table_export, "nope", bulk_collect, &g),
                     SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, core, table_import_begin, "meta", 2, bad_col, &im),
                     SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, core, table_import_begin, "nope", 2, bad_col, &im),
                     SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(st, core, table_import_begin, "meta", 1, bad_name, &im),
                     SH_ERR_INVALID_REQUEST);
    assert_null(im);
}

struct bulk_tx {
    int fail;
};

static sh_status bulk_tx_body(sh_store *tx, void *ctx)
{
    static const char *const cols[] = {"key", "value"};
    const sh_store_value row[] = {v_text("in-tx"), v_blob("v", 1)};
    struct bulk_tx *b = ctx;

    bulk_import(tx, "meta", 2, cols, row, 1, 1);
    return b->fail ? SH_ERR_INVALID_REQUEST : SH_OK;
}

/* An import is atomic on its own and part of a caller's transaction. */
static void test_bulk_import_all_or_nothing(void **state)
{
    sh_store *st = store_of(state);
    static const char *const cols[] = {"key", "value"};
    const sh_store_value rows[] = {v_text("a"), v_blob("1", 1), v_text("b"), v_blob("2", 1)};
    struct bulk_tx b = {1};

    bulk_import(st, "meta", 2, cols, rows, 2, 0); /* abandoned */
    assert_true(bulk_count(st, "meta") == 0);
    assert_int_equal(sh_store_tx_run(st, bulk_tx_body, &b), SH_ERR_INVALID_REQUEST);
    assert_true(bulk_count(st, "meta") == 0);
    b.fail = 0;
    expect_ok(sh_store_tx_run(st, bulk_tx_body, &b));
    assert_true(bulk_count(st, "meta") == 1);
}

/* ---- schema version (readiness) ------------------------------------------ */

static void test_schema_version_is_current_after_open(void **state)
{
    sh_store *st = store_of(state);
    int stored = -1, known = -1;

    expect_ok(sh_store_do(st, core, schema_version, &stored, &known));
    assert_true(known >= 1);
    assert_int_equal(stored, known);
}

#define STORE_CASE(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

/* Every case of the contract, on the backend `setup` opens. */
#define STORE_CASES(setup)                                                                         \
    STORE_CASE(test_user_insert_get_conflict, setup),                                              \
        STORE_CASE(test_session_insert_list_revoke, setup),                                        \
        STORE_CASE(test_refresh_rotate_exactly_once, setup),                                       \
        STORE_CASE(test_refresh_rotate_race, setup),                                               \
        STORE_CASE(test_rules_feed_never_misses, setup),                                           \
        STORE_CASE(test_device_insert_get, setup), STORE_CASE(test_device_claim_once, setup),      \
        STORE_CASE(test_device_claim_race, setup),                                                 \
        STORE_CASE(test_device_release_moves_generation, setup),                                   \
        STORE_CASE(test_challenge_consume_once, setup),                                            \
        STORE_CASE(test_challenge_consume_race, setup),                                            \
        STORE_CASE(test_utoken_consume_once, setup), STORE_CASE(test_mail_count, setup),           \
        STORE_CASE(test_meta_add_once, setup), STORE_CASE(test_totp_step_replay_refused, setup),   \
        STORE_CASE(test_code_consume_once, setup), STORE_CASE(test_code_consume_race, setup),      \
        STORE_CASE(test_oauth_refresh_state_machine, setup),                                       \
        STORE_CASE(test_tx_run_all_or_nothing, setup), STORE_CASE(test_tx_nested_flattens, setup), \
        STORE_CASE(test_tx_run_retries_conflicts, setup),                                          \
        STORE_CASE(test_list_callback_calls_user_get, setup),                                      \
        STORE_CASE(test_list_callback_lists_again, setup),                                         \
        STORE_CASE(test_bulk_round_trip, setup), STORE_CASE(test_bulk_unknown_names, setup),       \
        STORE_CASE(test_bulk_import_all_or_nothing, setup),                                        \
        STORE_CASE(test_bulk_hint_changes_nothing, setup),                                         \
        STORE_CASE(test_schema_version_is_current_after_open, setup)

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {STORE_CASES(sqlite_setup)};
    /* Writers on PostgreSQL do not hold one lock across a transaction, so
     * there a late commit can be observed. */
    const struct CMUnitTest pg_tests[] = {STORE_CASES(pg_setup),
                                          STORE_CASE(test_rules_feed_late_commit, pg_setup)};
    const char *pg_url = getenv(PG_URL_ENV);
    int failed = cmocka_run_group_tests_name("store/sqlite", sqlite_tests, group_setup, NULL);

    if (pg_url == NULL || *pg_url == '\0') {
        printf("store/postgres: skipped (%s is not set)\n", PG_URL_ENV);
        fflush(stdout);
        return failed;
    }
    return failed + cmocka_run_group_tests_name("store/postgres", pg_tests, group_setup, NULL);
}
