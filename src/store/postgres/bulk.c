/*
 * bulk.c - whole tables in and out of PostgreSQL, for moving an
 * installation between backends (`safehouse admin migrate-store`; the
 * contract is the bulk copy part of store.h).
 *
 * Export streams a SELECT in single-row mode, so a table of millions of
 * rows never sits in memory; the connection is busy until it ends, which is
 * why the row callback must not call this store. Import is one COPY ... FROM
 * STDIN per table in text format: numbers in decimal, text escaped (\\, \n,
 * \r, \t), bytea as \\x hex, NULL as \N.
 *
 * The columns of a table come from information_schema, so that a value is
 * checked against the column it goes to: an integer only into a number, text
 * only into text, bytes only into bytea (text too, as its bytes: SQLite may
 * hold text in a BLOB column). An identity column (revocation_rules.seq) is
 * left to its sequence, in the order the rows come. Columns only this
 * backend has (revocation_rules.txid, the id of the inserting transaction,
 * meaningless elsewhere) are not exported and take their default on import.
 *
 * The SQL is built from names, so the dynamic statements bypass the
 * prepared-statement cache; a name reaches SQL only after sh_store_name_ok,
 * and always quoted. Nothing here retries: a failure inside the caller's
 * transaction marks it failed, as sh_pg_query does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/postgres/internal.h"
#include "store/tables.h"

/* A COPY or SELECT of SH_STORE_COLS_MAX quoted names fits. */
#define SQL_MAX ((SH_STORE_COLS_MAX + 1) * (SH_STORE_NAME_MAX + 4) + 64)
/* The longest row of COPY text (bytea doubles in hex). */
#define ROW_MAX ((size_t)64 * 1024 * 1024)
#define ROW_INITIAL ((size_t)4096)

/* Type OIDs (catalog/pg_type_d.h, fixed since PostgreSQL 7). */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_CHAR = 18,
    OID_NAME = 19,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_TEXT = 25,
    OID_VARCHAR = 1043
};

/* Columns of this backend only: neither exported nor expected on import. */
static const struct {
    const char *table, *column;
} private_cols[] = {
    {"revocation_rules", "txid"},
};

static const char SQL_TABLES[] = "SELECT table_name::text FROM information_schema.tables "
                                 "WHERE table_schema=current_schema() "
                                 "AND table_type='BASE TABLE' "
                                 "AND table_name<>'schema_version' ORDER BY 1";
static const char SQL_COLUMNS[] = "SELECT column_name::text,data_type::text,is_identity::text "
                                  "FROM information_schema.columns "
                                  "WHERE table_schema=current_schema() AND table_name::text=$1 "
                                  "ORDER BY ordinal_position";

enum col_type { T_OTHER = 0, T_INT, T_BOOL, T_TEXT, T_BYTEA };

struct pg_import {
    sh_store_import base;
    struct sh_pg_conn *c;
    int skip[SH_STORE_COLS_MAX]; /* an identity column: not sent */
    int type[SH_STORE_COLS_MAX]; /* enum col_type of the target column */
    char *row;                   /* one row of COPY text, growing to ROW_MAX */
    size_t len, cap;
    sh_status failed; /* the first failure of a row */
};

static int is_private(const char *table, const char *column)
{
    for (size_t i = 0; i < sizeof(private_cols) / sizeof(private_cols[0]); i++) {
        if (strcmp(private_cols[i].table, table) == 0 &&
            strcmp(private_cols[i].column, column) == 0)
            return 1;
    }
    return 0;
}

/* The status of a failed dynamic statement (sh_pg_query's mapping, plus
 * SH_ERR_NOT_FOUND for an unknown table or column); inside a transaction,
 * marks it failed: PostgreSQL aborted it. */
