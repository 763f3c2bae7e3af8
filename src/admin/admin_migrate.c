/*
 * admin_migrate.c - `safehouse admin migrate-store --from URL --to URL`:
 * moves an installation from one store to another, typically from the
 * embedded SQLite file to PostgreSQL when it grows to several nodes (the
 * other way works the same).
 *
 * What it promises:
 * - All or nothing: the target must be empty (no row in any table), and
 *   every row goes in within one transaction on it. A refusal or a failure
 *   writes nothing (the schema, which opening a store creates, aside).
 * - Nothing is interpreted: rows go through the store's bulk copy (store.h)
 *   as opaque values, so sealed fields and keyed hashes arrive as the same
 *   bytes. No key is needed and the master key is never opened; a server
 *   started on the target with the same master key sees the same accounts,
 *   sessions, rules, devices and links.
 * - No table is forgotten: both stores must have exactly the tables that
 *   store/tables.h names, copied in its foreign-key order.
 * - Counted: before the commit, every table must hold as many rows on the
 *   source as were copied and as the target now has (a source written to
 *   during the copy shows up here, and nothing is written); after it, the
 *   committed target is counted once more.
 *
 * Stop every server on the source first. The summary goes to stdout as one
 * JSON line; reasons go to stderr. URLs are never printed (a PostgreSQL URL
 * may hold a password).
 */
#include "admin/admin.h"

#include "core/cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/tables.h"

#define EXIT_USAGE 2
#define MSG_MAX 256

struct migrate {
    sh_store *from, *to;
    sh_store *tx;        /* the target's transaction, while copying */
    int64_t *copied;     /* rows copied, per table of sh_store_tables */
    int table;           /* the index of the table being copied */
    sh_store_import *im; /* its writer, from its first row on */
    char msg[MSG_MAX];   /* why it stopped, for stderr */
};

/* ---- the tables on each side ---------------------------------------------- */

struct table_check {
    int *seen;                           /* per table of sh_store_tables */
    char unknown[SH_STORE_NAME_MAX + 1]; /* the first table not in the list */
};

static void check_table(void *ctx, const char *name)
{
    struct table_check *tc = ctx;
    int i = sh_store_table_index(name);

    if (i >= 0)
        tc->seen[i] = 1;
    else if (tc->unknown[0] == '\0')
        snprintf(tc->unknown, sizeof(tc->unknown), "%s", name);
}

/* 0 when st has exactly the listed tables; else -1, with the reason printed. */
static int check_tables(sh_store *st, const char *side)
{
    struct table_check tc;
    sh_status rc;
    int code = -1;

    memset(&tc, 0, sizeof(tc));
    if ((tc.seen = calloc((size_t)sh_store_tables_count, sizeof(*tc.seen))) == NULL)
        return -1;
    if ((rc = sh_store_do(st, core, table_list, check_table, &tc)) != SH_OK) {
        fprintf(stderr, "safehouse: cannot list the tables of the %s store (%s)\n", side,
                sh_status_code(rc));
        goto out;
    }
    if (tc.unknown[0] != '\0') {
        fprintf(stderr,
                "safehouse: the %s store has a table '%s' that migrate-store does not know "
                "(add it to src/store/tables.c); nothing was copied\n",
                side, tc.unknown);
        goto out;
    }
    for (int i = 0; i < sh_store_tables_count; i++) {
        if (!tc.seen[i]) {
            fprintf(stderr, "safehouse: the %s store has no table '%s'; nothing was copied\n", side,
                    sh_store_tables[i]);
            goto out;
        }
    }
    code = 0;
out:
    free(tc.seen);
    return code;
}

/* ---- the copy, in the target's transaction --------------------------------- */

