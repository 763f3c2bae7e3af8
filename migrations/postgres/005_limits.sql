-- safehouse schema v5 (PostgreSQL): the per-account abuse-limit buckets,
-- kept in the store so that every node charges and checks the same bucket
-- (see src/auth/limits.c and docs/internals/limits.md). The key is a hash
-- of (policy name, caller key), the caller key a keyed blind index or a
-- user id: no personal value. Tokens in millionths, times in us: integers
-- only. Same table and meaning as migrations/sqlite/005_limits.sql.

CREATE TABLE limit_buckets (
    key           bytea PRIMARY KEY,  -- 32-byte hash of (policy, caller key)
    strikes       bigint NOT NULL,      -- blocks since the last quiet period
    tokens        bigint NOT NULL,      -- millionths of a token at last_us
    last_us       bigint NOT NULL,
    blocked_until bigint NOT NULL,      -- end of the last block, 0 if none
    idle_at       bigint NOT NULL       -- from then on the same as no row
);
CREATE INDEX limit_buckets_idle ON limit_buckets(idle_at);
