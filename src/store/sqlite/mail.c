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
    "UPDATE mail_outbox SET next_attempt_at=?2 WHERE id IN (SELECT id FROM mail_outbox "
    "WHERE next_attempt_at<=?1 ORDER BY next_attempt_at LIMIT ?3) "
    "RETURNING id,user_id,kind,recipient_ct,body_ct,attempts,next_attempt_at,created_at";
static const char SQL_MAIL_DONE[] = "DELETE FROM mail_outbox WHERE id=?";
static const char SQL_MAIL_COUNT[] = "SELECT count(*) FROM mail_outbox";
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

/* Reads an outbox row into rec (an sh_mail_rec); 0, or -1 when out of
 * memory. */
static int read_mail(sqlite3_stmt *q, void *rec)
{
    sh_mail_rec *m = rec;

    sh_sq_col_id(q, 0, &m->id);
    sh_sq_col_id(q, 1, &m->user_id);
    m->kind = sqlite3_column_int(q, 2);
    m->attempts = sqlite3_column_int(q, 5);
    m->next_attempt_at = sqlite3_column_int64(q, 6);
    m->created_at = sqlite3_column_int64(q, 7);
    if (sh_sq_col_blob(q, 3, &m->recipient_ct, &m->recipient_ct_len) != 0 ||
        sh_sq_col_blob(q, 4, &m->body_ct, &m->body_ct_len) != 0) {
        sh_mail_rec_clear(m);
        return -1;
    }
    return 0;
}

static void give_mail(union sh_sq_cb cb, void *ctx, const void *rec) { cb.mail(ctx, rec); }

static void clear_mail(void *rec) { sh_mail_rec_clear(rec); }

static const struct sh_sq_kind mail_kind = {
    .size = sizeof(sh_mail_rec),
    .read = read_mail,
    .give = give_mail,
    .clear = clear_mail,
};

/* Leases the due messages (until lease_until) and then hands them to cb; a
 * message lost to a failure here is sent once its lease runs out. */
sh_status sh_sq_mail_due(sh_store *st, int64_t now, int64_t lease_until, int limit,
                         sh_store_mail_cb cb, void *ctx)
{
    struct sh_sq_conn *c = sh_sq_conn(st);
    sqlite3_stmt *q = c ? sh_sq_stmt(c, SQL_MAIL_DUE) : NULL;

    if (q == NULL)
        return SH_ERR_STORE;
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, lease_until);
    sqlite3_bind_int(q, 3, limit);
    return sh_sq_list(c, q, &mail_kind, (union sh_sq_cb){.mail = cb}, ctx);
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

sh_status sh_sq_mail_count(sh_store *st, int64_t *count)
{
    return sh_sq_int64(sh_sq_conn(st), SQL_MAIL_COUNT, count);
}
