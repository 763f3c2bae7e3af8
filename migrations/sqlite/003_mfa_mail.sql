-- safehouse schema v3 (SQLite): two-factor login, one-time e-mail tokens,
-- known logins and the mail outbox. Same rules as v1: secrets as keyed
-- hashes, personal values sealed under the user's data key, times in us.

ALTER TABLE users ADD COLUMN email_verified_at INTEGER;  -- NULL: not verified

CREATE TABLE mfa_totp (
    user_id      BLOB PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_ct    BLOB NOT NULL,          -- sealed TOTP secret
    confirmed_at INTEGER,                -- NULL while enrolment is pending
    last_step    INTEGER NOT NULL DEFAULT 0,  -- last accepted 30 s step
    created_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE mfa_recovery (
    user_id  BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash     BLOB NOT NULL,              -- keyed hash of (user, code)
    used_at  INTEGER,
    PRIMARY KEY (user_id, hash)
) WITHOUT ROWID;

CREATE TABLE mfa_challenges (
    id             BLOB PRIMARY KEY,
    hash           BLOB NOT NULL UNIQUE, -- keyed hash of the mfa_token
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    class          INTEGER NOT NULL,     -- the client kind it is bound to
    device_name_ct BLOB,                 -- sealed
    failures       INTEGER NOT NULL DEFAULT 0,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    created_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mfa_challenges_user ON mfa_challenges(user_id);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges(expires_at);

CREATE TABLE user_tokens (
    hash        BLOB PRIMARY KEY,        -- keyed hash of the token
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     INTEGER NOT NULL,        -- 1 e-mail verification, 2 password reset
    bound_idx   BLOB NOT NULL,           -- blind index of the address it went to
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX user_tokens_user ON user_tokens(user_id);
CREATE INDEX user_tokens_expiry ON user_tokens(expires_at);

CREATE TABLE known_logins (
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fingerprint   BLOB NOT NULL,         -- keyed hash of (user, client kind, device name)
    first_seen_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
) WITHOUT ROWID;

CREATE TABLE mail_outbox (
    id              BLOB PRIMARY KEY,
    user_id         BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            INTEGER NOT NULL,
    recipient_ct    BLOB NOT NULL,       -- sealed address
    body_ct         BLOB NOT NULL,       -- sealed subject and text
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at);
