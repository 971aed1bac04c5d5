-- mreg schema, version 12: guards that read Prometheus (contract section 11, docs/ROLLOUT.md).
-- A guard in `rollouts.guards` is a comparison judged on pushed values ("<= 0.02") or a query
-- the server runs ({"query": "...", "max": 0.02}); nothing here changes for the first kind.

-- How often `mreg serve` evaluates the rollout's query guards (the policy's `interval`).
ALTER TABLE rollouts ADD COLUMN interval_ms INTEGER NOT NULL DEFAULT 30000 CHECK (interval_ms >= 1000);

-- An observation is pushed (`rollout observe`) or is the server's evaluation of the query
-- guards; an evaluation lists the guards it could not judge, and why.
ALTER TABLE rollout_observations ADD COLUMN source TEXT NOT NULL DEFAULT 'observe' CHECK (source IN ('observe', 'prometheus'));
ALTER TABLE rollout_observations ADD COLUMN inconclusive TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(inconclusive));
