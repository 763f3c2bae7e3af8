/*
 * bulk.c - whole tables in and out of SQLite, for moving an installation
 * between backends (`safehouse admin migrate-store`; the contract is the
 * bulk copy part of store.h).
 *
 * The SQL here is built from table and column names, so it cannot go
 * through the statement cache (keyed by the address of a static string):
 * each call prepares its own statement and finalizes it. A name reaches SQL
 * only after sh_store_name_ok, and always quoted.
 *
 * SQLite keeps a value's own storage class whatever the column's declared
 * type, so export reports exactly what is stored, and import stores exactly
 * what it is given: a copy from SQLite to SQLite is byte for byte. A REAL
 * (no column of the schema has one) is refused rather than rounded.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/sqlite/internal.h"
#include "store/tables.h"

/* An INSERT of SH_STORE_COLS_MAX quoted names fits. */
#define SQL_MAX ((SH_STORE_COLS_MAX + 1) * (SH_STORE_NAME_MAX + 4) + 64)

static const char SQL_TABLES[] = "SELECT name FROM sqlite_master WHERE type='table' "
                                 "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
                                 "AND name<>'schema_version' ORDER BY name";

struct sq_import {
    sh_store_import base;
    struct sh_sq_conn *c;
    sqlite3_stmt *q;
    sh_status failed; /* the first failure of a row */
};

/* Appends s to buf (of cap bytes, *len used). 0, or -1 when it does not fit. */
static int append(char *buf, size_t cap, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (*len + n >= cap)
        return -1;
    memcpy(buf + *len, s, n + 1);
    *len += n;
    return 0;
}

/* Prepares sql (built here, so not cached). A name the schema lacks is
 * SH_ERR_NOT_FOUND. */
static sh_status prepare(struct sh_sq_conn *c, const char *sql, sqlite3_stmt **q)
{
    const char *msg;

    if (sqlite3_prepare_v2(c->db, sql, -1, q, NULL) == SQLITE_OK)
        return SH_OK;
    msg = sqlite3_errmsg(c->db);
    if (strstr(msg, "no such table") != NULL || strstr(msg, "no column named") != NULL)
        return SH_ERR_NOT_FOUND;
    sh_log_event(SH_LOG_ERROR, "sqlite_bulk_prepare_failed", "error", msg);
    return SH_ERR_STORE;
}

struct name_list {
    char **names;
    int n;
};

static void names_free(struct name_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
}

sh_status sh_sq_table_list(sh_store *st, sh_store_table_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    struct name_list l = {NULL, 0};
    sqlite3_stmt *q;
    sh_status rc = SH_OK;
    int step = SQLITE_DONE;

    if (c == NULL || (q = sh_sq_stmt(c, SQL_TABLES)) == NULL)
        return SH_ERR_STORE;
    /* read every name first: cb may call the store again */
    while (rc == SH_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        char **grown = realloc(l.names, (size_t)(l.n + 1) * sizeof(*l.names));

        if (grown != NULL)
            l.names = grown;
        if (grown == NULL || name == NULL || (l.names[l.n] = strdup(name)) == NULL)
            rc = SH_ERR_NOMEM;
        else
            l.n++;
    }
    if (rc == SH_OK && step != SQLITE_DONE)
        rc = sh_sq_step_error(c, step);
    sh_sq_done(q);
    for (int i = 0; rc == SH_OK && i < l.n; i++)
        cb(ctx, l.names[i]);
    names_free(&l);
    return rc;
}

/* The default page cache (2 MiB) holds a fraction of the pages one large
 * transaction dirties; the rest go out and are read back before the commit
 * writes them again. The server's connections keep the default. */
sh_status sh_sq_bulk_hint(sh_store *st, int64_t bytes)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    char sql[64];

    if (c == NULL)
        return SH_ERR_STORE;
    if (bytes < 1024)
        return SH_OK;
    snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%lld", (long long)(bytes / 1024));
    return sqlite3_exec(c->db, sql, NULL, NULL, NULL) == SQLITE_OK ? SH_OK : SH_ERR_STORE;
}

