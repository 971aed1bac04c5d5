-- mreg schema, version 5: an idempotent request's stored answer is one opaque value.
--
-- The registry stored the HTTP status, content type and headers of the first answer to a
-- request with an Idempotency-Key, in columns of their own: the core knew HTTP. Now the server
-- writes the answer as one value (RegistryServer's `StoredAnswer`: a JSON line with status,
-- content type and headers, a newline, then the body) and the registry keeps it as it is.
-- `answer` is NULL while the first request is still running, as `status` was.
--
-- Answers already stored are rewritten in that form, so a retry across the upgrade still gets
-- its first answer. Every stored body is the UTF-8 JSON of an answer, so it passes through
-- text unchanged.

ALTER TABLE idempotency_keys ADD COLUMN answer BLOB;

UPDATE idempotency_keys
SET answer = CAST(
        json_object('content_type', content_type, 'headers', json(coalesce(headers, '{}')), 'status', status)
        || char(10) || CAST(coalesce(body, x'') AS TEXT) AS BLOB)
WHERE status IS NOT NULL;

ALTER TABLE idempotency_keys DROP COLUMN status;
ALTER TABLE idempotency_keys DROP COLUMN content_type;
ALTER TABLE idempotency_keys DROP COLUMN headers;
ALTER TABLE idempotency_keys DROP COLUMN body;
