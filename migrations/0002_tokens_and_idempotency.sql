-- mreg schema, version 2: API tokens and idempotency keys for the REST API.

-- Bearer tokens. Only the SHA-256 of a token is stored; the token is shown once at creation.
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    role       TEXT NOT NULL CHECK (role IN ('reader', 'auditor', 'engineer', 'release-manager', 'admin')),
    hash       BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;

-- Responses of creating POSTs, kept so a replay with the same Idempotency-Key returns the first
-- response and writes nothing. `status` is NULL while the first request is still running.
CREATE TABLE idempotency_keys (
    actor        TEXT NOT NULL,
    key          TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    request_hash TEXT NOT NULL CHECK (length(request_hash) = 64),
    status       INTEGER,
    content_type TEXT,
    -- Response headers worth replaying (e.g. Location), as a JSON object.
    headers      TEXT CHECK (headers IS NULL OR json_valid(headers)),
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (actor, key)
) STRICT, WITHOUT ROWID;

CREATE INDEX idempotency_keys_by_age ON idempotency_keys(created_at);
