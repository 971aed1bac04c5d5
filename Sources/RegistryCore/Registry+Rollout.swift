import SQLite

extension Registry {
    /// The steps used when neither the request nor the policy names any.
    public static let defaultRolloutSteps = [5, 25, 50, 100].map { RolloutStep(percent: $0) }

    /// Starts a gray release of `version` onto master at the first step's percentage, after the
    /// master gates (approvals included) pass. `master` keeps its version until completion.
    /// - Throws: `PERMISSION_DENIED` below release-manager, `CONFLICT` (a rollout is active, the
    ///   version is deprecated, already on master, never on release, or master is empty),
    ///   `GATE_FAILED` with the gate report, `INVALID_ARGUMENT` for bad steps.
    public func startRollout(model name: String, _ request: RolloutStartRequest, by caller: Caller) async throws(RegistryError) -> Rollout {
        try await apply(startingRollout(model: name, request, by: caller))
    }

    /// The change ``startRollout(model:_:by:)`` makes.
    public func startingRollout(model name: String, _ request: RolloutStartRequest, by caller: Caller) throws(RegistryError) -> Change<Rollout> {
        try caller.require(.releaseManager, to: "start rollouts")
        if let steps = request.steps { try RolloutRule.validate(steps: steps) }
        let now = clock()
        return Change { connection in
            let model = try connection.modelRow(named: name)
            if let active = try connection.activeRolloutID(model) {
                throw RegistryError(.conflict, "model \"\(name)\" already has an active rollout (#\(active)); finish or abort it first")
            }
            let version = try connection.version(model, request.version)
            let baseline = try connection.branchHeads(model).master
            guard version.status == .active else {
                throw RegistryError(.conflict, "version \(request.version) of model \"\(name)\" is deprecated and cannot be rolled out")
            }
            guard let baseline else {
                throw RegistryError(.conflict, "master of model \"\(name)\" holds no version yet; promote the first version to master directly")
            }
            guard baseline != request.version else {
                throw RegistryError(.conflict, "master of model \"\(name)\" already holds version \(request.version)")
            }
            guard try connection.hasBeenOn(model, .release, version: request.version) else {
                throw RegistryError(.conflict, "version \(request.version) of model \"\(name)\" has never been on release; promote it there first")
            }
            let gates = try PromotionGates.evaluate(connection, model: model, version: version, target: .master, currentTarget: baseline)
            guard gates.allSatisfy(\.passed) else {
                let failing = gates.filter { !$0.passed }.map(\.name).joined(separator: ", ")
                throw RegistryError(
                    .gateFailed, "version \(request.version) of model \"\(name)\" did not pass the master gates: \(failing)", gates: gates)
            }
            let rule = try connection.currentPolicy(model)?.master?.rollout
            let steps = request.steps ?? rule?.steps ?? Self.defaultRolloutSteps
            let auto = request.auto ?? rule?.auto ?? false
            let guards = rule?.guards ?? [:]
            let interval = rule?.intervalMilliseconds ?? RolloutRule.defaultIntervalMilliseconds
            let failureLimit = rule?.failureLimit ?? 0
            try connection.execute(
                """
                INSERT INTO rollouts (model_id, candidate, baseline, steps, step, percent, state, guards, failure_limit,
                                      started_by, started_at, updated_at, auto, step_started_at, interval_ms)
                VALUES (?, ?, ?, ?, 1, ?, 'progressing', ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    model.id, request.version, baseline, JSONCoding.text(steps),
                    steps[0].percent, JSONCoding.text(guards), failureLimit, caller.name,
                    now.millisecondsSinceEpoch, now.millisecondsSinceEpoch, auto ? 1 : 0, now.millisecondsSinceEpoch, interval,
                ])
            let id = Int(connection.lastInsertRowID)
            try connection.appendAudit(
                at: now, actor: caller.name, action: "rollout.start", model: name, version: request.version, branch: Branch.master.rawValue,
                details: [
                    "rollout_id": JSONValue(id), "baseline": JSONValue(baseline), "steps": .array(steps.map(\.jsonValue)),
                    "percent": JSONValue(steps[0].percent), "auto": .bool(auto), "gates": .array(gates.map(\.jsonValue)),
                    "guards": .object(guards.mapValues(\.jsonValue)),
                    "interval": .number(Double(interval) / 1000),
                ])
            return try connection.rollout(model, id: id, now: now)
        }
    }

    /// The active rollout of a model, or its most recent one.
    /// - Throws: `NOT_FOUND` when the model never had a rollout.
    public func rollout(model name: String) throws(RegistryError) -> Rollout {
        let now = clock()
        return try read { connection in
            let model = try connection.modelRow(named: name)
            guard let row = try connection.queryFirst("SELECT max(id) FROM rollouts WHERE model_id = ?", [model.id]),
                let id = try row.optionalInt(0)
            else { throw RegistryError(.notFound, "model \"\(name)\" has no rollout") }
            return try connection.rollout(model, id: id, now: now)
        }
    }

    /// Everything that happened to a rollout, oldest first: its audit entries (start,
    /// observations, every step by hand or by the server, pause, resume, abort, completion and
    /// the move of `master`), each with what was evaluated in its details.
    /// - Parameter id: the rollout; nil for the model's latest.
    /// - Throws: `NOT_FOUND` for an unknown model, a model without rollouts, or a rollout of
    ///   another model.
    public func rolloutHistory(model name: String, rollout id: Int? = nil) throws(RegistryError) -> [AuditEntry] {
        try read { connection in
            let model = try connection.modelRow(named: name)
            let rollout: Int
            if let id {
                guard try connection.queryFirst("SELECT 1 FROM rollouts WHERE id = ? AND model_id = ?", [id, model.id]) != nil else {
                    throw RegistryError(.notFound, "model \"\(name)\" has no rollout #\(id)")
                }
                rollout = id
            } else {
                guard let latest = try connection.queryFirst("SELECT max(id) FROM rollouts WHERE model_id = ?", [model.id])?.optionalInt(0) else {
                    throw RegistryError(.notFound, "model \"\(name)\" has no rollout")
                }
                rollout = latest
            }
            var entries: [AuditEntry] = []
            try connection.forEachRow(
                """
                SELECT \(AuditEntry.columns) FROM audit_log
                WHERE model = ? AND json_extract(details, '$.rollout_id') = ? ORDER BY seq
                """, [name, rollout]
            ) { entries.append(try AuditEntry(row: $0)) }
            return entries
        }
    }

    /// Moves an active rollout to its next step; past the last step it completes and moves
    /// `master` to the candidate (transition kind `rollout_complete`) in the same transaction.
    /// - Throws: `NOT_FOUND` without an active rollout, `CONFLICT` when paused.
    public func advanceRollout(model name: String, by caller: Caller) async throws(RegistryError) -> Rollout {
        try caller.require(.releaseManager, to: "advance rollouts")
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let rollout = try connection.activeRollout(model, now: now)
            guard rollout.state == .progressing else {
                throw RegistryError(.conflict, "the rollout of model \"\(name)\" is paused; resume it before advancing")
            }
            try connection.advance(rollout, model: model, actor: caller.name, at: now, details: [:])
            return try connection.rollout(model, id: rollout.id, now: now)
        }
    }

    /// The rollouts the server's controller looks after, each with its plan as of now: the
    /// progressing ones it advances (`auto`) or whose query guards it reads.
    public func rolloutsToWatch() throws(RegistryError) -> [Rollout] {
        let now = clock()
        return try read { connection in
            try connection.query(
                """
                SELECT r.id, m.id, m.name FROM rollouts r JOIN models m ON m.id = r.model_id
                WHERE r.state = 'progressing' AND (r.auto = 1 OR r.guards LIKE '%"query"%') ORDER BY r.id
                """
            ).map { row in
                try connection.rollout(ModelRow(id: try row.int64(1), name: try row.string(2)), id: try row.int(0), now: now, observations: .currentStep)
            }.filter { $0.auto || $0.nextEvaluationAt != nil }
        }
    }

    /// Records the server's evaluation of rollout `id`'s query guards (contract section 11), as
    /// an observation of source `prometheus` with its audit entry (actor `system`), judged as a
    /// pushed one is: a breach counts as a failure, and more than `failure_limit` abort the
    /// rollout in the same transaction. A guard read as inconclusive neither passes nor fails.
    /// - Parameters:
    ///   - readings: per query guard, the answers to its `queries` in order, or why there are none.
    ///   - read: the rollout as read before the queries: the reading belongs to its step and
    ///     follows its `lastEvaluationID`. When the step has changed since (advanced, or paused
    ///     and resumed) or another server has recorded a reading of it, nothing is recorded: a
    ///     reading taken in one step must not judge the next.
    /// - Returns: the rollout after it, or nil when the rollout is no longer progressing, its
    ///   step changed, or another server recorded first.
    public func recordEvaluation(
        of read: Rollout, readings: [String: Result<[Double], GuardInconclusive>]
    ) async throws(RegistryError) -> Rollout? {
        let now = clock()
        let id = read.id
        return try await write { connection in
            let model = try connection.modelRow(named: read.model)
            let rollout = try connection.rollout(model, id: id, now: now, observations: .currentStep)
            guard rollout.state == .progressing, rollout.step == read.step, rollout.stepStartedAt == read.stepStartedAt,
                rollout.lastEvaluationID == read.lastEvaluationID
            else { return nil }
            var metrics: [String: Double] = [:], checks: [GateResult] = [], inconclusive: [String: String] = [:]
            for (metric, rule) in rollout.guards.sorted(by: { $0.key < $1.key }) {
                guard let query = rule.prometheus else { continue }
                switch readings[metric] ?? .failure(GuardInconclusive("not read")) {
                case .failure(let why): inconclusive[metric] = why.reason
                case .success(let answers):
                    let judged = query.judge(name: metric, answers: answers)
                    metrics[metric] = judged.value
                    checks.append(judged.check)
                }
            }
            try connection.recordObservation(
                of: rollout, model: model, target: .candidate, source: .prometheus, metrics: metrics, checks: checks,
                inconclusive: inconclusive, actor: "system", at: now)
            return try connection.rollout(model, id: id, now: now, observations: .currentStep)
        }
    }

    /// Takes the step the plan of rollout `id` says is due now, as `system`: what the server's
    /// controller does (contract section 11). The plan is decided again inside the transaction,
    /// so a rollout another process advanced meanwhile (a second server on the same file) is
    /// not advanced twice: its new step's hold starts now, or it has ended.
    /// - Returns: the rollout after the step, or nil when nothing was due.
    public func advanceAutomatically(model name: String, rollout id: Int) async throws(RegistryError) -> Rollout? {
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let rollout = try connection.rollout(model, id: id, now: now, observations: .currentStep)
            guard rollout.next.isDue(at: now) else { return nil }
            var details: [String: JSONValue] = ["automatic": .bool(true), "why": .string(rollout.next.reason)]
            let values = rollout.guardStatus.compactMap { check in check.value.map { (check.metric, JSONValue.number($0)) } }
            if !values.isEmpty { details["guards"] = .object(Dictionary(uniqueKeysWithValues: values)) }
            try connection.advance(rollout, model: model, actor: "system", at: now, details: details)
            return try connection.rollout(model, id: id, now: now, observations: .currentStep)
        }
    }

    /// Stops advancing (traffic stays at the current percentage).
    public func pauseRollout(model name: String, by caller: Caller) async throws(RegistryError) -> Rollout {
        try await changeRolloutState(model: name, from: .progressing, to: .paused, action: "rollout.pause", by: caller)
    }

    /// Lets a paused rollout advance again.
    public func resumeRollout(model name: String, by caller: Caller) async throws(RegistryError) -> Rollout {
        try await changeRolloutState(model: name, from: .paused, to: .progressing, action: "rollout.resume", by: caller)
    }

    /// Sends all traffic back to the baseline; `master` is unchanged.
    /// - Throws: `INVALID_ARGUMENT` without a reason, `NOT_FOUND` without an active rollout.
    public func abortRollout(model name: String, reason: String, by caller: Caller) async throws(RegistryError) -> Rollout {
        try caller.require(.releaseManager, to: "abort rollouts")
        guard !reason.isBlank else { throw RegistryError(.invalidArgument, "aborting a rollout needs a reason") }
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let rollout = try connection.activeRollout(model, now: now)
            try connection.abort(rollout, model: model, reason: reason, actor: caller.name, at: now)
            return try connection.rollout(model, id: rollout.id, now: now)
        }
    }

    /// Records production metrics for the candidate (or the baseline) and checks the candidate's
    /// against the guards; after more than `failure_limit` failing observations the rollout
    /// aborts itself in the same transaction (actor `system`).
    public func observeRollout(
        model name: String, metrics: [String: Double], target: Rollout.Target = .candidate, by caller: Caller
    ) async throws(RegistryError) -> Rollout {
        try caller.require(.releaseManager, to: "record rollout observations")
        guard !metrics.isEmpty else { throw RegistryError(.invalidArgument, "an observation needs at least one metric, e.g. error_rate=0.01") }
        for (metric, value) in metrics where !value.isFinite {
            throw RegistryError(.invalidArgument, "metric \"\(metric)\" is \(value); metrics must be finite numbers")
        }
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let rollout = try connection.activeRollout(model, now: now)
            // Pushed values judge the pushed guards; the query guards are the server's to read.
            let checks: [GateResult] = target == .baseline ? [] : rollout.guards.sorted { $0.key < $1.key }.compactMap { metric, rule in
                guard case .pushed(let threshold) = rule, let value = metrics[metric] else { return nil }
                let passed = threshold.holds(for: value)
                return GateResult(
                    name: "guards.\(metric)", passed: passed, observed: .number(value), required: .string(threshold.description),
                    message: "\(metric) is \(formatNumber(value)), required \(threshold)")
            }
            try connection.recordObservation(
                of: rollout, model: model, target: target, source: .observe, metrics: metrics, checks: checks, inconclusive: [:],
                actor: caller.name, at: now)
            return try connection.rollout(model, id: rollout.id, now: now)
        }
    }

    /// Which version serves `key` now: the candidate for keys in the rollout's share, otherwise
    /// what `master` holds. Reads only (never takes the write lock).
    /// - Throws: `NOT_FOUND` for an unknown model or an empty `master`.
    public func resolve(model name: String, key: String) throws(RegistryError) -> Resolution {
        try readSingleStatement { connection in
            var answer: Resolution?
            var known = false
            try connection.forEachRow(
                """
                SELECT b.version, r.id, r.candidate, r.percent FROM models m
                JOIN branches b ON b.model_id = m.id AND b.name = 'master'
                LEFT JOIN rollouts r ON r.model_id = m.id AND r.state IN ('progressing', 'paused')
                WHERE m.name = ?
                """, [name]
            ) { row in
                known = true
                let master: Int? = try row.optionalInt(0)
                if !row.isNull(1) {
                    let id = try row.int(1)
                    let bucket = RolloutBucket.bucket(model: name, rolloutID: id, key: key)
                    let candidate = RolloutBucket.servesCandidate(bucket: bucket, percent: try row.int(3))
                    if let version = candidate ? try row.int(2) : master {
                        answer = Resolution(model: name, version: version, bucket: bucket, rolloutID: id)
                    }
                } else if let master {
                    answer = Resolution(model: name, version: master, bucket: nil, rolloutID: nil)
                }
            }
            guard known else { throw RegistryError(.notFound, "model \"\(name)\" does not exist") }
            guard let answer else { throw RegistryError(.notFound, "master of model \"\(name)\" holds no version, so no version serves requests") }
            return answer
        }
    }

    private func changeRolloutState(
        model name: String, from: Rollout.State, to: Rollout.State, action: String, by caller: Caller
    ) async throws(RegistryError) -> Rollout {
        try caller.require(.releaseManager, to: "pause or resume rollouts")
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let rollout = try connection.activeRollout(model, now: now)
            guard rollout.state == from else {
                throw RegistryError(.conflict, "the rollout of model \"\(name)\" is \(rollout.state.rawValue), not \(from.rawValue)")
            }
            try connection.execute(
                "UPDATE rollouts SET state = ?, updated_at = ? WHERE id = ?", [to.rawValue, now.millisecondsSinceEpoch, rollout.id])
            // Resuming starts the step again: a hold is time spent progressing at the step, and
            // the guards are judged on what is observed from now on.
            if to == .progressing { try connection.beginStep(of: rollout.id, at: now) }
            try connection.appendAudit(
                at: now, actor: caller.name, action: action, model: name, version: rollout.candidate, branch: Branch.master.rawValue,
                details: ["rollout_id": JSONValue(rollout.id), "percent": JSONValue(rollout.percent)])
            return try connection.rollout(model, id: rollout.id, now: now)
        }
    }
}

extension Connection {
    func activeRolloutID(_ model: ModelRow) throws -> Int? {
        try queryFirst(
            "SELECT id FROM rollouts WHERE model_id = ? AND state IN ('progressing', 'paused')", [model.id]
        )?.optionalInt(0)
    }

    func activeRollout(_ model: ModelRow, now: Timestamp) throws -> Rollout {
        guard let id = try activeRolloutID(model) else {
            // The model exists; it is the state that does not allow the action.
            throw RegistryError(.conflict, "model \"\(model.name)\" has no active rollout")
        }
        return try rollout(model, id: id, now: now, observations: .currentStep)
    }

    /// Moves an active rollout to its next step; past the last step it completes and moves
    /// `master` to the candidate (transition kind `rollout_complete`). `details` go into the
    /// audit entry besides the rollout's id, step and percent.
    func advance(_ rollout: Rollout, model: ModelRow, actor: String, at now: Timestamp, details: [String: JSONValue]) throws {
        if rollout.step < rollout.steps.count {
            let percent = rollout.steps[rollout.step].percent
            try execute(
                "UPDATE rollouts SET step = step + 1, percent = ?, updated_at = ? WHERE id = ?",
                [percent, now.millisecondsSinceEpoch, rollout.id])
            try beginStep(of: rollout.id, at: now)
            try appendAudit(
                at: now, actor: actor, action: "rollout.advance", model: model.name, version: rollout.candidate,
                branch: Branch.master.rawValue,
                details: details.merging(
                    ["rollout_id": JSONValue(rollout.id), "step": JSONValue(rollout.step + 1), "percent": JSONValue(percent)]) { $1 })
        } else {
            try execute(
                "UPDATE rollouts SET state = 'completed', percent = 100, updated_at = ? WHERE id = ?",
                [now.millisecondsSinceEpoch, rollout.id])
            try appendAudit(
                at: now, actor: actor, action: "rollout.complete", model: model.name, version: rollout.candidate,
                branch: Branch.master.rawValue, details: details.merging(["rollout_id": JSONValue(rollout.id)]) { $1 })
            let current = try branchHeads(model).master
            _ = try moveBranch(
                model, .master, from: current, to: rollout.candidate, kind: .rolloutComplete, actor: actor,
                reason: "rollout #\(rollout.id) completed", gates: [], at: now, auditAction: "branch.rollout_complete",
                auditDetails: ["rollout_id": JSONValue(rollout.id)])
        }
    }

    /// Writes one observation of `rollout` with its audit entry, pushed or the server's, and
    /// counts a breach: past `failure_limit` the rollout aborts in the same transaction (actor
    /// `system`).
    func recordObservation(
        of rollout: Rollout, model: ModelRow, target: Rollout.Target, source: Rollout.Source, metrics: [String: Double],
        checks: [GateResult], inconclusive: [String: String], actor: String, at now: Timestamp
    ) throws {
        let passed = checks.allSatisfy(\.passed)
        try execute(
            """
            INSERT INTO rollout_observations (rollout_id, target, source, metrics, passed, checks, inconclusive, actor, at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [rollout.id, target.rawValue, source.rawValue, JSONCoding.text(metrics), passed ? 1 : 0, JSONCoding.text(checks),
             JSONCoding.text(inconclusive), actor, now.millisecondsSinceEpoch])
        let failures = rollout.failures + (passed ? 0 : 1)
        try execute("UPDATE rollouts SET failures = ?, updated_at = ? WHERE id = ?", [failures, now.millisecondsSinceEpoch, rollout.id])
        var details: [String: JSONValue] = [
            "rollout_id": JSONValue(rollout.id), "target": .string(target.rawValue), "passed": .bool(passed),
            "metrics": .object(metrics.mapValues { .number($0) }),
        ]
        if source != .observe { details["source"] = .string(source.rawValue) }
        if !inconclusive.isEmpty { details["inconclusive"] = .object(inconclusive.mapValues { .string($0) }) }
        try appendAudit(
            at: now, actor: actor, action: "rollout.observe", model: model.name,
            version: target == .candidate ? rollout.candidate : rollout.baseline, branch: Branch.master.rawValue, details: details)
        if failures > rollout.failureLimit {
            let breaches = checks.filter { !$0.passed }.map(\.message).joined(separator: "; ")
            try abort(
                rollout, model: model, reason: "guard breached \(failures) times, more than the failure limit \(rollout.failureLimit): \(breaches)",
                actor: "system", at: now)
        }
    }

    /// Marks the rollout's current step as begun now: its hold counts from `now`, and its guards
    /// are judged on the observations recorded after this transaction.
    func beginStep(of rollout: Int, at now: Timestamp) throws {
        try execute(
            """
            UPDATE rollouts SET step_started_at = ?2,
                observations_before_step = (SELECT count(*) FROM rollout_observations WHERE rollout_id = ?1)
            WHERE id = ?1
            """, [rollout, now.millisecondsSinceEpoch])
    }

    /// Ends an active rollout with traffic back at 0 %; `master` is not touched.
    func abort(_ rollout: Rollout, model: ModelRow, reason: String, actor: String, at now: Timestamp) throws {
        try execute(
            "UPDATE rollouts SET state = 'aborted', percent = 0, reason = ?, updated_at = ? WHERE id = ?",
            [reason, now.millisecondsSinceEpoch, rollout.id])
        try appendAudit(
            at: now, actor: actor, action: "rollout.abort", model: model.name, version: rollout.candidate, branch: Branch.master.rawValue,
            details: ["rollout_id": JSONValue(rollout.id), "reason": .string(reason), "percent_before": JSONValue(rollout.percent)])
    }

    /// Which of a rollout's observations a read loads.
    enum Observations {
        /// All of them, oldest first: what every answer shows.
        case all
        /// The newest of the current step's, enough to hold for each guard the newest that
        /// judged it: all the rollout's plan and guard status look at. For the reads that decide
        /// (the controller's, and inside a write), whose cost would otherwise grow with every
        /// reading of a long rollout. `observationsBeforeStep` is then 0: the list is all of
        /// the step the read needs.
        case currentStep
    }

    /// A rollout's observations after its first `skipped`, oldest first; with `newest`, only
    /// that many of the latest.
    private func observationRows(of rollout: Int, after skipped: Int, newest: Int?) throws -> [Rollout.Observation] {
        let rows = try query(
            """
            SELECT id, target, metrics, passed, checks, actor, at, source, inconclusive FROM (
                SELECT * FROM rollout_observations WHERE rollout_id = ? ORDER BY id LIMIT -1 OFFSET ?
            ) ORDER BY id DESC LIMIT ?
            """, [rollout, skipped, newest ?? -1])
        return try rows.reversed().map { row in
            Rollout.Observation(
                id: try row.int(0), target: try row.value(1, as: Rollout.Target.self), source: try row.value(7, as: Rollout.Source.self),
                metrics: try JSONCoding.decode([String: Double].self, from: try row.string(2)), passed: try row.int(3) == 1,
                checks: try JSONCoding.decode([GateResult].self, from: try row.string(4)),
                inconclusive: try JSONCoding.decode([String: String].self, from: try row.string(8)), actor: try row.string(5),
                at: Timestamp(millisecondsSinceEpoch: Int64(try row.int(6))))
        }
    }

    /// Whether `observations` hold, for each guard, one that judged it: then the older ones of
    /// the step change nothing the plan or the guard status says.
    private static func judgesEveryGuard(_ observations: [Rollout.Observation], _ guards: [String: RolloutGuard]) -> Bool {
        guards.keys.allSatisfy { metric in
            observations.contains { $0.checks.contains { $0.name == "guards.\(metric)" } || $0.inconclusive[metric] != nil }
        }
    }

    /// Rollout `id` of `model`, with its plan as of `now`.
    func rollout(_ model: ModelRow, id: Int, now: Timestamp, observations scope: Observations = .all) throws -> Rollout {
        guard let row = try queryFirst(
            """
            SELECT candidate, baseline, steps, step, percent, state, guards, failure_limit, failures, reason, started_by,
                   started_at, updated_at, auto, step_started_at, observations_before_step, interval_ms
            FROM rollouts WHERE id = ? AND model_id = ?
            """, [id, model.id])
        else { throw RegistryError(.notFound, "model \"\(model.name)\" has no rollout #\(id)") }
        let before = try row.int(15)
        let guards = try JSONCoding.decode([String: RolloutGuard].self, from: try row.string(6))
        let skipped = scope == .currentStep ? before : 0
        var observations = try observationRows(of: id, after: skipped, newest: scope == .currentStep ? 16 : nil)
        if scope == .currentStep, observations.count == 16, !Self.judgesEveryGuard(observations, guards) {
            observations = try observationRows(of: id, after: skipped, newest: nil)
        }
        return Rollout(
            id: id, model: model.name, state: try row.value(5, as: Rollout.State.self), candidate: try row.int(0),
            baseline: try row.optionalInt(1), steps: try JSONCoding.decode([RolloutStep].self, from: try row.string(2)), step: try row.int(3),
            auto: try row.int(13) == 1, stepStartedAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(14))),
            observationsBeforeStep: scope == .currentStep ? 0 : before,
            percent: try row.int(4), guards: guards,
            intervalMilliseconds: Int64(try row.int(16)),
            failureLimit: try row.int(7), failures: try row.int(8), reason: try row.string(9), startedBy: try row.string(10),
            startedAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(11))),
            updatedAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(12))), observations: observations, now: now)
    }
}