static sh_status copy_row(void *ctx, int ncols, const char *const *names,
                          const sh_store_value *vals)
{
    struct migrate *m = ctx;
    const char *table = sh_store_tables[m->table];
    sh_status rc;

    if (m->im == NULL) {
        rc = sh_store_do(m->tx, core, table_import_begin, table, ncols, names, &m->im);
        if (rc != SH_OK) {
            m->im = NULL;
            return rc;
        }
    }
    if (ncols != m->im->ncols)
        return SH_ERR_INTERNAL; /* one table, one shape */
    if ((rc = sh_store_do(m->tx, core, table_import_row, m->im, vals)) != SH_OK)
        return rc;
    m->copied[m->table]++;
    return SH_OK;
}

static sh_status copy_table(struct migrate *m, int i)
{
    sh_status rc, end;

    m->table = i;
    m->im = NULL;
    m->copied[i] = 0;
    rc = sh_store_do(m->from, core, table_export, sh_store_tables[i], copy_row, m);
    if (m->im != NULL) {
        end = sh_store_do(m->tx, core, table_import_end, m->im, rc == SH_OK);
        m->im = NULL;
        if (rc == SH_OK)
            rc = end;
    }
    if (rc != SH_OK)
        snprintf(m->msg, sizeof(m->msg), "copying table %s failed (%s)", sh_store_tables[i],
                 sh_status_code(rc));
    return rc;
}

/* Every table: as many rows on the source as were copied, and as on to. */
static sh_status verify(struct migrate *m, sh_store *to)
{
    for (int i = 0; i < sh_store_tables_count; i++) {
        const char *table = sh_store_tables[i];
        int64_t src = 0, dst = 0;
        sh_status rc = sh_store_do(m->from, core, table_count, table, &src);

        if (rc == SH_OK)
            rc = sh_store_do(to, core, table_count, table, &dst);
        if (rc != SH_OK) {
            snprintf(m->msg, sizeof(m->msg), "cannot count table %s (%s)", table,
                     sh_status_code(rc));
            return rc;
        }
        if (src != m->copied[i] || dst != m->copied[i]) {
            snprintf(m->msg, sizeof(m->msg),
                     "row counts of table %s differ: source %" PRId64 ", copied %" PRId64
                     ", target %" PRId64,
                     table, src, m->copied[i], dst);
            return SH_ERR_CONFLICT;
        }
    }
    return SH_OK;
}

/* sh_store_tx_fn: may run again on SH_ERR_RETRY, so it starts afresh. */
static sh_status copy_all(sh_store *tx, void *ctx)
{
    struct migrate *m = ctx;
    sh_status rc;

    m->tx = tx;
    m->msg[0] = '\0';
    for (int i = 0; i < sh_store_tables_count; i++) {
        int64_t n = 0;

        if ((rc = sh_store_do(tx, core, table_count, sh_store_tables[i], &n)) != SH_OK) {
            snprintf(m->msg, sizeof(m->msg), "cannot count table %s of the target (%s)",
                     sh_store_tables[i], sh_status_code(rc));
            return rc;
        }
        if (n > 0) {
            snprintf(m->msg, sizeof(m->msg),
                     "the target store is not empty (table %s has %" PRId64
                     " rows); nothing was written",
                     sh_store_tables[i], n);
            return SH_ERR_CONFLICT;
        }
    }
    for (int i = 0; i < sh_store_tables_count; i++) {
        if ((rc = copy_table(m, i)) != SH_OK)
            return rc;
    }
    rc = verify(m, tx);
    if (rc != SH_OK)
        snprintf(m->msg + strlen(m->msg), sizeof(m->msg) - strlen(m->msg), "; nothing was written");
    return rc;
}

/* ---- the command ------------------------------------------------------------ */

static int print_summary(const struct migrate *m)
{
    json_t *tables = json_object(), *j;
    json_int_t total = 0;
    char *text;

    for (int i = 0; tables != NULL && i < sh_store_tables_count; i++) {
        if (json_object_set_new(tables, sh_store_tables[i], json_integer(m->copied[i])) != 0) {
            json_decref(tables);
            tables = NULL;
        }
        total += m->copied[i];
    }
    j = tables ? json_pack("{s:o, s:I}", "tables", tables, "rows", total) : NULL;
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        fprintf(stderr, "safehouse: the copy is done but the summary could not be built\n");
        return 1;
    }
    printf("%s\n", text);
    free(text);
    return 0;
}

