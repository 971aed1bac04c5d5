-- mreg schema, version 10: rollouts that advance themselves (contract section 11,
-- docs/ROLLOUT.md). A step may hold (`steps` items may be {"percent": 5, "hold": 600}, the hold
-- in seconds); `auto` lets `mreg serve` advance the rollout once the current step's hold, counted
-- from `step_started_at`, has passed and every guard holds.

ALTER TABLE rollouts ADD COLUMN auto INTEGER NOT NULL DEFAULT 0 CHECK (auto IN (0, 1));
-- When the current step began: the rollout's start, its last advance, or its last resume.
ALTER TABLE rollouts ADD COLUMN step_started_at INTEGER NOT NULL DEFAULT 0;

-- Existing rollouts: the step began at the log's last start, advance or resume of the rollout.
UPDATE rollouts SET step_started_at = coalesce(
    (SELECT max(a.at) FROM audit_log a
     WHERE a.action IN ('rollout.start', 'rollout.advance', 'rollout.resume')
       AND json_extract(a.details, '$.rollout_id') = rollouts.id),
    started_at);

-- The controller's question each round: which automatic rollouts are active.
CREATE INDEX rollouts_automatic ON rollouts(id) WHERE auto = 1 AND state = 'progressing';
