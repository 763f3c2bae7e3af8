-- safehouse schema v1 (PostgreSQL): accounts, app sessions, refresh tokens,
-- revocation rules. Personal values are sealed blobs (bytea); secrets are
-- keyed hashes; ids are 16 random bytes; times are microseconds since the
-- epoch (bigint). Same tables and meaning as migrations/sqlite/001_init.sql.

CREATE TABLE users (
    id           bytea PRIMARY KEY,
    email_idx    bytea NOT NULL UNIQUE,  -- keyed blind index of the e-mail
    email_ct     bytea NOT NULL,         -- sealed e-mail
    name_ct      bytea,                  -- sealed display name
    password     text NOT NULL,          -- Argon2id string (salted hash)
    wrapped_key  bytea NOT NULL,         -- user data key, wrapped
    created_at   bigint NOT NULL,
    updated_at   bigint NOT NULL
);

CREATE TABLE sessions (
    id             bytea PRIMARY KEY,
    user_id        bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    class          integer NOT NULL,
    device_name_ct bytea,                -- sealed
    created_at     bigint NOT NULL,
    last_used_at   bigint NOT NULL,
    revoked_at     bigint                -- NULL while active
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    hash        bytea PRIMARY KEY,       -- keyed hash of the token
    session_id  bytea NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  bigint NOT NULL,
    rotated_at  bigint                   -- set when exchanged; reuse = theft
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

-- seq numbers rules for display and ordering only: identity values are
-- taken at insert, not at commit, so a reader going by seq could skip a
-- rule whose transaction commits late. The feed reads by txid (the
-- inserting transaction) instead, so that no late commit is skipped.
CREATE TABLE revocation_rules (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          bytea NOT NULL UNIQUE,
    scope       integer NOT NULL,
    value       text NOT NULL,
    not_before  bigint NOT NULL,
    created_at  bigint NOT NULL,
    txid        xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX revocation_rules_txid ON revocation_rules(txid);

CREATE TABLE meta (
    key    text PRIMARY KEY,
    value  bytea NOT NULL
);
