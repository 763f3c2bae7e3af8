/* sender.c - the outbox poller. */
#include "mail/sender.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "auth/notify.h"
#include "core/clock.h"
#include "core/log.h"
#include "mail/message.h"
#include "mail/smtp.h"
#include "mail/spool.h"
#include "store/store_mfa.h"

#define BATCH 16
#define BACKOFF_MAX_S 3600
#define PRUNE_EVERY_US (60 * SH_USEC)
#define PRUNE_GRACE_US (24LL * 3600 * SH_USEC)
/* A claimed message comes due again after this if its node died sending it. */
#define LEASE_US (120 * SH_USEC)

struct sh_mail_sender {
    const sh_auth *a;
    char *smtp_url, *from, *spool_dir;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stopping;
    int64_t last_prune;
};

struct due_list {
    sh_mail_rec items[BATCH];
    int n;
};

static void collect(void *ctx, const sh_mail_rec *m)
{
    struct due_list *l = ctx;
    sh_mail_rec *d;

    if (l->n >= BATCH)
        return;
    d = &l->items[l->n];
    *d = *m;
    d->recipient_ct = malloc(m->recipient_ct_len);
    d->body_ct = malloc(m->body_ct_len);
    if (d->recipient_ct == NULL || d->body_ct == NULL) {
        sh_mail_rec_clear(d);
        return;
    }
    memcpy(d->recipient_ct, m->recipient_ct, m->recipient_ct_len);
    memcpy(d->body_ct, m->body_ct, m->body_ct_len);
    l->n++;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static sh_status deliver(sh_mail_sender *s, const sh_mail_rec *m)
{
    char *to = NULL, *text = NULL, *msg = NULL;
    size_t len = 0;
    sh_status rc = sh_notify_open(s->a, m, &to, &text);

    if (rc == SH_OK)
        rc = sh_mail_format(s->from, to, text, &m->id, sh_clock_now_us(), &msg, &len);
    if (rc == SH_OK) {
        if (s->smtp_url != NULL)
            rc = sh_smtp_send(s->smtp_url, s->from, to, msg, len);
        else
            rc = sh_spool_write(s->spool_dir, &m->id, msg, len);
    }
    if (msg != NULL) {
        sodium_memzero(msg, len);
        free(msg);
    }
    wipe_free(to);
    wipe_free(text);
    return rc;
}

static void handle(sh_mail_sender *s, const sh_mail_rec *m)
{
    sh_store *st = s->a->store;
    sh_id_hex hex;
    int attempts = m->attempts + 1;
    int64_t backoff_s;
    sh_status rc = deliver(s, m);

    sh_id_to_hex(&m->id, &hex);
    if (rc == SH_OK || rc == SH_ERR_NOT_FOUND || attempts >= SH_MAIL_MAX_ATTEMPTS ||
        rc == SH_ERR_INVALID_REQUEST || rc == SH_ERR_INTERNAL) {
        if (rc == SH_OK)
            sh_log_event(SH_LOG_INFO, "mail_sent", "mail_id", hex.s);
        else
            sh_log_event(SH_LOG_WARN, "mail_dropped", "mail_id", hex.s);
        if (sh_store_do(st, mfa, mail_done, &m->id) != SH_OK)
            sh_log_event(SH_LOG_WARN, "mail_delete_failed", "mail_id", hex.s);
        return;
    }
    backoff_s = attempts >= 12 ? BACKOFF_MAX_S : (1LL << (attempts - 1));
    if (backoff_s > BACKOFF_MAX_S)
        backoff_s = BACKOFF_MAX_S;
    sh_log_event(SH_LOG_WARN, "mail_retry", "mail_id", hex.s);
    if (sh_store_do(st, mfa, mail_retry, &m->id, attempts,
                    sh_clock_now_us() + backoff_s * SH_USEC) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_retry_failed", "mail_id", hex.s);
}

static void run_once(sh_mail_sender *s)
{
    struct due_list l;
    int64_t now = sh_clock_now_us();

    memset(&l, 0, sizeof(l));
    if (sh_store_do(s->a->store, mfa, mail_due, now, now + LEASE_US, BATCH, collect, &l) != SH_OK)
        sh_log_event(SH_LOG_WARN, "mail_outbox_read_failed", NULL, NULL);
    for (int i = 0; i < l.n; i++) {
        handle(s, &l.items[i]);
        sh_mail_rec_clear(&l.items[i]);
    }
    if (now - s->last_prune > PRUNE_EVERY_US) {
        s->last_prune = now;
        if (sh_store_do(s->a->store, mfa, prune, now - PRUNE_GRACE_US) != SH_OK)
            sh_log_event(SH_LOG_WARN, "prune_failed", NULL, NULL);
    }
}

static void *loop(void *arg)
{
    sh_mail_sender *s = arg;
    struct timespec ts;

    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        pthread_mutex_unlock(&s->lock);
        run_once(s);
        pthread_mutex_lock(&s->lock);
        if (s->stopping)
            break;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += SH_MAIL_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &ts);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void free_sender(sh_mail_sender *s)
{
    free(s->smtp_url);
    free(s->from);
    free(s->spool_dir);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

sh_status sh_mail_sender_start(const sh_auth *a, const struct sh_mail_cfg *cfg,
                               sh_mail_sender **out)
{
    sh_mail_sender *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return SH_ERR_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->a = a;
    s->from = strdup(cfg->from);
    s->spool_dir = strdup(cfg->spool_dir);
    if (cfg->smtp_url != NULL && cfg->smtp_url[0] != '\0')
        s->smtp_url = strdup(cfg->smtp_url);
    if (s->from == NULL || s->spool_dir == NULL ||
        (cfg->smtp_url && cfg->smtp_url[0] && s->smtp_url == NULL)) {
        free_sender(s);
        return SH_ERR_NOMEM;
    }
    if (s->smtp_url == NULL) {
        if (sh_spool_open(s->spool_dir) != SH_OK) {
            sh_log_event(SH_LOG_ERROR, "mail_spool_unavailable", "dir", s->spool_dir);
            free_sender(s);
            return SH_ERR_IO;
        }
        sh_log_event(SH_LOG_WARN, "mail_spool", "dir", s->spool_dir);
    } else {
        sh_log_event(SH_LOG_INFO, "mail_smtp", NULL, NULL);
    }
    if (pthread_create(&s->thread, NULL, loop, s) != 0) {
        free_sender(s);
        return SH_ERR_INTERNAL;
    }
    *out = s;
    return SH_OK;
}

void sh_mail_sender_stop(sh_mail_sender *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    free_sender(s);
}
