import SQLite

extension Registry {
    /// Promotes a version one rung up the ladder, through the target branch's gates.
    ///
    /// To `release` it takes the `develop` head unless a version is named; to `master` the
    /// `release` head. With `dryRun` every gate is evaluated and reported and nothing moves.
    /// - Throws: `INVALID_ARGUMENT` (promoting to develop, `force` without a reason),
    ///   `PERMISSION_DENIED` (`force` without the admin role), `NOT_FOUND`, `CONFLICT`
    ///   (already there, deprecated, never on the branch below), `PRECONDITION_FAILED` (stale
    ///   `expect`),
    ///   `GATE_FAILED` carrying the gate report.
    /// - Parameter ifMatch: the `BranchState.etag` the caller read; a stale one is refused.
    public func promote(
        model name: String, _ request: PromoteRequest, ifMatch: String? = nil, by caller: Caller
    ) async throws(RegistryError) -> TransitionResult {
        guard let source = request.to.below else {
            throw RegistryError(.invalidArgument, "promote moves a version to release or master; develop moves when a version is registered")
        }
        try caller.require(request.to == .master ? .releaseManager : .engineer, to: "promote to \(request.to.rawValue)")
        if request.force {
            try caller.require(.admin, to: "force a promotion past failing gates")
            guard !request.reason.isBlank else {
                throw RegistryError(.invalidArgument, "a forced promotion needs a reason")
            }
        }
        let now = clock()
        let promotion = { @Sendable (connection: Connection) throws -> TransitionResult in
            let model = try connection.modelRow(named: name)
            let heads = try connection.branchHeads(model)
            guard let number = request.version ?? heads[source] else {
                throw RegistryError(.conflict, "branch \(source.rawValue) of model \"\(name)\" holds no version to promote")
            }
            let version = try connection.version(model, number)
            let current = heads[request.to]
            try connection.checkETag(ifMatch, model, request.to)
            try Self.checkExpectation(request.expect, current: current, branch: request.to, model: name)
            guard current != number else {
                throw RegistryError(.conflict, "branch \(request.to.rawValue) of model \"\(name)\" already holds version \(number)")
            }
            guard version.status == .active else {
                throw RegistryError(.conflict, "version \(number) of model \"\(name)\" is deprecated and cannot be promoted")
            }
            if request.to == .master, let rollout = try connection.activeRolloutID(model) {
                throw RegistryError(.conflict, 
                    "model \"\(name)\" has an active rollout (#\(rollout)) onto master; let it complete or abort it first")
            }
            guard try connection.hasBeenOn(model, source, version: number) else {
                throw RegistryError(.conflict, 
                    "version \(number) of model \"\(name)\" has never been on \(source.rawValue); promote it there before \(request.to.rawValue)")
            }
            let gates = try PromotionGates.evaluate(connection, model: model, version: version, target: request.to, currentTarget: current)
            let passed = gates.allSatisfy(\.passed)
            let kind: Transition.Kind = request.force ? .force : .promote
            if request.dryRun {
                return TransitionResult(
                    model: name, branch: request.to, fromVersion: current, toVersion: number, kind: kind, transitionID: nil,
                    gates: gates, dryRun: true, passed: passed)
            }
            guard passed || request.force else {
                let failing = gates.filter { !$0.passed }.map(\.name).joined(separator: ", ")
                throw RegistryError(
                    .gateFailed, "version \(number) of model \"\(name)\" did not pass the \(request.to.rawValue) gates: \(failing)",
                    gates: gates)
            }
            var details: [String: JSONValue] = [:]
            if request.force { details["overridden_gates"] = .array(gates.filter { !$0.passed }.map { .string($0.name) }) }
            let transitionID = try connection.moveBranch(
                model, request.to, from: current, to: number, kind: kind, actor: caller.name, reason: request.reason,
                gates: gates, at: now, auditAction: request.force ? "branch.force" : "branch.promote", auditDetails: details)
            return TransitionResult(
                model: name, branch: request.to, fromVersion: current, toVersion: number, kind: kind,
                transitionID: transitionID, gates: gates, dryRun: false, passed: passed)
        }
        // A dry run reads one consistent snapshot and never takes the write lock.
        return request.dryRun ? try read(promotion) : try await write(promotion)
    }