sh_status sh_sq_table_count(sh_store *st, const char *table, int64_t *n)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    char sql[SQL_MAX];
    sqlite3_stmt *q = NULL;
    sh_status rc;
    int step;

    *n = 0;
    if (c == NULL)
        return SH_ERR_STORE;
    if (!sh_store_name_ok(table))
        return SH_ERR_NOT_FOUND;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    if ((rc = prepare(c, sql, &q)) != SH_OK)
        return rc;
    step = sqlite3_step(q);
    if (step == SQLITE_ROW)
        *n = sqlite3_column_int64(q, 0);
    else
        rc = sh_sq_step_error(c, step);
    sqlite3_finalize(q);
    return rc;
}

/* Reads column i of the current row into v (pointing into q's memory,
 * valid until the next step). */
static sh_status read_value(sqlite3_stmt *q, int i, sh_store_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (sqlite3_column_type(q, i)) {
    case SQLITE_NULL:
        v->kind = SH_VAL_NULL;
        return SH_OK;
    case SQLITE_INTEGER:
        v->kind = SH_VAL_INT;
        v->i = sqlite3_column_int64(q, i);
        return SH_OK;
    case SQLITE_TEXT:
        v->kind = SH_VAL_TEXT;
        v->p = sqlite3_column_text(q, i);
        v->len = (size_t)sqlite3_column_bytes(q, i);
        return v->p != NULL ? SH_OK : SH_ERR_NOMEM;
    case SQLITE_BLOB:
        v->kind = SH_VAL_BLOB;
        v->p = sqlite3_column_blob(q, i);
        v->len = (size_t)sqlite3_column_bytes(q, i);
        if (v->p == NULL)
            v->p = (const uint8_t *)""; /* an empty blob */
        return SH_OK;
    default:
        sh_log_event(SH_LOG_ERROR, "sqlite_bulk_value_unsupported", "column",
                     sqlite3_column_name(q, i));
        return SH_ERR_STORE;
    }
}

sh_status sh_sq_table_export(sh_store *st, const char *table, sh_store_row_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    const char *names[SH_STORE_COLS_MAX];
    sh_store_value vals[SH_STORE_COLS_MAX];
    char sql[SQL_MAX];
    sqlite3_stmt *q = NULL;
    sh_status rc;
    int ncols, step = SQLITE_DONE;

    if (c == NULL)
        return SH_ERR_STORE;
    if (!sh_store_name_ok(table))
        return SH_ERR_NOT_FOUND;
    /* the first column is the key, or its first part: rules keep their order */
    snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", table);
    if ((rc = prepare(c, sql, &q)) != SH_OK)
        return rc;
    ncols = sqlite3_column_count(q);
    if (ncols > SH_STORE_COLS_MAX) {
        sh_log_event(SH_LOG_ERROR, "sqlite_bulk_too_many_columns", "table", table);
        rc = SH_ERR_STORE;
    }
    for (int i = 0; rc == SH_OK && i < ncols; i++)
        names[i] = sqlite3_column_name(q, i);
    while (rc == SH_OK && (step = sqlite3_step(q)) == SQLITE_ROW) {
        for (int i = 0; rc == SH_OK && i < ncols; i++)
            rc = read_value(q, i, &vals[i]);
        if (rc == SH_OK)
            rc = cb(ctx, ncols, names, vals);
    }
    if (rc == SH_OK && step != SQLITE_DONE)
        rc = sh_sq_step_error(c, step);
    sqlite3_finalize(q);
    return rc;
}