static sh_status failed(struct sh_pg_conn *c, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

    if (c->tx_depth > 0)
        c->tx_failed = 1;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return SH_ERR_STORE;
    if (state != NULL && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return SH_ERR_RETRY;
    if (state != NULL && strncmp(state, "23", 2) == 0)
        return SH_ERR_CONFLICT;
    if (state != NULL && (strcmp(state, "42P01") == 0 || strcmp(state, "42703") == 0))
        return SH_ERR_NOT_FOUND;
    /* the state only: a message may quote the value it refused (P1) */
    sh_log_event(SH_LOG_ERROR, "postgres_bulk_failed", "sqlstate", state ? state : "none");
    return SH_ERR_STORE;
}

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

sh_status sh_pg_table_list(sh_store *st, sh_store_table_cb cb, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    char name[SH_STORE_NAME_MAX + 1];
    PGresult *res = NULL;
    sh_status rc;

    if (c == NULL)
        return SH_ERR_STORE;
    if ((rc = sh_pg_query(c, SQL_TABLES, NULL, &res)) != SH_OK)
        return rc;
    for (int i = 0; i < PQntuples(res); i++) {
        sh_pg_col_text(res, i, 0, name, sizeof(name));
        cb(ctx, name);
    }
    PQclear(res);
    return SH_OK;
}

/* The server's memory is the server's setting (shared_buffers): nothing to
 * ask for per connection that would speed up a load of plain INSERTs. */
sh_status sh_pg_bulk_hint(sh_store *st, int64_t bytes)
{
    (void)st;
    (void)bytes;
    return SH_OK;
}

sh_status sh_pg_table_count(sh_store *st, const char *table, int64_t *n)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    char sql[SQL_MAX];
    PGresult *r;
    sh_status rc = SH_OK;

    *n = 0;
    if (c == NULL)
        return SH_ERR_STORE;
    if (!sh_store_name_ok(table))
        return SH_ERR_NOT_FOUND;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
    r = PQexecParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 1);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        *n = sh_pg_col_i64(r, 0, 0);
    else
        rc = failed(c, r);
    PQclear(r);
    return rc;
}

/* Reads column col of a one-row result (binary) into v, pointing into r. */
static sh_status read_value(const PGresult *r, int col, sh_store_value *v)
{
    memset(v, 0, sizeof(*v));
    if (PQgetisnull(r, 0, col)) {
        v->kind = SH_VAL_NULL;
        return SH_OK;
    }
    switch (PQftype(r, col)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
        v->kind = SH_VAL_INT;
        v->i = sh_pg_col_i64(r, 0, col);
        return SH_OK;
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_CHAR:
    case OID_NAME:
        v->kind = SH_VAL_TEXT;
        break;
    case OID_BYTEA:
        v->kind = SH_VAL_BLOB;
        break;
    default:
        sh_log_event(SH_LOG_ERROR, "postgres_bulk_type_unsupported", "column", PQfname(r, col));
        return SH_ERR_STORE;
    }
    v->p = (const uint8_t *)PQgetvalue(r, 0, col);
    v->len = (size_t)PQgetlength(r, 0, col);
    return SH_OK;
}

/* Calls cb with the one row of r, without this backend's own columns. */
static sh_status emit_row(const PGresult *r, const char *table, sh_store_row_cb cb, void *ctx)
{
    const char *names[SH_STORE_COLS_MAX];
    sh_store_value vals[SH_STORE_COLS_MAX];
    int n = 0;
    sh_status rc = SH_OK;

    for (int i = 0; rc == SH_OK && i < PQnfields(r); i++) {
        if (is_private(table, PQfname(r, i)))
            continue;
        if (n == SH_STORE_COLS_MAX) {
            sh_log_event(SH_LOG_ERROR, "postgres_bulk_too_many_columns", "table", table);
            return SH_ERR_STORE;
        }
        names[n] = PQfname(r, i);
        rc = read_value(r, i, &vals[n]);
        n++;
    }
    return rc == SH_OK ? cb(ctx, n, names, vals) : rc;
}

/* Stops the running query (a callback failed): the rest of the rows need
 * not cross the network only to be dropped. */
static void cancel(struct sh_pg_conn *c)
{
    PGcancel *k = PQgetCancel(c->pg);
    char err[256];

    if (k != NULL) {
        (void)PQcancel(k, err, sizeof(err));
        PQfreeCancel(k);
    }
}

sh_status sh_pg_table_export(sh_store *st, const char *table, sh_store_row_cb cb, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    char sql[SQL_MAX];
    PGresult *r;
    sh_status rc = SH_OK;
    int cancelled = 0;

    if (c == NULL)
        return SH_ERR_STORE;
    if (!sh_store_name_ok(table))
        return SH_ERR_NOT_FOUND;
    /* the first column is the key, or its first part: rules keep their order */
    snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", table);
    if (!PQsendQueryParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 1))
        return failed(c, NULL);
    if (!PQsetSingleRowMode(c->pg))
        rc = failed(c, NULL); /* still drain what was sent */
    while ((r = PQgetResult(c->pg)) != NULL) {
        ExecStatusType es = PQresultStatus(r);

        if (rc == SH_OK && es == PGRES_SINGLE_TUPLE)
            rc = emit_row(r, table, cb, ctx);
        else if (rc == SH_OK && es != PGRES_TUPLES_OK)
            rc = failed(c, r);
        PQclear(r);
        if (rc != SH_OK && !cancelled) {
            if (c->tx_depth > 0)
                c->tx_failed = 1; /* the cancel aborts the transaction */
            cancel(c);
            cancelled = 1;
        }
    }
    return rc;
}

