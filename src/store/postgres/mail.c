/*
 * mail.c - the mail outbox (PostgreSQL). Rows hold sealed recipients and
 * bodies; a sent message's row is deleted. Unlike SQLite's secure_delete,
 * PostgreSQL leaves the dead row's bytes until vacuum reuses the space;
 * they are sealed under the user's key, like the live row.
 *
 * Same meaning as sqlite/mail.c: every operation is one statement.
 * mail_due only reads: it claims nothing, so two nodes running the sender
 * at once may both see (and send) the same due message.
 */
#include <stdlib.h>
#include <string.h>

#include "store/postgres/internal.h"
#include "store/store_mfa.h"

static const char SQL_MAIL_INSERT[] =
    "INSERT INTO mail_outbox(id,user_id,kind,recipient_ct,body_ct,attempts,next_attempt_at,"
    "created_at) VALUES($1,$2,$3,$4,$5,0,$6,$7)";
/* SKIP LOCKED: a node polling while another claims takes other rows, or
 * none, instead of waiting for the other's commit. */
static const char SQL_MAIL_DUE[] =
    "UPDATE mail_outbox SET next_attempt_at=$2 WHERE id IN (SELECT id FROM mail_outbox "
    "WHERE next_attempt_at<=$1 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
    "RETURNING id,user_id,kind,recipient_ct,body_ct,attempts,next_attempt_at,created_at";
static const char SQL_MAIL_DONE[] = "DELETE FROM mail_outbox WHERE id=$1";
static const char SQL_MAIL_COUNT[] = "SELECT count(*) FROM mail_outbox";
static const char SQL_MAIL_RETRY[] =
    "UPDATE mail_outbox SET attempts=$1,next_attempt_at=$2 WHERE id=$3";

sh_status sh_pg_mail_insert(sh_store *st, const sh_mail_rec *m)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, &m->id);
    sh_pg_p_id(&p, &m->user_id);
    sh_pg_p_i64(&p, m->kind);
    sh_pg_p_blob(&p, m->recipient_ct, m->recipient_ct_len);
    sh_pg_p_blob(&p, m->body_ct, m->body_ct_len);
    sh_pg_p_i64(&p, m->next_attempt_at);
    sh_pg_p_i64(&p, m->created_at);
    return sh_pg_run(c, SQL_MAIL_INSERT, &p, NULL);
}

/* Claims at most limit due rows (see store_mfa.h) and calls cb for each, after the rows were
 * read (cb may call the store). The record passed to cb is freed after cb
 * returns. */
sh_status sh_pg_mail_due(sh_store *st, int64_t now, int64_t lease_until, int limit,
                         sh_store_mail_cb cb, void *ctx)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_mail_rec m;
    sh_status rc;
    int n;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, now);
    sh_pg_p_i64(&p, lease_until);
    sh_pg_p_i64(&p, limit);
    if ((rc = sh_pg_query(c, SQL_MAIL_DUE, &p, &r)) != SH_OK)
        goto out;
    n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        memset(&m, 0, sizeof(m));
        sh_pg_col_id(r, i, 0, &m.id);
        sh_pg_col_id(r, i, 1, &m.user_id);
        m.kind = (int)sh_pg_col_i64(r, i, 2);
        if (sh_pg_col_blob(r, i, 3, &m.recipient_ct, &m.recipient_ct_len) != 0 ||
            sh_pg_col_blob(r, i, 4, &m.body_ct, &m.body_ct_len) != 0) {
            sh_mail_rec_clear(&m);
            rc = SH_ERR_NOMEM;
            goto out;
        }
        m.attempts = (int)sh_pg_col_i64(r, i, 5);
        m.next_attempt_at = sh_pg_col_i64(r, i, 6);
        m.created_at = sh_pg_col_i64(r, i, 7);
        cb(ctx, &m);
        sh_mail_rec_clear(&m);
    }
out:
    PQclear(r);
    return rc;
}

sh_status sh_pg_mail_done(sh_store *st, const sh_id *id)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_id(&p, id);
    return sh_pg_run(c, SQL_MAIL_DONE, &p, NULL);
}

sh_status sh_pg_mail_retry(sh_store *st, const sh_id *id, int attempts, int64_t next_attempt_at)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;

    sh_pg_params_init(&p);
    sh_pg_p_i64(&p, attempts);
    sh_pg_p_i64(&p, next_attempt_at);
    sh_pg_p_id(&p, id);
    return sh_pg_run(c, SQL_MAIL_RETRY, &p, NULL);
}

sh_status sh_pg_mail_count(sh_store *st, int64_t *count)
{
    struct sh_pg_conn *c = sh_pg_conn(st);
    sh_pg_params p;
    PGresult *r = NULL;
    sh_status rc;

    sh_pg_params_init(&p);
    if ((rc = sh_pg_query(c, SQL_MAIL_COUNT, &p, &r)) == SH_OK)
        *count = PQntuples(r) == 1 ? sh_pg_col_i64(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}