/* INSERT INTO "table"("a","b",...) VALUES(?,?,...) into sql. 0 or -1. */
static int insert_sql(char *sql, size_t cap, const char *table, int ncols, const char *const *names)
{
    size_t len = 0;
    int bad = append(sql, cap, &len, "INSERT INTO \"") || append(sql, cap, &len, table) ||
              append(sql, cap, &len, "\"(");

    for (int i = 0; !bad && i < ncols; i++) {
        bad = append(sql, cap, &len, i ? ",\"" : "\"") || append(sql, cap, &len, names[i]) ||
              append(sql, cap, &len, "\"");
    }
    bad = bad || append(sql, cap, &len, ") VALUES(");
    for (int i = 0; !bad && i < ncols; i++)
        bad = append(sql, cap, &len, i ? ",?" : "?");
    return bad || append(sql, cap, &len, ")") ? -1 : 0;
}

sh_status sh_sq_table_import_begin(sh_store *st, const char *table, int ncols,
                                   const char *const *names, sh_store_import **out)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    struct sq_import *im;
    char sql[SQL_MAX];
    sh_status rc;

    *out = NULL;
    if (c == NULL)
        return SH_ERR_STORE;
    if (ncols < 1 || ncols > SH_STORE_COLS_MAX || !sh_store_name_ok(table))
        return SH_ERR_INVALID_REQUEST;
    for (int i = 0; i < ncols; i++) {
        if (!sh_store_name_ok(names[i]))
            return SH_ERR_INVALID_REQUEST;
    }
    if (insert_sql(sql, sizeof(sql), table, ncols, names) != 0)
        return SH_ERR_INVALID_REQUEST;
    if ((im = calloc(1, sizeof(*im))) == NULL)
        return SH_ERR_NOMEM;
    im->base.ncols = ncols;
    im->c = c;
    if ((rc = prepare(c, sql, &im->q)) != SH_OK) {
        free(im);
        return rc;
    }
    /* atomic on its own; inside a transaction (in_batch), part of it */
    if ((rc = sh_sq_tx_begin(c)) != SH_OK) {
        sqlite3_finalize(im->q);
        free(im);
        return rc;
    }
    *out = &im->base;
    return SH_OK;
}

static sh_status bind_value(sqlite3_stmt *q, int i, const sh_store_value *v)
{
    switch (v->kind) {
    case SH_VAL_NULL:
        sqlite3_bind_null(q, i);
        return SH_OK;
    case SH_VAL_INT:
        sqlite3_bind_int64(q, i, v->i);
        return SH_OK;
    case SH_VAL_TEXT:
    case SH_VAL_BLOB:
        if (v->p == NULL || v->len > INT_MAX)
            return SH_ERR_INVALID_REQUEST;
        if (v->kind == SH_VAL_TEXT)
            sqlite3_bind_text(q, i, (const char *)v->p, (int)v->len, SQLITE_STATIC);
        else
            sqlite3_bind_blob(q, i, v->p, (int)v->len, SQLITE_STATIC);
        return SH_OK;
    default:
        return SH_ERR_INVALID_REQUEST;
    }
}

sh_status sh_sq_table_import_row(sh_store *st, sh_store_import *base, const sh_store_value *vals)
{
    struct sq_import *im = (struct sq_import *)base;
    sh_status rc = SH_OK;

    (void)st;
    if (im->failed != SH_OK)
        return im->failed;
    for (int i = 0; rc == SH_OK && i < im->base.ncols; i++)
        rc = bind_value(im->q, i + 1, &vals[i]);
    if (rc == SH_OK)
        rc = sh_sq_run(im->c, im->q, NULL); /* resets and unbinds */
    else
        sh_sq_done(im->q);
    im->failed = rc;
    return rc;
}

sh_status sh_sq_table_import_end(sh_store *st, sh_store_import *base, int ok)
{
    struct sq_import *im = (struct sq_import *)base;
    sh_status rc = ok ? im->failed : SH_ERR_INTERNAL;

    (void)st;
    sqlite3_finalize(im->q);
    rc = sh_sq_tx_end(im->c, rc); /* commits or rolls back its own transaction */
    free(im);
    return ok ? rc : SH_OK;
}
