import Foundation
import MregTestSupport
import PowerLossVFS
import SQLite
import Synchronization
import Testing

@testable import RegistryCore

/// Durable acknowledgements: every change the registry answered survives a power loss.
///
/// Each iteration runs a mixed workload (registrations, reports, promotions, rollbacks, rollout
/// steps, token changes) from four tasks at once through a registry with group commit, as
/// `mreg serve` runs it, on the power-loss VFS (Tests/PowerLossVFS); cuts the power after a
/// random number of the files' writes, truncations and syncs (inside or between commits, the
/// background checkpoint's included); puts the files back as a disk could hold them (each
/// file's synced content plus a random subset of its later writes, some torn); reopens the
/// file through the normal VFS and checks it, `audit verify --state` included. The same test with `synchronous=NORMAL` must find
/// acknowledged changes lost, or it could not catch the hole it exists for.
///
/// Serialized: the VFS's state is process-wide.
@Suite(.serialized) struct PowerLossTests {
    @Test func everyAcknowledgedChangeSurvivesAPowerLoss() async throws {
        let summary = try await Self.run(iterations: 100, synchronous: .full, seed: 0x6D72_6567_0001)
        print("power loss, synchronous=FULL: \(summary)")
        #expect(summary.crashed >= 60, "most iterations must cut the power mid-workload")
        #expect(summary.lost == [], "acknowledged changes lost")
        #expect(summary.inconsistent == [], "files left inconsistent")
    }

    @Test func withoutSyncedCommitsAcknowledgedChangesAreLost() async throws {
        let summary = try await Self.run(iterations: 10, synchronous: .normal, seed: 0x6D72_6567_0002)
        print("power loss, synchronous=NORMAL: \(summary)")
        #expect(!summary.lost.isEmpty, "synchronous=NORMAL loses acknowledged changes on a power loss; the test must see it")
        #expect(summary.inconsistent == [], "a lost commit is lost whole")
    }

    /// What the iterations found.
    struct Summary: CustomStringConvertible {
        var iterations = 0
        var crashed = 0
        var acknowledged = 0
        var crashPoints: [Int64] = []
        var operationsPerRun: Int64 = 0
        /// Iterations (by index) where an acknowledged change was missing, and what.
        var lost: [String] = []
        var inconsistent: [String] = []

        var description: String {
            let points = crashPoints.sorted()
            return "\(iterations) iterations, \(crashed) cut mid-workload at operations \(points.first ?? 0)…\(points.last ?? 0) "
                + "of ~\(operationsPerRun), \(acknowledged) acknowledged changes checked, \(lost.count) with losses, "
                + "\(inconsistent.count) inconsistent"
        }
    }

    private static func run(iterations: Int, synchronous: Connection.Synchronous, seed: UInt64) async throws -> Summary {
        #expect(powerloss_register() == 0)
        var random = SplitMix(seed)
        var summary = Summary(iterations: iterations)
        // One run without a crash counts the operations a whole workload makes.
        summary.operationsPerRun = try await withTemporaryDirectory { directory in
            powerloss_reset()
            _ = try await Workload.run(path: directory.file("mreg.db"), synchronous: synchronous, crashAfter: 0)
            let count = powerloss_operations()
            powerloss_reset()
            return count
        }
        for iteration in 0..<iterations {
            try await withTemporaryDirectory { directory in
                let path = directory.file("mreg.db")
                powerloss_reset()
                // A run's operations vary with how writes happen to group (and the machine's load):
                // crash points are drawn from the first three quarters of a measured run.
                let crashAfter = Int64(1 + random.next() % UInt64(max(1, summary.operationsPerRun * 3 / 4)))
                let acknowledged = try await Workload.run(path: path, synchronous: synchronous, crashAfter: crashAfter)
                // The power comes back only once the registry is gone, its files closed.
                #expect(try openFiles(in: directory) == [], "iteration \(iteration)")
                if powerloss_crashed() != 0 {
                    summary.crashed += 1
                    summary.crashPoints.append(crashAfter)
                }
                #expect(powerloss_apply(random.next()) == 0)
                summary.acknowledged += acknowledged.count
                let found = try Check.afterPowerLoss(path: path, acknowledged: acknowledged)
                if !found.lost.isEmpty { summary.lost.append("iteration \(iteration), crash at \(crashAfter): \(found.lost.prefix(3))") }
                if !found.inconsistent.isEmpty {
                    summary.inconsistent.append("iteration \(iteration), crash at \(crashAfter): \(found.inconsistent.prefix(3))")
                }
            }
        }
        return summary
    }
}

