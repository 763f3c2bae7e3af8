/*
 * bench_cmd.c - `safehouse bench-internal WHAT`, in-process measurements
 * that `make bench` reports next to its HTTP figures:
 *   token-verify   access-token verifications per second (MAC, expiry and
 *                  the revocation check: the whole per-request auth path)
 *   argon2         raw Argon2id hashes per second at the configured cost,
 *                  on one thread and on every core
 *   revoke         time to add one revocation rule to a data dir (durable
 *                  commit + index update), median and p99 over --count
 * Each prints one JSON object on stdout.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "api/app.h"
#include "auth/sessions.h"
#include "auth/token_class.h"
#include "core/cli.h"
#include "core/clock.h"
#include "crypto/password.h"
#include "tools/tools.h"

#define VERIFY_ROUNDS 2000000

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return (x > y) - (x < y);
}

static int bench_verify(void)
{
    char hex[65];
    uint8_t raw[32];
    sh_keyring *kr = NULL;
    sh_access_claims c;
    char token[SH_TOKEN_MAX];
    sh_auth a;
    sh_principal p;
    int created, ok = 0;
    int64_t t0, dt;

    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
    setenv("SAFEHOUSE_MASTER_KEY", hex, 1);
    if (sh_keyring_open("/nonexistent", &kr, &created) != SH_OK)
        return 1;
    unsetenv("SAFEHOUSE_MASTER_KEY");
    memset(&a, 0, sizeof(a));
    a.kr = kr;
    a.rev = sh_revocation_new();
    /* an index with some weight: 100k session rules */
    for (int i = 0; i < 100000; i++) {
        sh_rule_rec r = {0};
        sh_id id;
        sh_id_hex h;
        sh_id_random(&id);
        sh_id_to_hex(&id, &h);
        r.scope = SH_RULE_SESSION;
        memcpy(r.value, h.s, sizeof(h.s));
        r.not_before = sh_clock_now_us();
        (void)sh_revocation_apply(a.rev, &r);
    }
    memset(&c, 0, sizeof(c));
    c.token_class = SH_CLASS_IOS;
    sh_id_random(&c.session);
    sh_id_random(&c.principal);
    c.issued_at = sh_clock_now_us();
    c.expires_at = c.issued_at + 900 * SH_USEC;
    sh_token_access_encode(kr, &c, token);
    t0 = sh_clock_now_us();
    for (int i = 0; i < VERIFY_ROUNDS; i++)
        ok += sh_session_authenticate(&a, token, strlen(token), &p) == SH_OK;
    dt = sh_clock_now_us() - t0;
    printf("{\"bench\":\"token_verify\",\"rounds\":%d,\"ok\":%d,\"per_second\":%.0f,"
           "\"ns_each\":%.0f}\n",
           VERIFY_ROUNDS, ok, VERIFY_ROUNDS / ((double)dt / SH_USEC),
           (double)dt * 1000 / VERIFY_ROUNDS);
    sh_revocation_free(a.rev);
    sh_keyring_free(kr);
    return ok == VERIFY_ROUNDS ? 0 : 1;
}

struct argon_job {
    int64_t until;
    long count;
};

static void *argon_worker(void *arg)
{
    struct argon_job *j = arg;
    char hash[SH_PASSWORD_HASH_MAX];

    while (sh_clock_now_us() < j->until) {
        if (sh_password_hash("correct horse battery staple", 28, hash) != SH_OK)
            break;
        j->count++;
    }
    return NULL;
}

static double argon_rate(int threads, double seconds)
{
    pthread_t tid[64];
    struct argon_job jobs[64];
    int64_t t0 = sh_clock_now_us();
    long total = 0;

    for (int i = 0; i < threads; i++) {
        jobs[i].until = t0 + (int64_t)(seconds * SH_USEC);
        jobs[i].count = 0;
        pthread_create(&tid[i], NULL, argon_worker, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].count;
    }
    return (double)total / ((double)(sh_clock_now_us() - t0) / SH_USEC);
}

static int bench_argon2(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int n = cores < 1 ? 1 : (cores > 64 ? 64 : (int)cores);
    double one = argon_rate(1, 3.0), all = argon_rate(n, 3.0);

    printf("{\"bench\":\"argon2id\",\"ops\":%d,\"mem_kib\":%d,\"per_second_1_thread\":%.1f,"
           "\"threads\":%d,\"per_second_all_threads\":%.1f}\n",
           SH_PASSWORD_DEFAULT_OPS, SH_PASSWORD_DEFAULT_MEM_KIB, one, n, all);
    return 0;
}

static int bench_revoke(const char *data_dir, int count)
{
    sh_config cfg;
    sh_app app;
    int64_t *times = calloc((size_t)count, sizeof(int64_t));
    int code = 1;

    if (times == NULL || count < 1) {
        free(times);
        return 2;
    }
    sh_config_init(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", data_dir);
    if (sh_app_open(&app, &cfg) != SH_OK)
        goto close;
    for (int i = 0; i < count; i++) {
        sh_id id;
        sh_id_hex h;
        int64_t t0;
        sh_id_random(&id);
        sh_id_to_hex(&id, &h);
        t0 = sh_clock_now_us();
        if (sh_revocation_add(app.store, app.rev, SH_RULE_USER, h.s, 0, NULL) != SH_OK)
            goto close;
        times[i] = sh_clock_now_us() - t0;
    }
    qsort(times, (size_t)count, sizeof(int64_t), cmp_i64);
    printf("{\"bench\":\"revocation_rule_add\",\"count\":%d,\"median_us\":%lld,"
           "\"p99_us\":%lld,\"max_us\":%lld}\n",
           count, (long long)times[count / 2], (long long)times[count * 99 / 100],
           (long long)times[count - 1]);
    code = 0;
close:
    sh_app_close(&app);
    free(times);
    return code;
}

static const char bench_usage[] = "usage: safehouse bench-internal token-verify | argon2 |\n"
                                  "                                revoke DATA_DIR [COUNT]\n"
                                  "in-process micro-benchmarks (make bench); no flags\n";

int sh_tool_bench(int argc, char **argv)
{
    if (argc >= 2 && sh_cli_is_help(argv[1])) {
        fputs(bench_usage, stdout);
        return 0;
    }
    if (sodium_init() < 0)
        return 1;
    if (argc >= 2 && strcmp(argv[1], "token-verify") == 0)
        return bench_verify();
    if (argc >= 2 && strcmp(argv[1], "argon2") == 0)
        return bench_argon2();
    if (argc >= 3 && strcmp(argv[1], "revoke") == 0)
        return bench_revoke(argv[2], argc >= 4 ? (int)strtol(argv[3], NULL, 10) : 200);
    fputs(bench_usage, stderr);
    return 2;
}
