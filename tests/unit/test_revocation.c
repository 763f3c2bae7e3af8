/*
 * test_revocation.c - unit tests for src/auth/revocation.h: the in-memory
 * rule index (scopes all / class / user / session, strict "issued after
 * not_before", max-keeping, validation) and rules travelling through a real
 * SQLite store from a writer without an index (the CLI) to a syncing index.
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

#include "auth/revocation.h"
#include "auth/token_class.h"
#include "core/clock.h"
#include "core/id.h"
#include "core/log.h"
#include "core/status.h"
#include "store/store.h"

#define T0 1700000000000000LL /* µs */

static const int all_classes[] = {SH_CLASS_NONE, SH_CLASS_ANDROID, SH_CLASS_IOS, SH_CLASS_WEB,
                                  SH_CLASS_CLI};
#define N_CLASSES (sizeof(all_classes) / sizeof(all_classes[0]))

static int group_setup(void **state)
{
    (void)state;
    sh_log_set_level(SH_LOG_WARN); /* quiet "migration_applied" lines */
    return sodium_init() < 0 ? -1 : 0;
}

static sh_rule_rec rule(int scope, const char *value, int64_t not_before)
{
    sh_rule_rec r;

    memset(&r, 0, sizeof(r));
    sh_id_random(&r.id);
    r.scope = scope;
    if (value != NULL)
        snprintf(r.value, sizeof(r.value), "%s", value);
    r.not_before = not_before;
    r.created_at = not_before;
    return r;
}

static sh_rule_rec id_rule(int scope, const sh_id *id, int64_t not_before)
{
    sh_id_hex hex;

    sh_id_to_hex(id, &hex);
    return rule(scope, hex.s, not_before);
}

static void apply_ok(sh_revocation *rv, sh_rule_rec r)
{
    assert_int_equal(sh_revocation_apply(rv, &r), SH_OK);
}

/* ---- index only ------------------------------------------------------- */

static void test_empty_index_allows(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    assert_int_equal(sh_revocation_count(rv), 0);
    for (size_t c = 0; c < N_CLASSES; c++)
        assert_int_equal(sh_revocation_allows(rv, all_classes[c], &u, &s, T0), 1);
    sh_revocation_free(rv);
}

static void test_all_scope(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    apply_ok(rv, rule(SH_RULE_ALL, "", T0));
    assert_int_equal(sh_revocation_count(rv), 0); /* counts rules read by sync only */
    for (size_t c = 0; c < N_CLASSES; c++) {
        int cls = all_classes[c];
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 - 1000), 0);
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 - 1), 0);
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0), 0); /* at: dead */
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 + 1), 1);
    }
    sh_revocation_free(rv);
}

static void test_class_scope_only_hits_its_class(void **state)
{
    static const char *const names[] = {"android", "ios", "web", "cli"};

    (void)state;
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        sh_revocation *rv = sh_revocation_new();
        int target = sh_class_from_name(names[n]);
        sh_id u, s;

        assert_non_null(rv);
        assert_int_not_equal(target, SH_CLASS_NONE);
        sh_id_random(&u);
        sh_id_random(&s);
        apply_ok(rv, rule(SH_RULE_CLASS, names[n], T0));
        for (size_t c = 0; c < N_CLASSES; c++) {
            int cls = all_classes[c];
            if (cls == target) {
                assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 - 1), 0);
                assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0), 0);
                assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 + 1), 1);
            } else {
                if (sh_revocation_allows(rv, cls, &u, &s, T0) != 1)
                    fail_msg("class rule '%s' revoked class %d", names[n], cls);
            }
        }
        sh_revocation_free(rv);
    }
}

static void test_user_scope_only_hits_that_user(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, other, s, s2;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&other);
    sh_id_random(&s);
    sh_id_random(&s2);
    apply_ok(rv, id_rule(SH_RULE_USER, &u, T0));
    for (size_t c = 0; c < N_CLASSES; c++) {
        int cls = all_classes[c];
        /* every session of the user, any class */
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0), 0);
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s2, T0 - 1), 0);
        assert_int_equal(sh_revocation_allows(rv, cls, &u, &s, T0 + 1), 1);
        assert_int_equal(sh_revocation_allows(rv, cls, &other, &s, T0), 1);
        assert_int_equal(sh_revocation_allows(rv, cls, &other, &s2, T0 - 1000), 1);
    }
    /* the user id is not matched as a session id */
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &u, T0), 1);
    sh_revocation_free(rv);
}

