/* mail.c - the mail outbox (SQLite). Rows hold sealed recipients and
 * bodies; a sent message's row is deleted (secure_delete overwrites it). */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/internal.h"
#include "store/store_mfa.h"

static const char SQL_MAIL_INSERT[] =
    "INSERT INTO mail_outbox(id,user_id,kind,recipient_ct,body_ct,attempts,next_attempt_at,"
    "created_at) VALUES(?,?,?,?,?,0,?,?)";
static const char SQL_MAIL_DUE[] =
    "SELECT id,user_id,kind,recipient_ct,body_ct,attempts,next_attempt_at,created_at "
    "FROM mail_outbox WHERE next_attempt_at<=? ORDER BY next_attempt_at LIMIT ?";
static const char SQL_MAIL_DONE[] = "DELETE FROM mail_outbox WHERE id=?";
static const char SQL_MAIL_RETRY[] =
    "UPDATE mail_outbox SET attempts=?,next_attempt_at=? WHERE id=?";

sh_status sh_sq_mail_insert(sh_store *st, const sh_mail_rec *m)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_MAIL_INSERT) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, &m->id);
    sh_sq_bind_id(q, 2, &m->user_id);
    sqlite3_bind_int(q, 3, m->kind);
    sh_sq_bind_blob(q, 4, m->recipient_ct, m->recipient_ct_len);
    sh_sq_bind_blob(q, 5, m->body_ct, m->body_ct_len);
    sqlite3_bind_int64(q, 6, m->next_attempt_at);
    sqlite3_bind_int64(q, 7, m->created_at);
    return sh_sq_run(c, q, NULL);
}

sh_status sh_sq_mail_due(sh_store *st, int64_t now, int limit, sh_store_mail_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_MAIL_DUE) : NULL;
    sh_mail_rec m;
    sh_status rc = SH_OK;
    int s;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int(q, 2, limit);
    while ((s = sqlite3_step(q)) == SQLITE_ROW) {
        memset(&m, 0, sizeof(m));
        sh_sq_col_id(q, 0, &m.id);
        sh_sq_col_id(q, 1, &m.user_id);
        m.kind = sqlite3_column_int(q, 2);
        if (sh_sq_col_blob(q, 3, &m.recipient_ct, &m.recipient_ct_len) != 0 ||
            sh_sq_col_blob(q, 4, &m.body_ct, &m.body_ct_len) != 0) {
            sh_mail_rec_clear(&m);
            rc = SH_ERR_NOMEM;
            break;
        }
        m.attempts = sqlite3_column_int(q, 5);
        m.next_attempt_at = sqlite3_column_int64(q, 6);
        m.created_at = sqlite3_column_int64(q, 7);
        cb(ctx, &m);
        sh_mail_rec_clear(&m);
    }
    if (rc == SH_OK && s != SQLITE_DONE && s != SQLITE_ROW)
        rc = sh_sq_step_error(c, s);
    sh_sq_done(q);
    return rc;
}

sh_status sh_sq_mail_done(sh_store *st, const sh_id *id)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_MAIL_DONE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sh_sq_bind_id(q, 1, id);
    return sh_sq_run(c, q, NULL);
}

sh_status sh_sq_mail_retry(sh_store *st, const sh_id *id, int attempts, int64_t next_attempt_at)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_MAIL_RETRY) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int(q, 1, attempts);
    sqlite3_bind_int64(q, 2, next_attempt_at);
    sh_sq_bind_id(q, 3, id);
    return sh_sq_run(c, q, NULL);
}
