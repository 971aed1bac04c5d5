-- mreg schema, version 3: gray releases (rollouts) onto master and their observations.

CREATE TABLE rollouts (
    id            INTEGER PRIMARY KEY,
    model_id      INTEGER NOT NULL REFERENCES models(id),
    candidate     INTEGER NOT NULL CHECK (candidate > 0),
    baseline      INTEGER CHECK (baseline IS NULL OR baseline > 0),
    steps         TEXT NOT NULL CHECK (json_valid(steps)),
    -- 1-based number of the current step; `percent` is steps[step - 1] while active, 0 once
    -- aborted, 100 once completed. Kept as a column so resolving a key reads no JSON.
    step          INTEGER NOT NULL CHECK (step >= 1),
    percent       INTEGER NOT NULL CHECK (percent BETWEEN 0 AND 100),
    state         TEXT NOT NULL CHECK (state IN ('progressing', 'paused', 'aborted', 'completed')),
    guards        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(guards)),
    failure_limit INTEGER NOT NULL CHECK (failure_limit >= 0),
    failures      INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    reason        TEXT NOT NULL DEFAULT '',
    started_by    TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    FOREIGN KEY (model_id, candidate) REFERENCES versions(model_id, version)
) STRICT;

-- One active rollout per model.
CREATE UNIQUE INDEX rollouts_one_active ON rollouts(model_id) WHERE state IN ('progressing', 'paused');
CREATE INDEX rollouts_by_model ON rollouts(model_id, id);

CREATE TABLE rollout_observations (
    id         INTEGER PRIMARY KEY,
    rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
    target     TEXT NOT NULL CHECK (target IN ('candidate', 'baseline')),
    metrics    TEXT NOT NULL CHECK (json_valid(metrics)),
    passed     INTEGER NOT NULL CHECK (passed IN (0, 1)),
    -- The guard checks of this observation: [{name, passed, observed, required, message}].
    checks     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(checks)),
    actor      TEXT NOT NULL,
    at         INTEGER NOT NULL
) STRICT;

CREATE INDEX rollout_observations_by_rollout ON rollout_observations(rollout_id, id);
