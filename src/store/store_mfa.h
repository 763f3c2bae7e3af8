/*
 * store_mfa.h - the store operations of two-factor login, one-time e-mail
 * tokens, known logins, the mail outbox, the account's e-mail state and the
 * per-account abuse-limit buckets.
 *
 * Same rules as store.h: the store sees sealed blobs and keyed hashes only,
 * records it fills own their blobs (release with the *_clear helpers),
 * records passed in are borrowed, every call may come from any thread.
 * Single-use and counting operations are single conditional statements, so
 * two racing callers cannot both succeed.
 *
 * Errors: SH_ERR_NOT_FOUND (no row / condition not met), SH_ERR_CONFLICT
 * (constraint), SH_ERR_STORE, SH_ERR_NOMEM.
 */
#ifndef SH_STORE_MFA_H
#define SH_STORE_MFA_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define SH_STORE_RECOVERY_MAX 16

/* The TOTP row of a user. confirmed_at == 0: enrolment not confirmed yet. */
typedef struct sh_totp_rec {
    sh_id user_id;
    uint8_t *secret_ct; /* sealed secret */
    size_t secret_ct_len;
    int64_t confirmed_at;
    int64_t last_step; /* last accepted step; codes must be newer */
    int64_t created_at;
} sh_totp_rec;

/* A pending second-factor challenge (the mfa_token). */
typedef struct sh_challenge_rec {
    sh_id id;
    uint8_t hash[SH_STORE_HASH_LEN]; /* keyed hash of the mfa_token */
    sh_id user_id;
    int token_class;
    uint8_t *device_name_ct; /* sealed, may be NULL */
    size_t device_name_ct_len;
    int failures;
    int64_t expires_at;
    int64_t used_at; /* 0 while unused */
    int64_t created_at;
} sh_challenge_rec;

enum sh_user_token_purpose {
    SH_UTOKEN_EMAIL_VERIFY = 1,
    SH_UTOKEN_PASSWORD_RESET = 2,
};

/* A one-time token sent by e-mail. bound_idx: the blind index of the
 * address it was sent to (verification must match the current address). */
typedef struct sh_user_token_rec {
    uint8_t hash[SH_STORE_HASH_LEN];
    sh_id user_id;
    int purpose;
    uint8_t bound_idx[SH_STORE_HASH_LEN];
    int64_t expires_at;
    int64_t created_at;
} sh_user_token_rec;

/* One queued message; recipient and body sealed under the user's key. */
typedef struct sh_mail_rec {
    sh_id id;
    sh_id user_id;
    int kind;
    uint8_t *recipient_ct;
    size_t recipient_ct_len;
    uint8_t *body_ct;
    size_t body_ct_len;
    int attempts;
    int64_t next_attempt_at;
    int64_t created_at;
} sh_mail_rec;

/* Two-factor and e-mail state shown by GET /v1/me. */
typedef struct sh_account_state {
    int64_t email_verified_at; /* 0: not verified */
    int64_t mfa_confirmed_at;  /* 0: two-factor off */
} sh_account_state;

/* One abuse-limit bucket (the state of core/ratelimit.h), shared by every
 * node. Its key is a hash of (policy name, caller key), where the caller
 * key is a keyed blind index or a user id: never a personal value. All
 * integers, so a bucket reads back exactly as it was written. */
typedef struct sh_limit_rec {
    int64_t strikes;
    int64_t tokens; /* millionths of a token, at last_us */
    int64_t last_us;
    int64_t blocked_until;
    int64_t idle_at; /* from then on the same as no bucket: prune may drop it */
} sh_limit_rec;

typedef void (*sh_store_mail_cb)(void *ctx, const sh_mail_rec *m);
typedef void (*sh_limit_update_fn)(void *ctx, sh_limit_rec *r, int found);

struct sh_store_mfa_ops {
    /* TOTP: one row per user. put replaces a pending (unconfirmed) row and
     * fails with SH_ERR_CONFLICT while a confirmed one exists. */
    sh_status (*totp_get)(sh_store *st, const sh_id *user, sh_totp_rec *out);
    sh_status (*totp_put_pending)(sh_store *st, const sh_totp_rec *t);
    /* Confirms the pending row at step and replaces the recovery hashes, in
     * one transaction. SH_ERR_NOT_FOUND if no pending row or step is not
     * newer than last_step. */
    sh_status (*totp_confirm)(sh_store *st, const sh_id *user, int64_t step, int64_t now,
                              const uint8_t (*hashes)[SH_STORE_HASH_LEN], size_t n);
    /* Deletes the TOTP row and every recovery code. */
    sh_status (*totp_delete)(sh_store *st, const sh_id *user);
    /* Moves last_step forward to step; SH_ERR_NOT_FOUND if it already was
     * at or past step (a replayed code). */
    sh_status (*totp_use_step)(sh_store *st, const sh_id *user, int64_t step);
    /* Marks an unused recovery code used; SH_ERR_NOT_FOUND if none. */
    sh_status (*recovery_use)(sh_store *st, const sh_id *user,
                              const uint8_t hash[SH_STORE_HASH_LEN], int64_t now);

