-- mreg schema, version 9: webhook subscriptions and their delivery log (contract section 10,
-- docs/EVENTS.md). The audit log is the outbox: a subscription keeps the seq it has delivered
-- up to, and the server sends it the entries after that, in order. There is no queue that could
-- disagree with the log.

CREATE TABLE webhooks (
    id              TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    url             TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- Event type patterns separated by commas (`branch.*,rollout.abort`); '' for every type.
    events          TEXT NOT NULL,
    model           TEXT CHECK (model IS NULL OR length(model) >= 1),
    description     TEXT NOT NULL DEFAULT '',
    -- The signing secret, sealed with AES-GCM under the server's secrets key (nonce, ciphertext
    -- and tag), and the id of that key. A copy of the database alone does not reveal it.
    secret_sealed   BLOB NOT NULL,
    secret_key_id   TEXT NOT NULL,
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    -- Why the subscription was disabled, when it was (by an admin, or after failing too long).
    disabled_reason TEXT,
    -- Every event up to this seq has been delivered (or did not match the filters).
    delivered_seq   INTEGER NOT NULL CHECK (delivered_seq >= 0),
    -- When the current run of failed attempts began; NULL while deliveries succeed.
    failing_since   INTEGER,
    created_by      TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Every attempt to deliver an event (and every test send), newest last.
CREATE TABLE webhook_deliveries (
    id         INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    -- The event (an audit seq); NULL for a test send.
    seq        INTEGER CHECK (seq IS NULL OR seq >= 1),
    type       TEXT NOT NULL,
    -- The `webhook-id` header: the same for every attempt at one event.
    message_id TEXT NOT NULL,
    attempt    INTEGER NOT NULL CHECK (attempt >= 1),
    at         INTEGER NOT NULL,
    -- The receiver's HTTP status; NULL when no answer came (refused, timed out, …).
    status     INTEGER,
    latency_ms REAL NOT NULL CHECK (latency_ms >= 0),
    outcome    TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    error      TEXT,
    -- 'delivery' in order from the log, 'redelivery' asked for by an admin, 'test'.
    kind       TEXT NOT NULL CHECK (kind IN ('delivery', 'redelivery', 'test'))
) STRICT;

CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, id);
