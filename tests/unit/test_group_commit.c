/*
 * test_group_commit.c - the group commit (store/group_commit.h): callers on
 * many threads share commits; each gets its own item's answer; a failed
 * item or commit fails its whole batch and nothing of it stays; a retried
 * batch recomputes every status; stop commits what was queued.
 *
 * Items write rows of the meta table (key = value = a name unique to the
 * run), through a real store: SQLite on a fresh file in a mkdtemp
 * directory per case, and PostgreSQL when SAFEHOUSE_TEST_PG_URL names a
 * database (the keys are unique, so nothing needs wiping). A "gate" item
 * holds the flusher inside a batch until the test opens it, so that what
 * the callers queue meanwhile is known to form the next batch. A failing
 * commit and a retried one are played by a stub store whose commit fails
 * on demand.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/log.h"
#include "core/status.h"
#include "store/group_commit.h"
#include "store/store.h"

#define PG_URL_ENV "SAFEHOUSE_TEST_PG_URL"
#define KEY_MAX 48
#define THREADS 16
#define PER_THREAD 50
#define WAIT_STEP_US 1000

#define expect_ok(expr) assert_int_equal((expr), SH_OK)

/* ---- fixture: a store and a committer per case --------------------------- */

struct fx {
    char dir[64]; /* SQLite: the temp dir; "" otherwise */
    sh_store *st;
    sh_group_commit *gc;
    char run[17]; /* hex, unique to the case: prefixes every key */
};

static int fx_open(void **state, struct fx *f, const char *url)
{
    uint8_t r[8];

    *state = f;
    randombytes_buf(r, sizeof(r));
    sodium_bin2hex(f->run, sizeof(f->run), r, sizeof(r));
    if (url != NULL && sh_store_open(url, NULL, &f->st) != SH_OK)
        return -1;
    if (f->st != NULL && sh_group_commit_start(f->st, "test_batch_failed", &f->gc) != SH_OK)
        return -1;
    return 0;
}

static int sqlite_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    char url[128];

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sh-unit-gc-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        f->dir[0] = '\0';
        *state = f;
        return -1;
    }
    snprintf(url, sizeof(url), "sqlite:%s/safehouse.db", f->dir);
    return fx_open(state, f, url);
}

static int pg_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    return f == NULL ? -1 : fx_open(state, f, getenv(PG_URL_ENV));
}

static int fx_teardown(void **state)
{
    static const char *const files[] = {"safehouse.db", "safehouse.db-wal", "safehouse.db-shm"};
    struct fx *f = *state;
    char p[128];

    if (f == NULL)
        return 0;
    sh_group_commit_stop(f->gc); /* NULL when a case stopped it */
    sh_store_close(f->st);
    for (size_t i = 0; f->dir[0] != '\0' && i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", f->dir, files[i]);
        unlink(p);
    }
    if (f->dir[0] != '\0')
        rmdir(f->dir);
    free(f);
    return 0;
}

static struct fx *fx_of(void **state) { return *state; }

/* ---- items ---------------------------------------------------------------- */

static atomic_int items_run; /* item calls, every attempt counted */

/* An item. On a real store (item_fn) it writes meta[key] = key, then
 * answers `answer`; answering SH_ERR_CONFLICT or SH_ERR_NOT_FOUND it
 * writes nothing (the contract). On the stub store (stub_fn) it writes
 * nothing and answers `answer` at its first attempt, `later` after. */
struct item {
    char key[KEY_MAX];
    sh_status answer;
    sh_status later;
    int attempts;
    sh_status got;     /* what submit returned */
    int run_at_return; /* items_run when submit returned */
};

static sh_status item_fn(sh_store *tx, void *arg)
{
    struct item *it = arg;
    sh_status rc;

    atomic_fetch_add(&items_run, 1);
    if (it->answer == SH_ERR_CONFLICT || it->answer == SH_ERR_NOT_FOUND)
        return it->answer;
    rc = sh_store_do(tx, core, meta_put, it->key, (const uint8_t *)it->key, strlen(it->key));
    return rc != SH_OK ? rc : it->answer;
}

static void item_init(struct item *it, const struct fx *f, const char *what, int n,
                      sh_status answer)
{
    memset(it, 0, sizeof(*it));
    snprintf(it->key, sizeof(it->key), "gc-%s-%s-%d", f->run, what, n);
    it->answer = answer;
    it->got = SH_ERR__COUNT;
}