    /* Second-factor challenges. */
    sh_status (*challenge_insert)(sh_store *st, const sh_challenge_rec *c);
    sh_status (*challenge_get)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN],
                               sh_challenge_rec *out);
    /* failures += 1 while unused; *failures gets the new count. */
    sh_status (*challenge_fail)(sh_store *st, const sh_id *id, int *failures);
    /* Marks used if unused, unexpired and failures < max_failures;
     * SH_ERR_NOT_FOUND otherwise (lost a race, or dead). */
    sh_status (*challenge_consume)(sh_store *st, const sh_id *id, int64_t now, int max_failures);

    /* One-time e-mail tokens. consume marks used and returns the row if it
     * was unused and unexpired; SH_ERR_NOT_FOUND otherwise. */
    sh_status (*utoken_insert)(sh_store *st, const sh_user_token_rec *t);
    sh_status (*utoken_consume)(sh_store *st, const uint8_t hash[SH_STORE_HASH_LEN], int purpose,
                                int64_t now, sh_user_token_rec *out);
    /* Deletes every unused token of a purpose for a user. */
    sh_status (*utoken_drop_all)(sh_store *st, const sh_id *user, int purpose);

    /* Known logins (client kind + device name fingerprints). *is_new is 1
     * when the fingerprint was not known; *known_before counts the user's
     * fingerprints before this call. */
    sh_status (*login_seen)(sh_store *st, const sh_id *user, const uint8_t fp[SH_STORE_HASH_LEN],
                            int64_t now, int *is_new, int *known_before);

    /* Account e-mail state. set_email stores a new (sealed, indexed)
     * address and clears verification; SH_ERR_CONFLICT if taken. verify
     * sets email_verified_at only if the current index is bound_idx. */
    sh_status (*account_state)(sh_store *st, const sh_id *user, sh_account_state *out);
    sh_status (*set_email)(sh_store *st, const sh_id *user, const uint8_t idx[SH_STORE_HASH_LEN],
                           const uint8_t *ct, size_t len, int64_t now);
    sh_status (*email_verify)(sh_store *st, const sh_id *user,
                              const uint8_t bound_idx[SH_STORE_HASH_LEN], int64_t now);
    /* Deletes the user row; sessions, tokens, 2FA and queued mail go with it
     * (ON DELETE CASCADE), and with the wrapped key every sealed field. */
    sh_status (*user_delete)(sh_store *st, const sh_id *user);

    /* Outbox. due claims at most limit rows with next_attempt_at <= now,
     * oldest first: each is moved to next_attempt_at = lease_until in the
     * same statement, so of several nodes polling at once only one gets a
     * row, and a node that dies holding it lets it come due again at
     * lease_until. cb is called for each claimed row. */
    sh_status (*mail_insert)(sh_store *st, const sh_mail_rec *m);
    sh_status (*mail_due)(sh_store *st, int64_t now, int64_t lease_until, int limit,
                          sh_store_mail_cb cb, void *ctx);
    sh_status (*mail_done)(sh_store *st, const sh_id *id);
    sh_status (*mail_retry)(sh_store *st, const sh_id *id, int attempts, int64_t next_attempt_at);
    /* How many mails wait in the outbox (for /metrics). */
    sh_status (*mail_count)(sh_store *st, int64_t *count);

    /* Deletes challenges and one-time tokens that expired before `before`,
     * and limit buckets idle since before `before`. */
    sh_status (*prune)(sh_store *st, int64_t before);

    /* Abuse-limit buckets. get: SH_ERR_NOT_FOUND when there is none. put
     * inserts or replaces. A caller that reads, decides and writes back
     * runs both in one transaction (sh_store_tx_run), so that of two
     * racing writers of one key, on one node or several, one sees the
     * other's write. */
    sh_status (*limit_get)(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN], sh_limit_rec *out);
    sh_status (*limit_put)(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                           const sh_limit_rec *r);
    /* Read-modify-write of one bucket as one step: fn gets the stored
     * record (found 1) or a zeroed one (found 0), changes it, and the store
     * keeps the result. Concurrent updates of one key, on any node, wait for
     * each other (each sees the one before): none is lost and none fails
     * for the race. fn may be called more than once and must compute from
     * the record alone. */
    sh_status (*limit_update)(sh_store *st, const uint8_t key[SH_STORE_HASH_LEN],
                              sh_limit_update_fn fn, void *ctx);
};

void sh_totp_rec_clear(sh_totp_rec *t);
void sh_challenge_rec_clear(sh_challenge_rec *c);
void sh_mail_rec_clear(sh_mail_rec *m);

#endif
