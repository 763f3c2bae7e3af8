/*
 * test_limits.c - unit tests for src/auth/limits.h: per-account limits in
 * memory (one object each) and in a real SQLite store (shared by every
 * limits object on it, as by several nodes, and kept across a reopen),
 * both paths giving the same answers; a store that fails makes the check
 * fail closed; and the store's bucket operations (get, upsert, prune).
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/limits.h"
#include "core/log.h"
#include "core/status.h"
#include "store/store.h"
#include "store/store_mfa.h"

#define KEY "0123456789abcdef0123456789abcdef" /* stands for a blind index */

struct fx {
    char dir[64];
    char url[104];
    sh_store *a; /* two handles on one file: two nodes on one database */
    sh_store *b;
};

static int teardown(void **state);

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sh-unit-limits-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->url, sizeof(f->url), "sqlite:%s/safehouse.db", f->dir);
    *state = f;
    if (sh_store_open(f->url, NULL, &f->a) != SH_OK ||
        sh_store_open(f->url, NULL, &f->b) != SH_OK) {
        teardown(state);
        *state = NULL;
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct dirent *e;
    char p[512];
    DIR *d;

    if (f == NULL)
        return 0;
    sh_store_close(f->a);
    sh_store_close(f->b);
    if ((d = opendir(f->dir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Charges kind n times through l; returns how many checks before them passed. */
static int fail_n(sh_limits *l, enum sh_limit_kind kind, const char *key, int n)
{
    int allowed = 0;

    for (int i = 0; i < n; i++) {
        if (sh_limits_account_check(l, kind, key, strlen(key), NULL) == SH_OK) {
            allowed++;
            sh_limits_account_charge(l, kind, key, strlen(key));
        }
    }
    return allowed;
}

static void test_memory_limits_are_per_object(void **state)
{
    sh_limits *x = NULL, *y = NULL;
    int retry = 0;

    (void)state;
    assert_int_equal(sh_limits_new(0, NULL, &x), SH_OK);
    assert_int_equal(sh_limits_new(0, NULL, &y), SH_OK);
    assert_int_equal(fail_n(x, SH_LIMIT_CODE, KEY, 20), 5);
    assert_int_equal(sh_limits_account_check(x, SH_LIMIT_CODE, KEY, 32, &retry),
                     SH_ERR_RATE_LIMITED);
    assert_int_equal(retry, 360);
    assert_int_equal(sh_limits_account_check(y, SH_LIMIT_CODE, KEY, 32, NULL), SH_OK);
    assert_non_null(sh_limits_get(x, SH_LIMIT_CODE, 1));
    sh_limits_free(x);
    sh_limits_free(y);
}

/* Two nodes on one database draw from one bucket: 5 code failures in all,
 * however they are spread. */
static void test_store_limits_are_shared(void **state)
{
    struct fx *f = *state;
    sh_limits *x = NULL, *y = NULL;
    int retry = 0, allowed = 0;

    assert_int_equal(sh_limits_new(0, f->a, &x), SH_OK);
    assert_int_equal(sh_limits_new(0, f->b, &y), SH_OK);
    assert_null(sh_limits_get(x, SH_LIMIT_CODE, 1)); /* not in memory */
    for (int i = 0; i < 10; i++)
        allowed += fail_n(i % 2 ? x : y, SH_LIMIT_CODE, KEY, 1);
    assert_int_equal(allowed, 5);
    assert_int_equal(sh_limits_account_check(x, SH_LIMIT_CODE, KEY, 32, &retry),
                     SH_ERR_RATE_LIMITED);
    assert_int_equal(retry, 360);
    assert_int_equal(sh_limits_account_check(y, SH_LIMIT_CODE, KEY, 32, NULL), SH_ERR_RATE_LIMITED);
    /* other keys and other policies of the same key are untouched */
    assert_int_equal(sh_limits_account_check(y, SH_LIMIT_CODE, "other", 5, NULL), SH_OK);
    assert_int_equal(sh_limits_account_check(y, SH_LIMIT_LOGIN, KEY, 32, NULL), SH_OK);
    sh_limits_free(x);
    sh_limits_free(y);
}

/* Memory and store give the same answers for the same sequence. */
static void test_store_and_memory_agree(void **state)
{
    struct fx *f = *state;
    sh_limits *mem = NULL, *st = NULL;
    enum sh_limit_kind kinds[] = {SH_LIMIT_LOGIN, SH_LIMIT_CODE, SH_LIMIT_RESET, SH_LIMIT_CLAIM};

    assert_int_equal(sh_limits_new(0, NULL, &mem), SH_OK);
    assert_int_equal(sh_limits_new(0, f->a, &st), SH_OK);
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (int i = 0; i < 14; i++) {
            int r1 = 0, r2 = 0;
            sh_status a = sh_limits_account_check(mem, kinds[k], "agree", 5, &r1);
            sh_status b = sh_limits_account_check(st, kinds[k], "agree", 5, &r2);
            if (a != b || (a != SH_OK && r1 != r2))
                fail_msg("kind %d step %d: memory %d/%d, store %d/%d", kinds[k], i, a, r1, b, r2);
            sh_limits_account_charge(mem, kinds[k], "agree", 5);
            sh_limits_account_charge(st, kinds[k], "agree", 5);
        }
    }
    sh_limits_free(mem);
    sh_limits_free(st);
}

/* A bucket survives a restart of the node (the store is reopened). */
static void test_store_limits_survive_reopen(void **state)
{
    struct fx *f = *state;
    sh_limits *x = NULL;

    assert_int_equal(sh_limits_new(0, f->a, &x), SH_OK);
    assert_int_equal(fail_n(x, SH_LIMIT_LOGIN, KEY, 12), 10);
    sh_limits_free(x);
    sh_store_close(f->a);
    assert_int_equal(sh_store_open(f->url, NULL, &f->a), SH_OK);
    assert_int_equal(sh_limits_new(0, f->a, &x), SH_OK);
    assert_int_equal(sh_limits_account_check(x, SH_LIMIT_LOGIN, KEY, 32, NULL),
                     SH_ERR_RATE_LIMITED);
    sh_limits_free(x);
}

/* ---- a store that cannot be reached ---------------------------------------- */

static sh_status fail_get(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN], sh_limit_rec *out)
{
    (void)st;
    (void)key;
    memset(out, 0, sizeof(*out));
    return SH_ERR_STORE;
}

static sh_status fail_put(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN], const sh_limit_rec *r)
{
    (void)st;
    (void)key;
    (void)r;
    return SH_ERR_STORE;
}

static sh_status fail_update(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                             sh_limit_update_fn fn, void *ctx)
{
    (void)st;
    (void)key;
    (void)fn;
    (void)ctx;
    return SH_ERR_STORE;
}

static sh_status fail_begin(sh_store *st, sh_store **tx)
{
    (void)st;
    *tx = NULL;
    return SH_ERR_STORE;
}

static void test_store_failure_fails_closed(void **state)
{
    static const struct sh_store_mfa_ops mfa = {
        .limit_get = fail_get, .limit_put = fail_put, .limit_update = fail_update};
    static const struct sh_store_core_ops core = {.tx_begin = fail_begin};
    sh_store down = {.core = &core, .mfa = &mfa, .backend = "down"};
    sh_limits *l = NULL;
    int retry = 0;

    (void)state;
    assert_int_equal(sh_limits_new(0, &down, &l), SH_OK);
    assert_int_equal(sh_limits_account_check(l, SH_LIMIT_LOGIN, KEY, 32, &retry), SH_ERR_STORE);
    assert_int_equal(retry, 1);
    assert_int_equal(sh_limits_account_check(l, SH_LIMIT_CODE, KEY, 32, NULL), SH_ERR_STORE);
    sh_limits_account_charge(l, SH_LIMIT_CODE, KEY, 32); /* logged, no crash */
    /* kinds without an account limit are not affected */
    assert_int_equal(sh_limits_account_check(l, SH_LIMIT_REGISTER, KEY, 32, NULL), SH_OK);
    sh_limits_free(l);
}

/* ---- the store operations ----------------------------------------------------- */

static void test_limit_ops_round_trip_and_prune(void **state)
{
    struct fx *f = *state;
    uint8_t key[SH_STORE_HASH_LEN];
    sh_limit_rec in = {.strikes = 3,
                       .tokens = 1234567,
                       .last_us = 1700000000000001LL,
                       .blocked_until = 1700000000500000LL,
                       .idle_at = 1700000009000000LL},
                 out;

    randombytes_buf(key, sizeof(key));
    assert_int_equal(sh_store_do(f->a, mfa, limit_get, key, &out), SH_ERR_NOT_FOUND);
    assert_int_equal(sh_store_do(f->a, mfa, limit_put, key, &in), SH_OK);
    assert_int_equal(sh_store_do(f->b, mfa, limit_get, key, &out), SH_OK);
    assert_memory_equal(&in, &out, sizeof(in));
    in.tokens = 0;
    in.strikes = 4;
    assert_int_equal(sh_store_do(f->b, mfa, limit_put, key, &in), SH_OK); /* upsert */
    assert_int_equal(sh_store_do(f->a, mfa, limit_get, key, &out), SH_OK);
    assert_memory_equal(&in, &out, sizeof(in));
    /* prune drops a bucket only once it has been idle since before `before` */
    assert_int_equal(sh_store_do(f->a, mfa, prune, in.idle_at), SH_OK);
    assert_int_equal(sh_store_do(f->a, mfa, limit_get, key, &out), SH_OK);
    assert_int_equal(sh_store_do(f->a, mfa, prune, in.idle_at + 1), SH_OK);
    assert_int_equal(sh_store_do(f->a, mfa, limit_get, key, &out), SH_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_limits_are_per_object),
        cmocka_unit_test_setup_teardown(test_store_limits_are_shared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_and_memory_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_limits_survive_reopen, setup, teardown),
        cmocka_unit_test(test_store_failure_fails_closed),
        cmocka_unit_test_setup_teardown(test_limit_ops_round_trip_and_prune, setup, teardown),
    };

    if (sodium_init() < 0)
        return 1;
    sh_log_set_level(SH_LOG_ERROR); /* quiet migrations and the expected warnings */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
