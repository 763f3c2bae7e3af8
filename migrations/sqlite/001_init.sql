-- safehouse schema v1 (SQLite): accounts, app sessions, refresh tokens,
-- revocation rules. Personal values are sealed blobs; secrets are keyed
-- hashes; ids are 16 random bytes; times are microseconds since the epoch.

CREATE TABLE users (
    id           BLOB PRIMARY KEY,
    email_idx    BLOB NOT NULL UNIQUE,   -- keyed blind index of the e-mail
    email_ct     BLOB NOT NULL,          -- sealed e-mail
    name_ct      BLOB,                   -- sealed display name
    password     TEXT NOT NULL,          -- Argon2id string (salted hash)
    wrapped_key  BLOB NOT NULL,          -- user data key, wrapped
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE sessions (
    id             BLOB PRIMARY KEY,
    user_id        BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    class          INTEGER NOT NULL,
    device_name_ct BLOB,                 -- sealed
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER NOT NULL,
    revoked_at     INTEGER               -- NULL while active
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE refresh_tokens (
    hash        BLOB PRIMARY KEY,        -- keyed hash of the token
    session_id  BLOB NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    rotated_at  INTEGER                  -- set when exchanged; reuse = theft
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

CREATE TABLE revocation_rules (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          BLOB NOT NULL UNIQUE,
    scope       INTEGER NOT NULL,
    value       TEXT NOT NULL,
    not_before  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  BLOB NOT NULL
) WITHOUT ROWID;
