-- safehouse schema v2 (SQLite): devices, shares, relays.
-- A device's `generation` moves on at every release and reset; every share
-- and every stream ticket names the generation it was made for and dies
-- with it (promise P5). Names and network details are sealed under the
-- owner's data key, with the generation in the additional data.

CREATE TABLE devices (
    id               BLOB PRIMARY KEY,
    type             INTEGER NOT NULL,        -- camera, plug, bulb, sensor, scale
    model            TEXT NOT NULL,
    token_hash       BLOB NOT NULL UNIQUE,    -- keyed hash of the device token
    claim_hash       BLOB UNIQUE,             -- keyed hash of the claim code; NULL once claimed
    claim_expires_at INTEGER,
    owner_id         BLOB REFERENCES users(id) ON DELETE SET NULL,
    generation       INTEGER NOT NULL,
    name_ct          BLOB,                    -- sealed under the owner's key
    network_ct       BLOB,                    -- sealed {ssid, subnet, local_ip}
    firmware_version TEXT,
    last_seen_at     INTEGER,
    desired_state    TEXT NOT NULL DEFAULT '{}',
    created_at       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX devices_owner ON devices(owner_id);

CREATE TABLE device_shares (
    id          BLOB PRIMARY KEY,
    device_id   BLOB NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    generation  INTEGER NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        INTEGER NOT NULL,             -- 2 controller, 3 viewer
    created_at  INTEGER NOT NULL,
    UNIQUE (device_id, user_id)
) WITHOUT ROWID;
CREATE INDEX device_shares_user ON device_shares(user_id);

CREATE TABLE relays (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,         -- keyed hash of the relay credential
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