static int stored(sh_store *st, const char *key)
{
    uint8_t buf[KEY_MAX];
    size_t len = 0;
    sh_status rc = sh_store_do(st, core, meta_get, key, buf, sizeof(buf), &len);

    if (rc != SH_OK && rc != SH_ERR_NOT_FOUND)
        fail_msg("meta_get %s: %s", key, sh_status_code(rc));
    return rc == SH_OK && len == strlen(key) && memcmp(buf, key, len) == 0;
}

/* ---- callers: one thread submits a run of items --------------------------- */

struct caller {
    sh_group_commit *gc;
    sh_group_commit_fn fn;
    struct item *items;
    size_t n;
    pthread_t t;
};

static void *caller_main(void *arg)
{
    struct caller *c = arg;

    for (size_t i = 0; i < c->n; i++) {
        c->items[i].got = sh_group_commit_submit(c->gc, c->fn, &c->items[i]);
        c->items[i].run_at_return = atomic_load(&items_run);
    }
    return NULL;
}

static void callers_start(struct caller *c, size_t nc, sh_group_commit *gc, sh_group_commit_fn fn,
                          struct item *items, size_t per)
{
    for (size_t i = 0; i < nc; i++) {
        c[i].gc = gc;
        c[i].fn = fn;
        c[i].items = items + i * per;
        c[i].n = per;
        assert_int_equal(pthread_create(&c[i].t, NULL, caller_main, &c[i]), 0);
    }
}

static void callers_join(struct caller *c, size_t nc)
{
    for (size_t i = 0; i < nc; i++)
        pthread_join(c[i].t, NULL);
}

/* ---- the gate: an item that holds the flusher until opened --------------- */

struct gate {
    pthread_mutex_t m;
    pthread_cond_t c;
    int entered;
    int open;
    sh_group_commit *gc;
    sh_status got;
    pthread_t t;
};

static sh_status gate_fn(sh_store *tx, void *arg)
{
    struct gate *g = arg;

    (void)tx;
    pthread_mutex_lock(&g->m);
    g->entered = 1;
    pthread_cond_broadcast(&g->c);
    while (!g->open)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
    return SH_OK;
}

static void *gate_main(void *arg)
{
    struct gate *g = arg;

    g->got = sh_group_commit_submit(g->gc, gate_fn, g);
    return NULL;
}

/* Submits the gate and returns once the flusher is held in it. */
static void gate_close(struct gate *g, sh_group_commit *gc)
{
    memset(g, 0, sizeof(*g));
    pthread_mutex_init(&g->m, NULL);
    pthread_cond_init(&g->c, NULL);
    g->gc = gc;
    assert_int_equal(pthread_create(&g->t, NULL, gate_main, g), 0);
    pthread_mutex_lock(&g->m);
    while (!g->entered)
        pthread_cond_wait(&g->c, &g->m);
    pthread_mutex_unlock(&g->m);
}

static void gate_open(struct gate *g)
{
    pthread_mutex_lock(&g->m);
    g->open = 1;
    pthread_cond_broadcast(&g->c);
    pthread_mutex_unlock(&g->m);
    pthread_join(g->t, NULL);
    assert_int_equal(g->got, SH_OK);
    pthread_mutex_destroy(&g->m);
    pthread_cond_destroy(&g->c);
}

static void wait_pending(sh_group_commit *gc, size_t n)
{
    while (sh_group_commit_pending(gc) < n)
        usleep(WAIT_STEP_US);
}

/* Submits n items, one caller thread each, while a gate holds the flusher,
 * so that they form one batch; returns when every caller has its answer. */
static void one_batch(sh_group_commit *gc, sh_group_commit_fn fn, struct item *items, size_t n)
{
    struct caller c[THREADS];
    struct gate g;

    assert_true(n <= THREADS);
    gate_close(&g, gc);
    callers_start(c, n, gc, fn, items, 1);
    wait_pending(gc, n);
    gate_open(&g);
    callers_join(c, n);
}

/* ---- cases on a real store ------------------------------------------------ */

