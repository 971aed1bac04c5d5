import Foundation
import RegistryCore

/// Measures a bulk-loaded registry: the read paths, then writes on top of the loaded history,
/// resolve under rollouts, and verification of the whole audit log.
struct ScaleBenchmark {
    struct Sizes {
        var reads: ReadWorkload.Sizes
        var registrations: Int
        var rolloutModels: Int
        /// Audit entries to verify in all, in as many whole-log runs as that takes (at least one).
        var verifiedEntries: Int

        static let full = Sizes(
            reads: .init(resolves: 50_000, historyAts: 10_000, diffs: 5_000, farDiffs: 200, listings: 2_000),
            registrations: 1_000, rolloutModels: 100, verifiedEntries: 2_000_000)
        static let quick = Sizes(
            reads: .init(resolves: 500, historyAts: 100, diffs: 50, farDiffs: 5, listings: 50),
            registrations: 20, rolloutModels: 2, verifiedEntries: 1_000)
    }

    let sizes: Sizes

    func run(on loaded: LoadedRegistry) async throws -> FigureTable {
        let registry = try Registry(path: loaded.path, workload: .server)
        var random = SplitMix64(seed: 2)
        let names = loaded.modelNames
        var table = FigureTable()

        try await ReadWorkload(
            registry: registry, names: names, versionsPerModel: loaded.versionsPerModel,
            window: loaded.firstEventAt...loaded.lastEventAt, sizes: sizes.reads
        ).run(into: &table, random: &random)

        // Writes on top of the loaded history: new versions, promoted to release.
        let registrations = (0..<sizes.registrations).map { index in
            (model: names[index % names.count], version: loaded.versionsPerModel + 1 + index / names.count)
        }
        let requests = registrations.map { Workload.registerRequest(model: $0.model, version: $0.version, random: &random) }
        table.add("register", try await measure(registrations.count) { index in
            let registered = try await registry.register(model: registrations[index].model, requests[index], by: Workload.engineer)
            try check(registered.version == registrations[index].version, "register gave version \(registered.version)")
        })
        table.add("promote", try await measure(registrations.count) { index in
            let (model, version) = registrations[index]
            let result = try await registry.promote(model: model, PromoteRequest(to: .release, version: version), by: Workload.engineer)
            try check(result.toVersion == version, "promote moved release to \(result.toVersion)")
        })

        // Rollouts of each touched model's newest version, then resolve under them.
        var newest: [String: Int] = [:]
        for (model, version) in registrations { newest[model] = version }
        let rolloutModels = Array(names.filter { newest[$0] != nil }.prefix(sizes.rolloutModels))
        table.add("start_rollout", try await measure(rolloutModels.count) { index in
            let model = rolloutModels[index]
            _ = try await registry.startRollout(
                model: model, RolloutStartRequest(version: newest[model]!, steps: Workload.rolloutSteps), by: Workload.releaseManager)
        })
        for model in rolloutModels { _ = try await registry.advanceRollout(model: model, by: Workload.releaseManager) }
        table.add(
            "resolve_rollout",
            try await ReadWorkload.resolve(registry, names: rolloutModels, count: sizes.reads.resolves, random: &random, underRollout: true))

        let entries = loaded.auditEntries + 2 * registrations.count + 2 * rolloutModels.count
        let verify = try await measureAuditVerify(registry, runs: max(1, min(20, sizes.verifiedEntries / entries)))
        try check(verify.ok == true, "audit verify failed on the loaded registry")
        try check(verify.entries == entries, "audit verify checked \(verify.entries ?? 0) entries, expected \(entries)")
        table.add("audit_verify", verify)
        let withState = try await measureAuditVerify(registry, runs: max(1, min(5, sizes.verifiedEntries / entries)), state: true)
        try check(withState.ok == true, "audit verify --state failed on the loaded registry")
        table.add("audit_verify_state", withState)
        return table
    }

    /// Bytes on disk of the database at `path`, with its WAL if one is left.
    static func databaseBytes(_ path: String) -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            var status = stat()
            return total + (stat(file, &status) == 0 ? Int(status.st_size) : 0)
        }
    }

    static func removeDatabase(_ path: String) {
        for file in [path, path + "-wal", path + "-shm"] { try? FileManager.default.removeItem(atPath: file) }
    }
}
