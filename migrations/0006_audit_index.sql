-- mreg schema, version 6: the audit log's lookups by model, actor and action move into one
-- table that is filled in batches. The four indexes of version 1 made every change write four
-- more B-tree pages to the WAL (BENCHMARKS.md, "#18"); now a change writes its entry alone, and
-- every `AuditIndex.batch` entries one change adds the batch to `audit_index`. Entries past
-- `indexed_through` are found by reading them (docs/AUDIT.md, "Finding entries"). The index by
-- time goes without a successor: listing entries newest first, SQLite never chose it over
-- reading the log backwards.

DROP INDEX audit_by_model;
DROP INDEX audit_by_actor;
DROP INDEX audit_by_action;
DROP INDEX audit_by_time;

-- facet: 1 model, 2 actor, 3 action (`AuditIndex.Facet`). An entry without a model has no model
-- row.
CREATE TABLE audit_index (
    facet INTEGER NOT NULL CHECK (facet BETWEEN 1 AND 3),
    value ANY NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (facet, value, seq)
) STRICT, WITHOUT ROWID;

-- The last entry in `audit_index` (every entry up to it is there).
CREATE TABLE audit_index_state (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_through INTEGER NOT NULL CHECK (indexed_through >= 0)
) STRICT;

-- Sorted as the table's key, so each facet is written in order.
INSERT INTO audit_index (facet, value, seq) SELECT 1, model, seq FROM audit_log WHERE model IS NOT NULL ORDER BY model, seq;
INSERT INTO audit_index (facet, value, seq) SELECT 2, actor, seq FROM audit_log ORDER BY actor, seq;
INSERT INTO audit_index (facet, value, seq) SELECT 3, action, seq FROM audit_log ORDER BY action, seq;
INSERT INTO audit_index_state (id, indexed_through) SELECT 1, coalesce(max(seq), 0) FROM audit_log;