static void test_session_scope_only_hits_that_session(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s, s2;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    sh_id_random(&s2);
    apply_ok(rv, id_rule(SH_RULE_SESSION, &s, T0));
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &u, &s, T0), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &u, &s, T0 - 1), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &u, &s, T0 + 1), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &u, &s2, T0), 1); /* same user */
    /* the session id is not matched as a user id */
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &s, &s2, T0), 1);
    sh_revocation_free(rv);
}

static void test_upper_case_hex_matches(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s;
    sh_id_hex hex;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    sh_id_to_hex(&u, &hex);
    for (char *p = hex.s; *p; p++) {
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    }
    apply_ok(rv, rule(SH_RULE_USER, hex.s, T0));
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0), 0);
    sh_revocation_free(rv);
}

static void test_strictest_rule_wins(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s;

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    apply_ok(rv, rule(SH_RULE_ALL, "", T0));
    apply_ok(rv, rule(SH_RULE_CLASS, "web", T0 + 10));
    apply_ok(rv, id_rule(SH_RULE_USER, &u, T0 + 20));
    apply_ok(rv, id_rule(SH_RULE_SESSION, &s, T0 + 30));
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0 + 30), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0 + 31), 1);
    {
        sh_id s2;
        sh_id_random(&s2);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s2, T0 + 20), 0);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s2, T0 + 21), 1);
    }
    {
        sh_id u2, s2;
        sh_id_random(&u2);
        sh_id_random(&s2);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u2, &s2, T0 + 10), 0);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u2, &s2, T0 + 11), 1);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_CLI, &u2, &s2, T0), 0);
        assert_int_equal(sh_revocation_allows(rv, SH_CLASS_CLI, &u2, &s2, T0 + 1), 1);
    }
    assert_int_equal(sh_revocation_count(rv), 0); /* counts rules read by sync only */
    sh_revocation_free(rv);
}

/* Applying a rule again, or an older one later, never loosens the index. */
static void test_apply_idempotent_keeps_max(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s, other;
    sh_rule_rec r[4];

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    sh_id_random(&other);
    r[0] = rule(SH_RULE_ALL, NULL, T0);
    r[1] = rule(SH_RULE_CLASS, "android", T0 + 100);
    r[2] = id_rule(SH_RULE_USER, &u, T0 + 200);
    r[3] = id_rule(SH_RULE_SESSION, &s, T0 + 300);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++)
            assert_int_equal(sh_revocation_apply(rv, &r[i]), SH_OK);
    }
    /* same answers as after one application */
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &other, T0), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &other, T0 + 1), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_ANDROID, &other, &other, T0 + 100), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_ANDROID, &other, &other, T0 + 101), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &other, T0 + 200), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &other, T0 + 201), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &s, T0 + 300), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &s, T0 + 301), 1);

    /* older rules of every scope arrive late: limits stay at the max */
    apply_ok(rv, rule(SH_RULE_ALL, "", T0 - 50));
    apply_ok(rv, rule(SH_RULE_CLASS, "android", T0 - 50));
    apply_ok(rv, id_rule(SH_RULE_USER, &u, T0 - 50));
    apply_ok(rv, id_rule(SH_RULE_SESSION, &s, T0 - 50));
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &other, T0), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_ANDROID, &other, &other, T0 + 100), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &other, T0 + 200), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &s, T0 + 300), 0);

    /* a newer rule raises the limit */
    apply_ok(rv, id_rule(SH_RULE_USER, &u, T0 + 1000));
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &other, T0 + 1000), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &other, T0 + 1001), 1);
    sh_revocation_free(rv);
}

static void expect_invalid(sh_revocation *rv, int scope, const char *value)
{
    sh_rule_rec r = rule(scope, value, T0);

    if (sh_revocation_apply(rv, &r) != SH_ERR_INVALID_REQUEST)
        fail_msg("scope %d value \"%s\" accepted", scope, value ? value : "(null)");
}