static int open_store(const char *url, const char *side, sh_store **st)
{
    sh_status rc = sh_store_open(url, NULL, st);

    if (rc != SH_OK) {
        *st = NULL;
        fprintf(stderr, "safehouse: cannot open the %s store (%s)\n", side, sh_status_code(rc));
        return -1;
    }
    return 0;
}

static int migrate(const char *from, const char *to)
{
    struct migrate m;
    int code = 1;

    memset(&m, 0, sizeof(m));
    if ((m.copied = calloc((size_t)sh_store_tables_count, sizeof(*m.copied))) == NULL)
        return 1;
    /* a mistyped source path must not quietly become a new, empty store */
    if (!sh_store_present(from, NULL)) {
        fprintf(stderr, "safehouse: there is no source store at --from\n");
        goto out;
    }
    if (open_store(from, "source", &m.from) != 0 || open_store(to, "target", &m.to) != 0)
        goto out;
    if (check_tables(m.from, "source") != 0 || check_tables(m.to, "target") != 0)
        goto out;
    if (sh_store_do(m.to, core, bulk_hint, SH_STORE_BULK_BYTES) != SH_OK ||
        sh_store_tx_run(m.to, copy_all, &m) != SH_OK) {
        fprintf(stderr, "safehouse: %s\n",
                m.msg[0] ? m.msg : "the transaction on the target failed; nothing was written");
        goto out;
    }
    if (verify(&m, m.to) != SH_OK) {
        fprintf(stderr, "safehouse: after the commit: %s\n", m.msg);
        goto out;
    }
    code = print_summary(&m);
out:
    sh_store_close(m.from);
    sh_store_close(m.to);
    free(m.copied);
    return code;
}

enum { O_FROM = 1, O_TO };

static const sh_cli_flag migrate_flags[] = {
    {"from", "URL", O_FROM, "the source store: sqlite:PATH or postgres://... (libpq URI)"},
    {"to", "URL", O_TO, "the target store, which must have no row"},
    SH_CLI_FLAG_CONFIG,
    SH_CLI_FLAG_HELP,
};

const sh_cli_cmd sh_admin_migrate_cmd = {
    .name = "admin migrate-store",
    .synopsis = "--from URL --to URL",
    .summary = "Copies every row of every table from one store to an empty other one, in one\n"
               "transaction, and prints the row counts as JSON on stdout. Stop every server on\n"
               "the source first. No key is needed.",
    .flags = migrate_flags,
    .nflags = sizeof(migrate_flags) / sizeof(migrate_flags[0]),
};

struct migrate_args {
    const char *from, *to;
};

static int migrate_flag(void *ctx, int opt, const char *arg)
{
    struct migrate_args *a = ctx;

    if (opt == O_FROM)
        a->from = arg;
    else
        a->to = arg;
    return 0;
}

int sh_admin_migrate_cli(int argc, char **argv)
{
    struct migrate_args a = {NULL, NULL};
    int code = sh_cli_parse(&sh_admin_migrate_cmd, argc, argv, migrate_flag, &a);

    if (code != SH_CLI_OK)
        return code == SH_CLI_HELP ? 0 : EXIT_USAGE;
    if (a.from == NULL || a.to == NULL || *a.from == '\0' || *a.to == '\0') {
        sh_cli_usage(stderr, &sh_admin_migrate_cmd);
        return EXIT_USAGE;
    }
    if (strcmp(a.from, a.to) == 0) {
        fprintf(stderr, "safehouse: --from and --to name the same store\n");
        return EXIT_USAGE;
    }
    return migrate(a.from, a.to);
}
