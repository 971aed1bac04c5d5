import RegistryCore

/// Every operation of the issue through `Registry`, one client, into a new file on disk:
/// register, promote, the reads, rollback, a rollout and resolve under it, audit verify.
struct InProcessBenchmark {
    struct Sizes {
        var models: Int
        var versionsPerModel: Int
        var resolves: Int
        var historyAts: Int
        var diffs: Int
        var farDiffs: Int
        var listings: Int
        var rollbacksPerModel: Int
        var verifyRuns: Int
        var concurrentRegistrations: Int

        static let full = Sizes(
            models: 10, versionsPerModel: 500, resolves: 100_000, historyAts: 10_000, diffs: 5_000, farDiffs: 500,
            listings: 2_000, rollbacksPerModel: 100, verifyRuns: 20, concurrentRegistrations: 20_000)
        static let quick = Sizes(
            models: 2, versionsPerModel: 20, resolves: 500, historyAts: 100, diffs: 50, farDiffs: 10, listings: 50,
            rollbacksPerModel: 5, verifyRuns: 2, concurrentRegistrations: 200)

        /// Callers of the concurrent registrations: as many as `make bench`'s wrk connections.
        static let concurrentClients = 32
    }

    let sizes: Sizes

    func run(in path: String) async throws -> FigureTable {
        let registry = try Registry(path: path, workload: .server)
        var random = SplitMix64(seed: 1)
        let models = sizes.models
        let perModel = sizes.versionsPerModel
        let names = (0..<models).map { "inproc-" + BulkLoader.modelName($0) }
        var table = FigureTable()

        // Writes: every version registered, then promoted to release and to master, in turn.
        let registrations = (0..<models * perModel).map { index in
            (model: names[index % models], version: index / models + 1)
        }
        let requests = registrations.map { Workload.registerRequest(model: $0.model, version: $0.version, random: &random) }
        let start = Timestamp.now()
        table.add("register", try await measure(registrations.count) { index in
            let registered = try await registry.register(model: registrations[index].model, requests[index], by: Workload.engineer)
            try check(registered.version == registrations[index].version, "register gave version \(registered.version)")
        })
        table.add("promote", try await measure(registrations.count * 2) { index in
            let (model, version) = registrations[index / 2]
            let target: Branch = index % 2 == 0 ? .release : .master
            let result = try await registry.promote(
                model: model, PromoteRequest(to: target, version: version),
                by: target == .master ? Workload.releaseManager : Workload.engineer)
            try check(result.toVersion == version && result.passed, "promote moved to \(result.toVersion)")
        })
        let end = Timestamp.now()

        var concurrent = try await ConcurrentRegistrations(clients: Sizes.concurrentClients, count: sizes.concurrentRegistrations)
            .run(registry, model: "inproc-concurrent", random: &random)
        concurrent.figure.meanGroup = concurrent.meanGroup
        table.add("register_concurrent", concurrent.figure)

        try await ReadWorkload(
            registry: registry, names: names, versionsPerModel: perModel,
            window: start.millisecondsSinceEpoch...end.millisecondsSinceEpoch,
            sizes: .init(resolves: sizes.resolves, historyAts: sizes.historyAts, diffs: sizes.diffs, farDiffs: sizes.farDiffs, listings: sizes.listings)
        ).run(into: &table, random: &random)

        // Rollback walks master back one version at a time.
        let rollbacks = models * sizes.rollbacksPerModel
        table.add("rollback", try await measure(rollbacks) { index in
            let result = try await registry.rollback(
                model: names[index % models], RollbackRequest(branch: .master, reason: "benchmark rollback"), by: Workload.releaseManager)
            try check(result.toVersion == perModel - 1 - index / models, "rollback moved master to \(result.toVersion)")
        })

        // A gray release of the newest version on every model, then resolve under it.
        table.add("start_rollout", try await measure(models) { index in
            let rollout = try await registry.startRollout(
                model: names[index], RolloutStartRequest(version: perModel, steps: Workload.rolloutSteps, auto: true), by: Workload.releaseManager)
            try check(rollout.percent == Workload.rolloutSteps[0].percent, "the rollout started at \(rollout.percent) %")
        })
        table.add("advance_rollout", try await measure(models) { index in
            let rollout = try await registry.advanceRollout(model: names[index], by: Workload.releaseManager)
            try check(rollout.percent == Workload.rolloutSteps[1].percent, "the rollout advanced to \(rollout.percent) %")
        })
        table.add("resolve_rollout", try await ReadWorkload.resolve(registry, names: names, count: sizes.resolves, random: &random, underRollout: true))
        // What the server's rollout controller reads each round: every rollout it looks after
        // (one per model here), with its observations and its plan.
        table.add("rollout_controller_round", try await measure(sizes.resolves / 100) { _ in
            let rollouts = try registry.rolloutsToWatch()
            try check(rollouts.count == models && rollouts.allSatisfy { $0.next.action == .advance }, "the controller read \(rollouts.count) rollouts")
        })

        // The server's reading of a rollout's query guards, without the queries themselves: two
        // guards judged, the observation and its audit entry written, the rollout read back
        // (what each reading costs the server; the round trips to Prometheus come on top).
        // Every tenth reading breaches, below the failure limit.
        var guarded: [(model: String, rollout: Rollout)] = []
        for model in names.prefix(min(models, 10)) {
            _ = try await registry.abortRollout(model: model, reason: "benchmark: again, with query guards", by: Workload.releaseManager)
            _ = try await registry.setPolicy(model: model, document: Workload.queryGuardPolicy + "\n    failure_limit: 1000000\n", by: Workload.admin)
            let rollout = try await registry.startRollout(
                model: model, RolloutStartRequest(version: perModel, steps: Workload.rolloutSteps), by: Workload.releaseManager)
            guarded.append((model, rollout))
        }
        table.add("rollout_evaluation_record", try await measure(sizes.resolves / 100) { index in
            let slot = index % guarded.count
            let errors = index % 10 == 0 ? 0.05 : 0.01
            let after = try await registry.recordEvaluation(of: guarded[slot].rollout,
                readings: ["error_rate": .success([errors]), "error_ratio": .success([errors, 0.01])])
            guard let after, after.state == .progressing, after.guardStatus.count == 2 else { throw BenchFailure("the reading was not recorded") }
            guarded[slot].rollout = after
        })

        let verify = try await measureAuditVerify(registry, runs: sizes.verifyRuns)
        try check(verify.ok == true, "audit verify failed on the in-process registry")
        table.add("audit_verify", verify)
        return table
    }
}
