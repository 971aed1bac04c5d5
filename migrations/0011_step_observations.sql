-- mreg schema, version 11: which observations belong to a rollout's current step, by their
-- order rather than their time (docs/ROLLOUT.md). A write reads the clock before it waits for
-- its turn to commit, so an observation that committed just before a step began could carry the
-- step's own millisecond and be taken for one of the step's; the order of commits is exact.

-- How many of the rollout's observations (in id order) came before the current step began
-- (started, advanced to, or resumed): its guards are judged on the ones after.
ALTER TABLE rollouts ADD COLUMN observations_before_step INTEGER NOT NULL DEFAULT 0
    CHECK (observations_before_step >= 0);

-- Existing rollouts, from the log, which has one rollout.observe entry per observation: the
-- current step began with the rollout's last start, advance or resume entry by seq. The same
-- entry gives step_started_at again: version 10 took the largest `at` of those entries, which
-- is the last one only while the clock never went back; the log's order is what
-- `audit verify --state` replays.
UPDATE rollouts SET
    step_started_at = coalesce(
        (SELECT a.at FROM audit_log a
         WHERE a.action IN ('rollout.start', 'rollout.advance', 'rollout.resume')
           AND json_extract(a.details, '$.rollout_id') = rollouts.id
         ORDER BY a.seq DESC LIMIT 1),
        step_started_at),
    observations_before_step = (
        SELECT count(*) FROM audit_log o
        WHERE o.action = 'rollout.observe'
          AND json_extract(o.details, '$.rollout_id') = rollouts.id
          AND o.seq < coalesce(
              (SELECT max(a.seq) FROM audit_log a
               WHERE a.action IN ('rollout.start', 'rollout.advance', 'rollout.resume')
                 AND json_extract(a.details, '$.rollout_id') = rollouts.id),
              0));