static void test_apply_rejects_invalid(void **state)
{
    sh_revocation *rv = sh_revocation_new();
    sh_id u, s;
    sh_id_hex hex;
    char buf[SH_STORE_RULE_VALUE_MAX];

    (void)state;
    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    sh_id_to_hex(&u, &hex);

    expect_invalid(rv, SH_RULE_CLASS, "");
    expect_invalid(rv, SH_RULE_CLASS, "windows");
    expect_invalid(rv, SH_RULE_CLASS, "unknown");
    expect_invalid(rv, SH_RULE_CLASS, "android ");
    expect_invalid(rv, SH_RULE_CLASS, hex.s);
    expect_invalid(rv, SH_RULE_USER, "");
    expect_invalid(rv, SH_RULE_USER, "android");
    expect_invalid(rv, SH_RULE_USER, "zz00000000000000000000000000000z");
    memcpy(buf, hex.s, SH_ID_HEX_LEN - 1); /* 31 chars */
    buf[SH_ID_HEX_LEN - 1] = '\0';
    expect_invalid(rv, SH_RULE_USER, buf);
    snprintf(buf, sizeof(buf), "%s0", hex.s); /* 33 chars */
    expect_invalid(rv, SH_RULE_USER, buf);
    snprintf(buf, sizeof(buf), " %s", hex.s);
    expect_invalid(rv, SH_RULE_SESSION, buf);
    expect_invalid(rv, SH_RULE_SESSION, "");
    expect_invalid(rv, SH_RULE_SESSION, "web");
    expect_invalid(rv, 0, "");
    expect_invalid(rv, SH_RULE_GRANT + 1, hex.s); /* past the last scope */
    expect_invalid(rv, -1, "");
    expect_invalid(rv, 1000, "android");

    /* nothing was indexed */
    assert_int_equal(sh_revocation_count(rv), 0);
    for (size_t c = 0; c < N_CLASSES; c++)
        assert_int_equal(sh_revocation_allows(rv, all_classes[c], &u, &s, T0), 1);
    sh_revocation_free(rv);
}

static void test_scope_names(void **state)
{
    (void)state;
    assert_int_equal(sh_revocation_scope_from_name("all"), SH_RULE_ALL);
    assert_int_equal(sh_revocation_scope_from_name("class"), SH_RULE_CLASS);
    assert_int_equal(sh_revocation_scope_from_name("user"), SH_RULE_USER);
    assert_int_equal(sh_revocation_scope_from_name("session"), SH_RULE_SESSION);
    assert_int_equal(sh_revocation_scope_from_name("sessions"), 0);
    assert_int_equal(sh_revocation_scope_from_name(""), 0);
    assert_int_equal(sh_revocation_scope_from_name(NULL), 0);
    for (int s = SH_RULE_ALL; s <= SH_RULE_SESSION; s++)
        assert_int_equal(sh_revocation_scope_from_name(sh_revocation_scope_name(s)), s);
    assert_string_equal(sh_revocation_scope_name(0), "unknown");
    assert_string_equal(sh_revocation_scope_name(99), "unknown");
}

/* ---- through the SQLite store ------------------------------------------ */

struct store_fx {
    char dir[64];
    char url[104];
    sh_store *cli;    /* the writer: no index attached, like the CLI */
    sh_store *server; /* another handle on the same file */
};

static int store_teardown(void **state);

static int store_setup(void **state)
{
    struct store_fx *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/sh-unit-revocation-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->url, sizeof(f->url), "sqlite:%s/safehouse.db", f->dir);
    *state = f;
    if (sh_store_open(f->url, NULL, &f->cli) != SH_OK ||
        sh_store_open(f->url, NULL, &f->server) != SH_OK) {
        store_teardown(state);
        *state = NULL;
        return -1;
    }
    return 0;
}

static int store_teardown(void **state)
{
    struct store_fx *f = *state;
    DIR *d;
    struct dirent *e;
    char p[512];

    if (f == NULL)
        return 0;
    sh_store_close(f->cli);
    sh_store_close(f->server);
    d = opendir(f->dir);
    if (d != NULL) {
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

static void test_cli_rule_reaches_server_by_sync(void **state)
{
    struct store_fx *f = *state;
    sh_revocation *rv = sh_revocation_new();
    sh_rule_rec out;
    sh_id u, other, s;
    sh_id_hex hex, upper;

    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&other);
    sh_id_random(&s);
    sh_id_to_hex(&u, &hex);
    upper = hex;
    for (char *p = upper.s; *p; p++) {
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    }

    /* nothing stored yet */
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_count(rv), 0);

    memset(&out, 0, sizeof(out));
    assert_int_equal(sh_revocation_add(f->cli, NULL, SH_RULE_USER, upper.s, T0, &out), SH_OK);
    assert_true(out.seq > 0);
    assert_int_equal(out.scope, SH_RULE_USER);
    assert_string_equal(out.value, hex.s); /* stored as canonical lower-case hex */
    assert_true(out.not_before == T0);
    assert_false(sh_id_is_zero(&out.id));

    /* not seen before the sync... */
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0), 1);
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    /* ...seen after it */
    assert_int_equal(sh_revocation_count(rv), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0 + 1), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &s, T0), 1);

    /* syncing again is harmless: nothing re-applied, same answers */
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_count(rv), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, T0 + 1), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &other, &s, T0), 1);

    /* a second CLI rule: only the new one is read */
    assert_int_equal(sh_revocation_add(f->cli, NULL, SH_RULE_CLASS, "ios", T0 + 500, &out), SH_OK);
    assert_string_equal(out.value, "ios");
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &other, &s, T0 + 500), 1);
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_count(rv), 2);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &other, &s, T0 + 500), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_IOS, &other, &s, T0 + 501), 1);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_ANDROID, &other, &s, T0 + 500), 1);
    sh_revocation_free(rv);
}