/* Many threads, many items each: every one answered SH_OK and stored. */
static void test_many_threads_all_stored(void **state)
{
    struct fx *f = fx_of(state);
    struct item *items = calloc(THREADS * PER_THREAD, sizeof(*items));
    struct caller c[THREADS];

    assert_non_null(items);
    for (int i = 0; i < THREADS * PER_THREAD; i++)
        item_init(&items[i], f, "many", i, SH_OK);
    callers_start(c, THREADS, f->gc, item_fn, items, PER_THREAD);
    callers_join(c, THREADS);
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        if (items[i].got != SH_OK || !stored(f->st, items[i].key))
            fail_msg("item %d: %s, stored %d", i, sh_status_code(items[i].got),
                     stored(f->st, items[i].key));
    }
    free(items);
}

/* What queues while a batch commits is one batch: no caller of it returns
 * before every item of it ran. */
static void test_waiters_share_one_commit(void **state)
{
    struct fx *f = fx_of(state);
    struct item items[THREADS];
    int before = atomic_load(&items_run);

    for (int i = 0; i < THREADS; i++)
        item_init(&items[i], f, "share", i, SH_OK);
    one_batch(f->gc, item_fn, items, THREADS);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(items[i].got, SH_OK);
        assert_true(stored(f->st, items[i].key));
        if (items[i].run_at_return < before + THREADS)
            fail_msg("caller %d returned after %d of %d items", i, items[i].run_at_return - before,
                     THREADS);
    }
}

/* In one batch, each caller gets its own item's answer; the items that
 * answered SH_OK are stored, the others wrote nothing. */
static void test_statuses_kept_apart(void **state)
{
    static const sh_status answers[] = {SH_OK, SH_ERR_CONFLICT, SH_ERR_NOT_FOUND};
    struct fx *f = fx_of(state);
    struct item items[THREADS];

    for (int i = 0; i < THREADS; i++)
        item_init(&items[i], f, "apart", i, answers[i % 3]);
    one_batch(f->gc, item_fn, items, THREADS);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(items[i].got, items[i].answer);
        assert_int_equal(stored(f->st, items[i].key), items[i].answer == SH_OK);
    }
}

/* An item failing otherwise (here after its write) fails its batch: every
 * caller of it gets that failure and no item of it is stored. The next
 * batch commits as usual. */
static void test_failing_item_fails_batch(void **state)
{
    struct fx *f = fx_of(state);
    struct item items[THREADS], after;

    for (int i = 0; i < THREADS; i++)
        item_init(&items[i], f, "fail", i, i == THREADS / 2 ? SH_ERR_STORE : SH_OK);
    one_batch(f->gc, item_fn, items, THREADS);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(items[i].got, SH_ERR_STORE);
        assert_false(stored(f->st, items[i].key));
    }
    item_init(&after, f, "after", 0, SH_OK);
    expect_ok(sh_group_commit_submit(f->gc, item_fn, &after));
    assert_true(stored(f->st, after.key));
}

static void *stopper_main(void *arg)
{
    sh_group_commit_stop(arg);
    return NULL;
}

/* Stop commits what was queued before it and refuses what comes after. */
static void test_stop_drains(void **state)
{
    struct fx *f = fx_of(state);
    struct item items[THREADS], late;
    struct caller c[THREADS], lc;
    struct gate g;
    pthread_t stopper;

    for (int i = 0; i < THREADS; i++)
        item_init(&items[i], f, "drain", i, SH_OK);
    item_init(&late, f, "late", 0, SH_OK);
    gate_close(&g, f->gc);
    callers_start(c, THREADS, f->gc, item_fn, items, 1);
    wait_pending(f->gc, THREADS);
    assert_int_equal(pthread_create(&stopper, NULL, stopper_main, f->gc), 0);
    usleep(200 * 1000); /* the stopper has marked it stopping */
    callers_start(&lc, 1, f->gc, item_fn, &late, 1);
    callers_join(&lc, 1); /* refused at once: the flusher is still held */
    gate_open(&g);
    pthread_join(stopper, NULL);
    f->gc = NULL;
    callers_join(c, THREADS);
    assert_int_equal(late.got, SH_ERR_UNAVAILABLE);
    assert_false(stored(f->st, late.key));
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(items[i].got, SH_OK);
        assert_true(stored(f->st, items[i].key));
    }
}

/* ---- a stub store whose commit fails on demand ---------------------------- */

struct stub {
    sh_store base;
    sh_store tx;
    int commits;         /* commits asked for (by the flusher only) */
    int pass;            /* commits that succeed before the failures */
    int fails;           /* then, commits that fail */
    sh_status fail_with; /* what a failing commit returns */
};

static struct sh_store_core_ops stub_ops;