/* ---- import ------------------------------------------------------------ */

static enum col_type col_type(const char *data_type)
{
    static const struct {
        const char *name;
        enum col_type t;
    } types[] = {
        {"smallint", T_INT}, {"integer", T_INT}, {"bigint", T_INT},
        {"boolean", T_BOOL}, {"text", T_TEXT},   {"character varying", T_TEXT},
        {"bytea", T_BYTEA},
    };

    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (strcmp(types[i].name, data_type) == 0)
            return types[i].t;
    }
    return T_OTHER;
}

/* Fills im->skip and im->type from the table's columns and builds the COPY
 * statement into sql. */
static sh_status plan(struct pg_import *im, const char *table, int ncols, const char *const *names,
                      char *sql, size_t cap)
{
    char col[SH_STORE_NAME_MAX + 1], type[64], ident[8];
    PGresult *res = NULL;
    sh_pg_params p;
    size_t len = 0;
    int sent = 0, bad;
    sh_status rc;

    sh_pg_params_init(&p);
    sh_pg_p_text(&p, table);
    if ((rc = sh_pg_query(im->c, SQL_COLUMNS, &p, &res)) != SH_OK)
        return rc;
    bad = PQntuples(res) == 0 || append(sql, cap, &len, "COPY \"") ||
          append(sql, cap, &len, table) || append(sql, cap, &len, "\"(");
    for (int i = 0; !bad && i < ncols; i++) {
        int row = -1;

        for (int j = 0; row < 0 && j < PQntuples(res); j++) {
            sh_pg_col_text(res, j, 0, col, sizeof(col));
            if (strcmp(col, names[i]) == 0)
                row = j;
        }
        if (row < 0) {
            sh_log_event(SH_LOG_ERROR, "postgres_bulk_column_unknown", "column", names[i]);
            bad = 1;
            break;
        }
        sh_pg_col_text(res, row, 1, type, sizeof(type));
        sh_pg_col_text(res, row, 2, ident, sizeof(ident));
        im->skip[i] = strcmp(ident, "YES") == 0;
        im->type[i] = col_type(type);
        if (im->skip[i])
            continue;
        bad = append(sql, cap, &len, sent++ ? ",\"" : "\"") || append(sql, cap, &len, names[i]) ||
              append(sql, cap, &len, "\"");
    }
    PQclear(res);
    if (bad || sent == 0 || append(sql, cap, &len, ") FROM STDIN"))
        return SH_ERR_NOT_FOUND;
    return SH_OK;
}

sh_status sh_pg_table_import_begin(sh_store *st, const char *table, int ncols,
                                   const char *const *names, sh_store_import **out)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    struct pg_import *im;
    char sql[SQL_MAX];
    PGresult *r;
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
    if ((im = calloc(1, sizeof(*im))) == NULL)
        return SH_ERR_NOMEM;
    im->base.ncols = ncols;
    im->c = c;
    if ((rc = plan(im, table, ncols, names, sql, sizeof(sql))) != SH_OK) {
        free(im);
        return rc;
    }
    r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        rc = failed(c, r);
        PQclear(r);
        free(im);
        return rc;
    }
    PQclear(r);
    *out = &im->base;
    return SH_OK;
}

static int too_large(struct pg_import *im)
{
    im->failed = SH_ERR_TOO_LARGE;
    return -1;
}

/* Makes room for n more bytes of the row. 0, or -1 (im->failed set). */
static int reserve(struct pg_import *im, size_t n)
{
    size_t want = im->cap ? im->cap : ROW_INITIAL;
    char *grown;

    if (n > ROW_MAX || im->len + n > ROW_MAX) /* len <= ROW_MAX: no wrap */
        return too_large(im);
    if (im->len + n <= im->cap)
        return 0;
    while (want < im->len + n)
        want *= 2;
    if ((grown = realloc(im->row, want)) == NULL) {
        im->failed = SH_ERR_NOMEM;
        return -1;
    }
    im->row = grown;
    im->cap = want;
    return 0;
}

