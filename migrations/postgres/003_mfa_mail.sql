-- safehouse schema v3 (PostgreSQL): two-factor login, one-time e-mail
-- tokens, known logins and the mail outbox. Same rules as v1: secrets as
-- keyed hashes, personal values sealed under the user's data key, times in
-- us. Same tables and meaning as migrations/sqlite/003_mfa_mail.sql.

ALTER TABLE users ADD COLUMN email_verified_at bigint;  -- NULL: not verified

CREATE TABLE mfa_totp (
    user_id      bytea PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret_ct    bytea NOT NULL,         -- sealed TOTP secret
    confirmed_at bigint,                 -- NULL while enrolment is pending
    last_step    bigint NOT NULL DEFAULT 0,  -- last accepted 30 s step
    created_at   bigint NOT NULL
);

CREATE TABLE mfa_recovery (
    user_id  bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash     bytea NOT NULL,             -- keyed hash of (user, code)
    used_at  bigint,
    PRIMARY KEY (user_id, hash)
);

CREATE TABLE mfa_challenges (
    id             bytea PRIMARY KEY,
    hash           bytea NOT NULL UNIQUE, -- keyed hash of the mfa_token
    user_id        bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    class          integer NOT NULL,     -- the client kind it is bound to
    device_name_ct bytea,                -- sealed
    failures       integer NOT NULL DEFAULT 0,
    expires_at     bigint NOT NULL,
    used_at        bigint,
    created_at     bigint NOT NULL
);
CREATE INDEX mfa_challenges_user ON mfa_challenges(user_id);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges(expires_at);

CREATE TABLE user_tokens (
    hash        bytea PRIMARY KEY,       -- keyed hash of the token
    user_id     bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     integer NOT NULL,        -- 1 e-mail verification, 2 password reset
    bound_idx   bytea NOT NULL,          -- blind index of the address it went to
    expires_at  bigint NOT NULL,
    used_at     bigint,
    created_at  bigint NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens(user_id);
CREATE INDEX user_tokens_expiry ON user_tokens(expires_at);

CREATE TABLE known_logins (
    user_id       bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fingerprint   bytea NOT NULL,        -- keyed hash of (user, client kind, device name)
    first_seen_at bigint NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
);

CREATE TABLE mail_outbox (
    id              bytea PRIMARY KEY,
    user_id         bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind            integer NOT NULL,
    recipient_ct    bytea NOT NULL,      -- sealed address
    body_ct         bytea NOT NULL,      -- sealed subject and text
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL,
    created_at      bigint NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_attempt_at);
