-- safehouse schema v4 (PostgreSQL): OAuth 2.0 account linking for voice
-- assistants and IFTTT. Every secret (client secret, IFTTT service key,
-- authorization code, refresh token) is a keyed hash; access tokens are
-- self-contained and not stored at all. A grant names the generation of
-- every device it covers, so a device that changes hands drops out of it
-- (promise P5). Ids and hashes are bytea; times are bigint microseconds.

CREATE TABLE oauth_clients (
    id               bytea PRIMARY KEY,
    name             text NOT NULL,            -- partner name shown on the consent page
    secret_hash      bytea NOT NULL,           -- keyed hash of the sh_cs_ secret
    redirect_uris    text NOT NULL,            -- newline-separated, matched exactly
    scopes           integer NOT NULL,         -- scopes the client may ask for (bits)
    service_key_hash bytea UNIQUE,             -- keyed hash of an IFTTT service key
    created_at       bigint NOT NULL,
    secret_set_at    bigint NOT NULL,
    disabled_at      bigint
);

CREATE TABLE oauth_codes (
    hash          bytea PRIMARY KEY,           -- keyed hash of the code
    client_id     bytea NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    user_id       bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri  text NOT NULL,
    scopes        integer NOT NULL,
    challenge     text NOT NULL,               -- PKCE S256 code_challenge
    devices       bytea NOT NULL,              -- (device id 16 bytes, generation 8 bytes BE)*
    created_at    bigint NOT NULL,
    expires_at    bigint NOT NULL,
    used_at       bigint,                      -- single use
    grant_id      bytea                        -- the grant it was exchanged for
);
CREATE INDEX oauth_codes_expiry ON oauth_codes(expires_at);

CREATE TABLE oauth_grants (
    id            bytea PRIMARY KEY,
    user_id       bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    client_id     bytea NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
    scopes        integer NOT NULL,
    created_at    bigint NOT NULL,             -- issued_at of every token of the grant
    last_used_at  bigint NOT NULL,             -- last token issued
    revoked_at    bigint                       -- NULL while linked
);
CREATE INDEX oauth_grants_user ON oauth_grants(user_id, client_id);

CREATE TABLE oauth_grant_devices (
    grant_id      bytea NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    device_id     bytea NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    generation    bigint NOT NULL,             -- valid only while the device is in it
    PRIMARY KEY (grant_id, device_id)
);

CREATE TABLE oauth_refresh_tokens (
    hash          bytea PRIMARY KEY,           -- keyed hash of the sh_or_ token
    grant_id      bytea NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    state         integer NOT NULL,            -- 1 current, 2 previous, 0 retired
    created_at    bigint NOT NULL,
    used_at       bigint                       -- first exchange; reuse after retirement = theft
);
CREATE INDEX oauth_refresh_grant ON oauth_refresh_tokens(grant_id, state);
