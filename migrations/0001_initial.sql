-- mreg schema, version 1: models, versions, branches, transitions, test reports, policies and
-- the hash-chained audit log. Times are INTEGER milliseconds since the Unix epoch (UTC).
-- STRICT tables: https://www.sqlite.org/stricttables.html

CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE
                CHECK (length(name) BETWEEN 1 AND 128 AND name NOT GLOB '*[^a-z0-9._-]*'
                       AND substr(name, 1, 1) GLOB '[a-z0-9]'),
    description TEXT NOT NULL DEFAULT '',
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE versions (
    id           INTEGER PRIMARY KEY,
    model_id     INTEGER NOT NULL REFERENCES models(id),
    version      INTEGER NOT NULL CHECK (version > 0),
    artifact_uri TEXT NOT NULL CHECK (artifact_uri <> ''),
    digest       TEXT CHECK (digest IS NULL OR (length(digest) = 71 AND substr(digest, 1, 7) = 'sha256:'
                                                AND substr(digest, 8) NOT GLOB '*[^0-9a-f]*')),
    params       TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
    metrics      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
    tags         TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(tags)),
    parent       INTEGER CHECK (parent IS NULL OR (parent > 0 AND parent < version)),
    description  TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    UNIQUE (model_id, version)
) STRICT;

-- A digest is unique per model when given.
CREATE UNIQUE INDEX versions_by_digest ON versions(model_id, digest) WHERE digest IS NOT NULL;

CREATE TABLE branches (
    model_id   INTEGER NOT NULL REFERENCES models(id),
    name       TEXT NOT NULL CHECK (name IN ('develop', 'release', 'master')),
    version    INTEGER,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (model_id, name),
    FOREIGN KEY (model_id, version) REFERENCES versions(model_id, version)
) STRICT, WITHOUT ROWID;

-- Every move of a branch pointer. Never edited or deleted.
CREATE TABLE transitions (
    id           INTEGER PRIMARY KEY,
    model_id     INTEGER NOT NULL REFERENCES models(id),
    kind         TEXT NOT NULL CHECK (kind IN ('register', 'promote', 'rollback', 'rollout_complete', 'force')),
    branch       TEXT NOT NULL CHECK (branch IN ('develop', 'release', 'master')),
    from_version INTEGER CHECK (from_version IS NULL OR from_version > 0),
    to_version   INTEGER NOT NULL CHECK (to_version > 0),
    actor        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    at           INTEGER NOT NULL,
    gates        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(gates)),
    FOREIGN KEY (model_id, to_version) REFERENCES versions(model_id, version)
) STRICT;

-- History of a branch by time ("what was on master at T?"), and of a model newest first.
CREATE INDEX transitions_by_branch_time ON transitions(model_id, branch, at, id);
CREATE INDEX transitions_by_model ON transitions(model_id, id);
-- Rollback looks up how a version arrived on a branch.
CREATE INDEX transitions_by_target ON transitions(model_id, branch, to_version, id);

CREATE TRIGGER transitions_no_update BEFORE UPDATE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;
CREATE TRIGGER transitions_no_delete BEFORE DELETE ON transitions
BEGIN SELECT RAISE(ABORT, 'transitions are append-only'); END;

CREATE TABLE test_reports (
    id          INTEGER PRIMARY KEY,
    version_id  INTEGER NOT NULL REFERENCES versions(id),
    suite       TEXT NOT NULL CHECK (length(suite) BETWEEN 1 AND 128),
    status      TEXT NOT NULL CHECK (status IN ('passed', 'failed')),
    tests       INTEGER NOT NULL CHECK (tests >= 0),
    failures    INTEGER NOT NULL CHECK (failures >= 0),
    errors      INTEGER NOT NULL CHECK (errors >= 0),
    skipped     INTEGER NOT NULL CHECK (skipped >= 0),
    metrics     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
    duration_s  REAL CHECK (duration_s IS NULL OR duration_s >= 0),
    sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

-- The newest report per (version, suite) is the one that counts.
CREATE INDEX test_reports_by_suite ON test_reports(version_id, suite, id);

-- Promotion policies, versioned per model; filled by `policy set`.
CREATE TABLE policies (
    id         INTEGER PRIMARY KEY,
    model_id   INTEGER NOT NULL REFERENCES models(id),
    revision   INTEGER NOT NULL CHECK (revision > 0),
    document   TEXT NOT NULL CHECK (json_valid(document)),
    sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (model_id, revision)
) STRICT;

-- Approvals of a version for a target branch; one per actor.
CREATE TABLE approvals (
    id         INTEGER PRIMARY KEY,
    version_id INTEGER NOT NULL REFERENCES versions(id),
    branch     TEXT NOT NULL CHECK (branch IN ('release', 'master')),
    actor      TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (version_id, branch, actor)
) STRICT;

-- The audit log: one entry per change, hash-chained (docs/AUDIT.md).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    at        INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    model     TEXT,
    version   INTEGER,
    branch    TEXT,
    details   TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details)),
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;

CREATE INDEX audit_by_model ON audit_log(model, seq);
CREATE INDEX audit_by_actor ON audit_log(actor, seq);
CREATE INDEX audit_by_action ON audit_log(action, seq);
CREATE INDEX audit_by_time ON audit_log(at, seq);

-- seq has no gaps: each entry is the one after the last.
CREATE TRIGGER audit_log_gap_free BEFORE INSERT ON audit_log
WHEN NEW.seq <> coalesce((SELECT max(seq) FROM audit_log), 0) + 1
BEGIN SELECT RAISE(ABORT, 'audit_log seq must follow the last entry without a gap'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