static int put(struct pg_import *im, const char *s, size_t n)
{
    if (reserve(im, n) != 0)
        return -1;
    memcpy(im->row + im->len, s, n);
    im->len += n;
    return 0;
}

/* The letter after a backslash for the four bytes that would end a field
 * or a row in COPY text format (and the backslash itself), else 0. */
static char escape_of(uint8_t ch)
{
    switch (ch) {
    case '\\':
        return '\\';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

/* Text as COPY text format spells it; NUL cannot be stored in text at all. */
static int put_text(struct pg_import *im, const uint8_t *p, size_t n)
{
    if (n > ROW_MAX / 2)
        return too_large(im);
    if (reserve(im, 2 * n) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char esc = escape_of(p[i]);

        if (p[i] == 0) {
            im->failed = SH_ERR_INVALID_REQUEST;
            return -1;
        }
        if (esc != 0) {
            im->row[im->len++] = '\\';
            im->row[im->len++] = esc;
        } else {
            im->row[im->len++] = (char)p[i];
        }
    }
    return 0;
}

/* bytea's hex input, its backslash escaped for COPY: \\x0a1b... */
static int put_hex(struct pg_import *im, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    if (n > ROW_MAX / 2)
        return too_large(im);
    if (reserve(im, 3 + 2 * n) != 0)
        return -1;
    memcpy(im->row + im->len, "\\\\x", 3);
    im->len += 3;
    for (size_t i = 0; i < n; i++) {
        im->row[im->len++] = hex[p[i] >> 4];
        im->row[im->len++] = hex[p[i] & 15];
    }
    return 0;
}

/* One field: the value v in the column of type t. */
static int put_value(struct pg_import *im, int t, const sh_store_value *v)
{
    char num[SH_PG_NUM_LEN];

    if (v->kind == SH_VAL_NULL)
        return put(im, "\\N", 2);
    if (v->kind == SH_VAL_INT && t == T_INT) {
        snprintf(num, sizeof(num), "%" PRId64, v->i);
        return put(im, num, strlen(num));
    }
    if (v->kind == SH_VAL_INT && t == T_BOOL)
        return put(im, v->i ? "t" : "f", 1);
    if (v->kind == SH_VAL_TEXT && t == T_TEXT && v->p != NULL)
        return put_text(im, v->p, v->len);
    if ((v->kind == SH_VAL_BLOB || v->kind == SH_VAL_TEXT) && t == T_BYTEA && v->p != NULL)
        return put_hex(im, v->p, v->len);
    im->failed = SH_ERR_INVALID_REQUEST; /* a value the column cannot hold */
    return -1;
}

sh_status sh_pg_table_import_row(sh_store *st, sh_store_import *base, const sh_store_value *vals)
{
    struct pg_import *im = (struct pg_import *)base;
    int sent = 0;

    (void)st;
    if (im->failed != SH_OK)
        return im->failed;
    im->len = 0;
    for (int i = 0; i < im->base.ncols; i++) {
        if (im->skip[i])
            continue;
        if ((sent++ && put(im, "\t", 1) != 0) || put_value(im, im->type[i], &vals[i]) != 0)
            return im->failed;
    }
    if (put(im, "\n", 1) != 0)
        return im->failed;
    if (PQputCopyData(im->c->pg, im->row, (int)im->len) != 1)
        im->failed = failed(im->c, NULL);
    return im->failed;
}

sh_status sh_pg_table_import_end(sh_store *st, sh_store_import *base, int ok)
{
    struct pg_import *im = (struct pg_import *)base;
    struct sh_pg_conn *c = im->c;
    int keep = ok && im->failed == SH_OK;
    sh_status rc = im->failed;
    PGresult *r;

    (void)st;
    /* an error message makes the server drop the rows and fail the COPY */
    if (PQputCopyEnd(c->pg, keep ? NULL : "import abandoned") != 1 && rc == SH_OK)
        rc = failed(c, NULL);
    while ((r = PQgetResult(c->pg)) != NULL) {
        if (keep && rc == SH_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = failed(c, r);
        PQclear(r);
    }
    if (!keep && c->tx_depth > 0)
        c->tx_failed = 1;
    free(im->row);
    free(im);
    return ok ? rc : SH_OK;
}
