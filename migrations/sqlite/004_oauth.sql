-- safehouse schema v4 (SQLite): OAuth 2.0 account linking for voice
-- assistants and IFTTT. Every secret (client secret, IFTTT service key,
-- authorization code, refresh token) is a keyed hash; access tokens are
-- self-contained and not stored at all. A grant names the generation of
-- every device it covers, so a device that changes hands drops out of it
-- (promise P5).

CREATE TABLE oauth_clients (
    id               BLOB PRIMARY KEY,
    name             TEXT NOT NULL,            -- partner name shown on the consent page
    secret_hash      BLOB NOT NULL,            -- keyed hash of the sh_cs_ secret
    redirect_uris    TEXT NOT NULL,            -- newline-separated, matched exactly
    scopes           INTEGER NOT NULL,         -- scopes the client may ask for (bits)
    service_key_hash BLOB UNIQUE,              -- keyed hash of an IFTTT service key
    created_at       INTEGER NOT NULL,
    secret_set_at    INTEGER NOT NULL,
    disabled_at      INTEGER
) WITHOUT ROWID;

CREATE TABLE oauth_codes (
    hash          BLOB PRIMARY KEY,            -- keyed hash of the code
    client_id     BLOB NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri  TEXT NOT NULL,
    scopes        INTEGER NOT NULL,
    challenge     TEXT NOT NULL,               -- PKCE S256 code_challenge
    devices       BLOB NOT NULL,               -- (device id 16 bytes, generation 8 bytes BE)*
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER,                     -- single use
    grant_id      BLOB                         -- the grant it was exchanged for
) WITHOUT ROWID;
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);

CREATE TABLE oauth_grants (
    id            BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id     BLOB NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    scopes        INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,            -- issued_at of every token of the grant
    last_used_at  INTEGER NOT NULL,            -- last token issued
    revoked_at    INTEGER                      -- NULL while linked
) WITHOUT ROWID;
CREATE INDEX oauth_grants_user ON oauth_grants(user_id, client_id);

CREATE TABLE oauth_grant_devices (
    grant_id      BLOB NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    device_id     BLOB NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    generation    INTEGER NOT NULL,            -- valid only while the device is in it
    PRIMARY KEY (grant_id, device_id)
) WITHOUT ROWID;

CREATE TABLE oauth_refresh_tokens (
    hash          BLOB PRIMARY KEY,            -- keyed hash of the sh_or_ token
    grant_id      BLOB NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    state         INTEGER NOT NULL,            -- 1 current, 2 previous, 0 retired
    created_at    INTEGER NOT NULL,
    used_at       INTEGER                      -- first exchange; reuse after retirement = theft
) WITHOUT ROWID;
CREATE INDEX oauth_refresh_grant ON oauth_refresh_tokens(grant_id, state);