static sh_status stub_tx_begin(sh_store *st, sh_store **out)
{
    struct stub *s = (struct stub *)st;

    s->tx = s->base;
    s->tx.root = st;
    *out = &s->tx;
    return SH_OK;
}

static sh_status stub_tx_end(sh_store *tx, int commit)
{
    struct stub *s = (struct stub *)tx->root;
    int n;

    if (!commit)
        return SH_OK;
    n = s->commits++;
    return n >= s->pass && n < s->pass + s->fails ? s->fail_with : SH_OK;
}

static sh_status stub_fn(sh_store *tx, void *arg)
{
    struct item *it = arg;

    (void)tx;
    return it->attempts++ == 0 ? it->answer : it->later;
}

/* Runs the n items as one batch, behind a gate's batch, on a stub store
 * whose commits after the gate's fail `fails` times with fail_with. */
static void stub_batch(struct stub *s, sh_status fail_with, int fails, struct item *items, size_t n)
{
    sh_group_commit *gc;

    stub_ops.tx_begin = stub_tx_begin;
    stub_ops.tx_end = stub_tx_end;
    memset(s, 0, sizeof(*s));
    s->base.core = &stub_ops;
    s->base.backend = "stub";
    s->pass = 1; /* the gate's batch */
    s->fails = fails;
    s->fail_with = fail_with;
    expect_ok(sh_group_commit_start(&s->base, "test_batch_failed", &gc));
    one_batch(gc, stub_fn, items, n);
    sh_group_commit_stop(gc);
}

/* A commit that fails fails every item of its batch, whatever the item
 * answered. */
static void test_failing_commit_fails_batch(void **state)
{
    struct item items[6];
    struct stub s;

    (void)state;
    memset(items, 0, sizeof(items));
    for (int i = 0; i < 6; i++)
        items[i].answer = items[i].later = i % 2 ? SH_ERR_CONFLICT : SH_OK;
    stub_batch(&s, SH_ERR_STORE, 1, items, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(items[i].got, SH_ERR_STORE);
        assert_int_equal(items[i].attempts, 1);
    }
    assert_int_equal(s.commits, 2); /* the gate's, the items' */
}

/* A batch run again after SH_ERR_RETRY answers what its last attempt
 * answered, not the first. */
static void test_retry_recomputes_statuses(void **state)
{
    struct item items[6];
    struct stub s;

    (void)state;
    memset(items, 0, sizeof(items));
    for (int i = 0; i < 6; i++) {
        items[i].answer = i % 2 ? SH_ERR_CONFLICT : SH_OK;
        items[i].later = i % 2 ? SH_OK : SH_ERR_NOT_FOUND;
    }
    stub_batch(&s, SH_ERR_RETRY, 1, items, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(items[i].attempts, 2);
        assert_int_equal(items[i].got, items[i].later);
    }
    assert_int_equal(s.commits, 3); /* the gate's, the items' twice */
}

#define GC_CASE(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
#define STORE_CASES(setup)                                                                         \
    GC_CASE(test_many_threads_all_stored, setup), GC_CASE(test_waiters_share_one_commit, setup),   \
        GC_CASE(test_statuses_kept_apart, setup), GC_CASE(test_failing_item_fails_batch, setup),   \
        GC_CASE(test_stop_drains, setup)

static int group_setup(void **state)
{
    (void)state;
    sh_log_set_level(SH_LOG_WARN);
    return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
    const struct CMUnitTest sqlite_tests[] = {STORE_CASES(sqlite_setup)};
    const struct CMUnitTest pg_tests[] = {STORE_CASES(pg_setup)};
    const struct CMUnitTest stub_tests[] = {cmocka_unit_test(test_failing_commit_fails_batch),
                                            cmocka_unit_test(test_retry_recomputes_statuses)};
    const char *pg_url = getenv(PG_URL_ENV);
    int failed = cmocka_run_group_tests_name("group_commit/stub", stub_tests, group_setup, NULL);

    failed += cmocka_run_group_tests_name("group_commit/sqlite", sqlite_tests, group_setup, NULL);
    if (pg_url == NULL || *pg_url == '\0') {
        printf("group_commit/postgres: skipped (%s is not set)\n", PG_URL_ENV);
        fflush(stdout);
        return failed;
    }
    return failed +
           cmocka_run_group_tests_name("group_commit/postgres", pg_tests, group_setup, NULL);
}
