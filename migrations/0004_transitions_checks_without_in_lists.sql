-- mreg schema, version 4: the same `transitions` table, with its CHECK constraints on `kind`
-- and `branch` written as comparisons instead of IN lists.
--
-- SQLite codes `x IN (a, b, c)` over more than two constants as an ephemeral B-tree that every
-- execution of the statement builds, fills and probes (OpenEphemeral in EXPLAIN). Every change
-- of a branch inserts a transition, so two such trees were built per registration, promotion
-- and rollback: about a sixth of a registration's instructions (callgrind). `x = a OR x = b`
-- accepts exactly the same values and is coded as plain comparisons.
--
-- A CHECK constraint cannot be altered in place, so the table is rebuilt as
-- https://www.sqlite.org/lang_altertable.html#otheralter describes: new table, copy, drop,
-- rename, then its indexes and triggers again. No other table refers to `transitions`, and
-- DROP TABLE fires no triggers, so the append-only triggers do not stand in the way. The rows
-- are copied unchanged, ids included.

CREATE TABLE transitions_new (
    id           INTEGER PRIMARY KEY,
    model_id     INTEGER NOT NULL REFERENCES models(id),
    kind         TEXT NOT NULL
                 CHECK (kind = 'register' OR kind = 'promote' OR kind = 'rollback' OR kind = 'rollout_complete'
                        OR kind = 'force'),
    branch       TEXT NOT NULL CHECK (branch = 'develop' OR branch = 'release' OR branch = 'master'),
    from_version INTEGER CHECK (from_version IS NULL OR from_version > 0),
    to_version   INTEGER NOT NULL CHECK (to_version > 0),
    actor        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    at           INTEGER NOT NULL,
    gates        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(gates)),
    FOREIGN KEY (model_id, to_version) REFERENCES versions(model_id, version)
) STRICT;

INSERT INTO transitions_new (id, model_id, kind, branch, from_version, to_version, actor, reason, at, gates)
SELECT id, model_id, kind, branch, from_version, to_version, actor, reason, at, gates FROM transitions ORDER BY id;

DROP TABLE transitions;
ALTER TABLE transitions_new RENAME TO transitions;

-- As in 0001_initial.sql.
CREATE INDEX transitions_by_branch_time ON transitions(model_id, branch, at, id);
CREATE INDEX transitions_by_model ON transitions(model_id, id);
CREATE INDEX transitions_by_target ON transitions(model_id, branch, to_version, id);

CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