/// What a caller was told succeeded.
private enum Acknowledged: Sendable {
    case version(model: String, number: Int, artifactURI: String)
    case report(model: String, version: Int, suite: String)
    case transition(id: Int)
    case rolloutStep(id: Int, step: Int)
    case token(id: String)
    case revoked(id: String)
}

/// The changes each task made and was answered for, in one list.
private final class Acknowledgements: Sendable {
    private let list = Mutex<[Acknowledged]>([])

    func add(_ change: Acknowledged) { list.withLock { $0.append(change) } }

    var all: [Acknowledged] { list.withLock { $0 } }
}

private enum Workload {
    static let admin = Caller(name: "ada", role: .admin)
    static let engineer = Caller(name: "eddie", role: .engineer)

    /// Runs the workload on a fresh registry at `path` through the power-loss VFS, the power
    /// cut after `crashAfter` operations (0: never), and closes the registry.
    /// - Returns: every change a caller was answered for.
    static func run(path: String, synchronous: Connection.Synchronous, crashAfter: Int64) async throws -> [Acknowledged] {
        let acknowledged = Acknowledgements()
        do {
            let registry = try Registry(
                path: path, clock: Timestamp.now, workload: .server,
                options: Connection.Options(synchronous: synchronous, vfs: "powerloss"))
            // A model with a version on master, for promotions and rollouts to build on.
            for model in ["m", "r"] {
                _ = try await registry.register(model: model, RegisterRequest(artifactURI: "s3://\(model)/setup"), by: engineer)
                _ = try await registry.promote(model: model, PromoteRequest(to: .release), by: admin)
                _ = try await registry.promote(model: model, PromoteRequest(to: .master), by: admin)
            }
            powerloss_arm(crashAfter)
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask { await registrations(registry, acknowledged) }
                tasks.addTask { await promotions(registry, acknowledged) }
                tasks.addTask { await rollouts(registry, acknowledged) }
                tasks.addTask { await tokens(registry, acknowledged) }
            }
        }  // the registry, and with it every connection, is closed here
        return acknowledged.all
    }

    /// Calls `change` up to `times` times, stopping once the power is off.
    private static func repeatUntilPowerLoss(_ times: Int, _ change: (Int) async throws -> Void) async {
        for index in 0..<times where powerloss_crashed() == 0 {
            try? await change(index)
        }
    }

    private static func registrations(_ registry: Registry, _ acknowledged: Acknowledgements) async {
        await repeatUntilPowerLoss(40) { index in
            let uri = "s3://m/\(index)"
            let version = try await registry.register(
                model: "m", RegisterRequest(artifactURI: uri, metrics: ["accuracy": 0.9], tags: ["i": "\(index)"]), by: engineer)
            acknowledged.add(.version(model: "m", number: version.version, artifactURI: uri))
            let report = try await registry.addReport(
                model: "m", version: version.version, ReportSubmission(suite: "unit", status: .passed), document: Array(uri.utf8),
                by: engineer)
            acknowledged.add(.report(model: "m", version: version.version, suite: report.suite))
        }
    }

    private static func promotions(_ registry: Registry, _ acknowledged: Acknowledgements) async {
        await repeatUntilPowerLoss(40) { index in
            let to: Branch = index % 2 == 0 ? .release : .master
            if index % 5 == 4 {
                let result = try await registry.rollback(model: "m", RollbackRequest(branch: .master, reason: "drill"), by: admin)
                if let id = result.transitionID { acknowledged.add(.transition(id: id)) }
            } else {
                let result = try await registry.promote(model: "m", PromoteRequest(to: to), by: admin)
                if let id = result.transitionID { acknowledged.add(.transition(id: id)) }
            }
        }
    }

    private static func rollouts(_ registry: Registry, _ acknowledged: Acknowledgements) async {
        await repeatUntilPowerLoss(8) { _ in
            let version = try await registry.register(model: "r", RegisterRequest(artifactURI: "s3://r/\(UUID())"), by: engineer)
            acknowledged.add(.version(model: "r", number: version.version, artifactURI: version.artifactURI))
            _ = try await registry.promote(model: "r", PromoteRequest(to: .release, version: version.version), by: admin)
            let rollout = try await registry.startRollout(model: "r", RolloutStartRequest(version: version.version, steps: [50, 100]), by: admin)
            acknowledged.add(.rolloutStep(id: rollout.id, step: rollout.step))
            for _ in 0..<2 {
                let advanced = try await registry.advanceRollout(model: "r", by: admin)
                acknowledged.add(.rolloutStep(id: advanced.id, step: advanced.step))
            }
        }
    }

    private static func tokens(_ registry: Registry, _ acknowledged: Acknowledgements) async {
        await repeatUntilPowerLoss(30) { index in
            let token = try await registry.createToken(name: "ci-\(index)", role: .engineer, by: admin)
            acknowledged.add(.token(id: token.id))
            if index % 2 == 1 {
                _ = try await registry.revokeToken(id: token.id, by: admin)
                acknowledged.add(.revoked(id: token.id))
            }
        }
    }
}