static void test_add_with_index_applies_at_once(void **state)
{
    struct store_fx *f = *state;
    sh_revocation *writer = sh_revocation_new();
    sh_revocation *reader = sh_revocation_new();
    sh_rule_rec out;
    sh_id u, s;
    sh_id_hex hex;

    assert_non_null(writer);
    assert_non_null(reader);
    sh_id_random(&u);
    sh_id_random(&s);
    sh_id_to_hex(&s, &hex);
    assert_int_equal(sh_revocation_add(f->server, writer, SH_RULE_SESSION, hex.s, T0 + 900, &out),
                     SH_OK);
    assert_int_equal(sh_revocation_allows(writer, SH_CLASS_CLI, &u, &s, T0 + 900), 0);
    assert_int_equal(sh_revocation_allows(writer, SH_CLASS_CLI, &u, &s, T0 + 901), 1);
    /* the writer re-reading its own row later changes nothing */
    assert_int_equal(sh_revocation_sync(f->server, writer), SH_OK);
    assert_int_equal(sh_revocation_allows(writer, SH_CLASS_CLI, &u, &s, T0 + 900), 0);
    assert_int_equal(sh_revocation_allows(writer, SH_CLASS_CLI, &u, &s, T0 + 901), 1);
    /* a fresh index reads every stored rule, through the other handle */
    assert_int_equal(sh_revocation_sync(f->cli, reader), SH_OK);
    assert_true(sh_revocation_count(reader) >= 1);
    assert_int_equal(sh_revocation_allows(reader, SH_CLASS_CLI, &u, &s, T0 + 900), 0);
    assert_int_equal(sh_revocation_allows(reader, SH_CLASS_CLI, &u, &s, T0 + 901), 1);
    sh_revocation_free(writer);
    sh_revocation_free(reader);
}

static void test_add_default_not_before_is_now(void **state)
{
    struct store_fx *f = *state;
    sh_revocation *rv = sh_revocation_new();
    sh_rule_rec out;
    int64_t before, after;
    sh_id u, s;

    assert_non_null(rv);
    sh_id_random(&u);
    sh_id_random(&s);
    before = sh_clock_now_us();
    assert_int_equal(sh_revocation_add(f->cli, NULL, SH_RULE_ALL, NULL, 0, &out), SH_OK);
    after = sh_clock_now_us();
    assert_true(out.not_before >= before && out.not_before <= after);
    assert_string_equal(out.value, "");
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, out.not_before), 0);
    assert_int_equal(sh_revocation_allows(rv, SH_CLASS_WEB, &u, &s, out.not_before + 1), 1);
    sh_revocation_free(rv);
}

static void test_add_rejects_invalid_and_stores_nothing(void **state)
{
    struct store_fx *f = *state;
    sh_revocation *rv = sh_revocation_new();
    sh_rule_rec out;
    uint64_t n;

    assert_non_null(rv);
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    n = sh_revocation_count(rv);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_ALL, "web", T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_CLASS, "windows", T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_CLASS, NULL, T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_USER, "not-an-id", T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_USER, NULL, T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, SH_RULE_SESSION, "", T0, &out),
                     SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, 0, NULL, T0, &out), SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_add(f->cli, rv, 7, NULL, T0, &out), SH_ERR_INVALID_REQUEST);
    assert_int_equal(sh_revocation_count(rv), n);
    assert_int_equal(sh_revocation_sync(f->server, rv), SH_OK);
    assert_int_equal(sh_revocation_count(rv), n); /* no row was written */
    sh_revocation_free(rv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_index_allows),
        cmocka_unit_test(test_all_scope),
        cmocka_unit_test(test_class_scope_only_hits_its_class),
        cmocka_unit_test(test_user_scope_only_hits_that_user),
        cmocka_unit_test(test_session_scope_only_hits_that_session),
        cmocka_unit_test(test_upper_case_hex_matches),
        cmocka_unit_test(test_strictest_rule_wins),
        cmocka_unit_test(test_apply_idempotent_keeps_max),
        cmocka_unit_test(test_apply_rejects_invalid),
        cmocka_unit_test(test_scope_names),
        cmocka_unit_test_setup_teardown(test_cli_rule_reaches_server_by_sync, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_add_with_index_applies_at_once, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_add_default_not_before_is_now, store_setup,
                                        store_teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects_invalid_and_stores_nothing, store_setup,
                                        store_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
