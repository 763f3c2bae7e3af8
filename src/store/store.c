/*
 * store.c - what every backend shares: the factory that turns a store URL
 * into a backend, explicit transactions with their retries, and the
 * helpers for store records.
 */
#include "store/store.h"
#include "store/store_devices.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "core/log.h"
#include "store/backends.h"

#define TX_TRIES 20
#define PATH_MAX_LEN 4096

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

int sh_store_default_url(const char *data_dir, char *buf, size_t cap)
{
    return sh_store_sqlite_default_url(data_dir, buf, cap);
}

const char *sh_store_url_backend(const char *url)
{
    if (url == NULL || *url == '\0' || has_prefix(url, "sqlite:"))
        return "sqlite";
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return "postgres";
    return "unknown";
}

int sh_store_present(const char *url, const char *data_dir)
{
    char def[PATH_MAX_LEN + 16];

    if (url == NULL || *url == '\0') {
        if (data_dir == NULL || sh_store_default_url(data_dir, def, sizeof(def)) != 0)
            return 0;
        url = def;
    }
    if (has_prefix(url, "sqlite:"))
        return access(url + 7, F_OK) == 0;
    return 1;
}

sh_status sh_store_open(const char *url, const char *data_dir, sh_store **out)
{
    char def[PATH_MAX_LEN + 16];

    if (url == NULL || *url == '\0') {
        if (data_dir == NULL || sh_store_default_url(data_dir, def, sizeof(def)) != 0)
            return SH_ERR_INVALID_REQUEST;
        url = def;
    }
    if (has_prefix(url, "sqlite:"))
        return url[7] == '\0' ? SH_ERR_INVALID_REQUEST : sh_store_open_sqlite(url + 7, out);
    if (has_prefix(url, "postgres://") || has_prefix(url, "postgresql://"))
        return sh_store_open_postgres(url, out);
    sh_log_event(SH_LOG_ERROR, "store_url_unknown_scheme", NULL, NULL);
    return SH_ERR_INVALID_REQUEST;
}

/* The transaction this thread has open, if any: a begin on its store,
 * through the handle or through the store itself, nests in it. */
static _Thread_local sh_store *thread_tx;

static sh_store *open_tx(sh_store *st)
{
    if (st->root != NULL)
        return st;
    if (thread_tx != NULL && thread_tx->root == st)
        return thread_tx;
    return NULL;
}

sh_status sh_store_tx_begin(sh_store *st, sh_store **tx)
{
    sh_store *open = open_tx(st);
    sh_status rc;

    if (open != NULL) {
        open->tx_depth++;
        *tx = open;
        return SH_OK;
    }
    rc = st->core->tx_begin(st, tx);
    if (rc == SH_OK)
        thread_tx = *tx;
    return rc;
}

sh_status sh_store_tx_end(sh_store *tx, sh_status rc)
{
    sh_status end;
    int failed = tx->tx_failed;

    if (tx->tx_depth > 0) {
        tx->tx_depth--;
        if (rc != SH_OK)
            tx->tx_failed = 1;
        return rc;
    }
    /* a nested part that failed rolls the whole transaction back */
    if (rc == SH_OK && failed)
        rc = SH_ERR_INTERNAL;
    if (thread_tx == tx)
        thread_tx = NULL;
    end = tx->core->tx_end(tx, rc == SH_OK); /* frees tx */
    return rc != SH_OK ? rc : end;
}

sh_status sh_store_tx_run(sh_store *st, sh_store_tx_fn fn, void *ctx)
{
    sh_store *tx = open_tx(st);
    sh_status rc;

    if (tx != NULL)
        return fn(tx, ctx); /* part of the caller's transaction */
    for (int attempt = 0;; attempt++) {
        if ((rc = sh_store_tx_begin(st, &tx)) != SH_OK)
            return rc;
        rc = sh_store_tx_end(tx, fn(tx, ctx));
        if (rc != SH_ERR_RETRY || attempt + 1 >= TX_TRIES)
            return rc;
        usleep(200u + randombytes_uniform(200u << (attempt < 6 ? attempt : 6)));
    }
}

void sh_user_rec_clear(sh_user_rec *u)
{
    free(u->email_ct);
    free(u->name_ct);
    free(u->wrapped_key);
    memset(u, 0, sizeof(*u));
}

void sh_session_rec_clear(sh_session_rec *s)
{
    free(s->device_name_ct);
    memset(s, 0, sizeof(*s));
}

void sh_device_rec_clear(sh_device_rec *d)
{
    free(d->name_ct);
    free(d->network_ct);
    memset(d, 0, sizeof(*d));
}