private enum Check {
    /// Opens the file as mreg would after the reboot and lists what is missing or torn.
    static func afterPowerLoss(path: String, acknowledged: [Acknowledged]) throws -> (lost: [String], inconsistent: [String]) {
        var lost: [String] = []
        var inconsistent: [String] = []
        let registry = try Registry(path: path)
        let db = try Connection(path: path)
        let integrity = try db.query("PRAGMA integrity_check").map { try $0.string(0) }
        if integrity != ["ok"] { inconsistent.append("integrity_check: \(integrity.prefix(3))") }
        // The chain, and every table against it (`audit verify --state`): all of a change or none.
        let verification = try registry.verifyAudit(state: true)
        if !verification.ok {
            let state = verification.state.map { "\($0.table ?? "?") \($0.key ?? "?"): \($0.problem ?? "")" } ?? ""
            inconsistent.append("audit verify --state: \(verification.problem ?? state)")
        }

        for change in acknowledged {
            switch change {
            case .version(let model, let number, let uri):
                let stored = try db.queryFirst(
                    "SELECT artifact_uri FROM versions JOIN models ON models.id = model_id WHERE name = ? AND version = ?", [model, number])
                if try stored?.string(0) != uri { lost.append("version \(model)/\(number)") }
            case .report(let model, let version, let suite):
                let count = try db.queryFirst(
                    """
                    SELECT count(*) FROM test_reports JOIN versions ON versions.id = version_id JOIN models ON models.id = model_id
                    WHERE name = ? AND version = ? AND suite = ?
                    """, [model, version, suite])?.int(0) ?? 0
                if count == 0 { lost.append("report on \(model)/\(version)") }
            case .transition(let id):
                if try db.queryFirst("SELECT 1 FROM transitions WHERE id = ?", [id]) == nil { lost.append("transition \(id)") }
            case .rolloutStep(let id, let step):
                let stored = try db.queryFirst("SELECT step, state FROM rollouts WHERE id = ?", [id])
                let storedStep = try stored?.int(0) ?? 0
                let completed = try stored?.string(1) == "completed"
                if stored == nil || (storedStep < step && !completed) { lost.append("rollout \(id) step \(step)") }
            case .token(let id):
                if try db.queryFirst("SELECT 1 FROM tokens WHERE id = ?", [id]) == nil { lost.append("token \(id)") }
            case .revoked(let id):
                if try db.queryFirst("SELECT 1 FROM tokens WHERE id = ? AND revoked_at IS NOT NULL", [id]) == nil {
                    lost.append("revocation of \(id)")
                }
            }
        }

        // All or nothing: no change is half there.
        let unregistered = try db.queryFirst(
            """
            SELECT count(*) FROM versions v WHERE NOT EXISTS (
                SELECT 1 FROM transitions t WHERE t.model_id = v.model_id AND t.kind = 'register' AND t.to_version = v.version)
            """)?.int(0) ?? 0
        if unregistered > 0 { inconsistent.append("\(unregistered) versions without their registration") }
        let unaudited = try db.queryFirst(
            """
            SELECT count(*) FROM transitions t WHERE NOT EXISTS (
                SELECT 1 FROM audit_log a WHERE json_extract(a.details, '$.transition_id') = t.id)
            """)?.int(0) ?? 0
        if unaudited > 0 { inconsistent.append("\(unaudited) transitions without their audit entry") }
        let strayHeads = try db.queryFirst(
            """
            SELECT count(*) FROM branches b WHERE b.version IS NOT (
                SELECT t.to_version FROM transitions t WHERE t.model_id = b.model_id AND t.branch = b.name ORDER BY t.id DESC LIMIT 1)
            """)?.int(0) ?? 0
        if strayHeads > 0 { inconsistent.append("\(strayHeads) branches not where their last transition put them") }
        return (lost, inconsistent)
    }
}

/// SplitMix64: the iterations' crash points and disk outcomes, the same in every run.
private struct SplitMix {
    private var state: UInt64

    init(_ seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