    /// Moves a branch back: to the version it held before its current version last arrived
    /// (so repeated rollbacks walk back through promotion history), or to `to`, which must
    /// have been on the branch before. No gates: this is the emergency path.
    /// - Throws: `INVALID_ARGUMENT` without a reason, `NOT_FOUND`, `CONFLICT` when there is
    ///   nothing to roll back to, `PRECONDITION_FAILED` when `expect` is stale.
    /// - Parameter ifMatch: the `BranchState.etag` the caller read; a stale one is refused.
    public func rollback(
        model name: String, _ request: RollbackRequest, ifMatch: String? = nil, by caller: Caller
    ) async throws(RegistryError) -> TransitionResult {
        try caller.require(.releaseManager, to: "roll back")
        guard !request.reason.isBlank else { throw RegistryError(.invalidArgument, "a rollback needs a reason") }
        let branch = request.branch
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            guard let current = try connection.branchHeads(model)[branch] else {
                throw RegistryError(.conflict, "branch \(branch.rawValue) of model \"\(name)\" holds no version; there is nothing to roll back")
            }
            try connection.checkETag(ifMatch, model, branch)
            try Self.checkExpectation(request.expect, current: current, branch: branch, model: name)
            let target: Int
            if let to = request.to {
                _ = try connection.version(model, to)
                guard to != current else {
                    throw RegistryError(.conflict, "branch \(branch.rawValue) of model \"\(name)\" already holds version \(to)")
                }
                guard try connection.hasBeenOn(model, branch, version: to) else {
                    throw RegistryError(.conflict, 
                        "version \(to) has never been on \(branch.rawValue) of model \"\(name)\"; a rollback can only return to a version the branch held before")
                }
                target = to
            } else {
                let arrival = try connection.queryFirst(
                    """
                    SELECT from_version FROM transitions
                    WHERE model_id = ? AND branch = ? AND to_version = ? AND kind <> 'rollback'
                    ORDER BY id DESC LIMIT 1
                    """, [model.id, branch.rawValue, current])
                guard let previous = try arrival?.optionalInt(0) else {
                    throw RegistryError(.conflict,
                        "version \(current) was the first version on \(branch.rawValue) of model \"\(name)\"; there is nothing before it to roll back to")
                }
                target = previous
            }
            // Rolling back master is the emergency path: it also stops any gray release onto it.
            if branch == .master, let rollout = try connection.activeRolloutID(model) {
                try connection.abort(
                    try connection.rollout(model, id: rollout, now: now, observations: .currentStep), model: model, reason: "master rolled back: \(request.reason)",
                    actor: caller.name, at: now)
            }
            let transitionID = try connection.moveBranch(
                model, branch, from: current, to: target, kind: .rollback, actor: caller.name, reason: request.reason,
                gates: [], at: now, auditAction: "branch.rollback")
            return TransitionResult(
                model: name, branch: branch, fromVersion: current, toVersion: target, kind: .rollback,
                transitionID: transitionID, gates: [], dryRun: false, passed: true)
        }
    }

    /// Optimistic concurrency: the caller names what it believes the branch holds (0: nothing).
    private static func checkExpectation(_ expect: Int?, current: Int?, branch: Branch, model: String) throws(RegistryError) {
        guard let expect, expect != (current ?? 0) else { return }
        let holds = current.map { "version \($0)" } ?? "no version"
        throw RegistryError(
            .preconditionFailed,
            "branch \(branch.rawValue) of model \"\(model)\" holds \(holds), not \(expect == 0 ? "no version" : "version \(expect)") as expected; reload and retry")
    }
}
