-- mreg schema, version 7: idempotency keys in the order they arrive. The table was WITHOUT ROWID,
-- clustered on (actor, key), so every request with a key wrote its row, stored answer included,
-- into the middle of the table, splitting pages: 3 WAL frames a request, and a fourth for the
-- index by age (BENCHMARKS.md, "#18"). Rows now go at the end of a rowid table and are found
-- through a unique index on (actor, key). The rowid keeps their order of arrival, which is all
-- an expiry would need, so the index by age, which nothing read, goes with the old table.

CREATE TABLE idempotency_keys_new (
    id           INTEGER PRIMARY KEY,
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL CHECK (length(request_hash) = 64),
    answer       BLOB,
    created_at   INTEGER NOT NULL,
    UNIQUE (actor, key)
) STRICT;

INSERT INTO idempotency_keys_new (actor, key, method, path, request_hash, answer, created_at)
SELECT actor, key, method, path, request_hash, answer, created_at FROM idempotency_keys ORDER BY created_at, actor, key;

DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_new RENAME TO idempotency_keys;
