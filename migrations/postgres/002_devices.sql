-- safehouse schema v2 (PostgreSQL): devices, shares, relays.
-- A device's `generation` moves on at every release and reset; every share
-- and every stream ticket names the generation it was made for and dies
-- with it (promise P5). Names and network details are sealed under the
-- owner's data key, with the generation in the additional data.
-- Ids, hashes and sealed values are bytea; times are bigint microseconds.

CREATE TABLE devices (
    id               bytea PRIMARY KEY,
    type             integer NOT NULL,        -- camera, plug, bulb, sensor, scale
    model            text NOT NULL,
    token_hash       bytea NOT NULL UNIQUE,   -- keyed hash of the device token
    claim_hash       bytea UNIQUE,            -- keyed hash of the claim code; NULL once claimed
    claim_expires_at bigint,
    owner_id         bytea REFERENCES users(id) ON DELETE SET NULL,
    generation       bigint NOT NULL,
    name_ct          bytea,                   -- sealed under the owner's key
    network_ct       bytea,                   -- sealed {ssid, subnet, local_ip}
    firmware_version text,
    last_seen_at     bigint,
    desired_state    text NOT NULL DEFAULT '{}',
    created_at       bigint NOT NULL
);
CREATE INDEX devices_owner ON devices(owner_id);

CREATE TABLE device_shares (
    id          bytea PRIMARY KEY,
    device_id   bytea NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    generation  bigint NOT NULL,
    user_id     bytea NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role        integer NOT NULL,             -- 2 controller, 3 viewer
    created_at  bigint NOT NULL,
    UNIQUE (device_id, user_id)
);
CREATE INDEX device_shares_user ON device_shares(user_id);

CREATE TABLE relays (
    id          bytea PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,        -- keyed hash of the relay credential
    created_at  bigint NOT NULL
);
