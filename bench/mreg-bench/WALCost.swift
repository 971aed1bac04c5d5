import Foundation
import RegistryCore
import SQLite

/// What one change writes: the WAL frames (whole pages) each kind of operation appends per
/// commit, and the tables and indexes those pages belong to.
///
/// Each operation runs alone, one commit each, as one CI client's requests do (the worst case:
/// concurrent writes that share a commit share its pages). The operations of a kind run in
/// rounds: before each round the WAL is folded in and truncated, after it the WAL file is read
/// frame by frame (its format: https://www.sqlite.org/fileformat.html#the_write_ahead_log) and
/// each frame's page number is looked up in `dbstat` (https://www.sqlite.org/dbstat.html). The
/// registry is opened as a one-shot command opens it, so nothing checkpoints while a round's
/// frames are counted: SQLite's automatic checkpoint waits for 1000 frames, more than a round
/// writes. Over enough rounds the figures include the audit index's batches (`AuditIndex`), one
/// every 256 entries.
struct WALCost {
    struct Row {
        let operation: String
        let frames: Double
        let bytes: Double
        /// Frames per operation by B-tree name, most first.
        let trees: [(name: String, frames: Double)]
    }

    let models: Int
    let versionsPerModel: Int
    /// Operations of each kind measured.
    let operations: Int
    static let operationsPerRound = 30

    func run(in directory: String) async throws -> [Row] {
        let loaded = try BulkLoader(models: models, versionsPerModel: versionsPerModel).load(into: "\(directory)/walcost.db")
        defer { ScaleBenchmark.removeDatabase(loaded.path) }
        let registry = try Registry(path: loaded.path, workload: .oneShot)
        let inspector = try Connection(path: loaded.path)
        let names = loaded.modelNames
        var random = SplitMix64(seed: 3)
        let count = operations
        // Version numbers: the next one of model `index % models`, for as many rounds as needed.
        let next = { (index: Int) in (model: names[index % names.count], version: loaded.versionsPerModel + 1 + index / names.count) }

        var rows: [Row] = []
        func measureKind(_ name: String, _ body: (Int) async throws -> Void) async throws {
            var frames = Frames()
            var start = 0
            while start < count {
                try inspector.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                let end = min(count, start + Self.operationsPerRound)
                for index in start..<end { try await body(index) }
                try frames.add(walOf: loaded.path, commits: end - start, inspector: inspector, name: name)
                start = end
            }
            rows.append(frames.row(name, operations: count))
        }

        try await measureKind("register") { index in
            let (model, version) = next(index)
            let request = Workload.registerRequest(model: model, version: version, random: &random)
            _ = try await registry.register(model: model, request, by: Workload.engineer)
        }
        // What the server does for a request with an Idempotency-Key: the registration, the
        // key's record and the answer for repeats, in one transaction.
        try await measureKind("register with an idempotency key") { index in
            let (model, version) = next(count + index)
            let request = Workload.registerRequest(model: model, version: version, random: &random)
            let key = try IdempotencyKey(
                "walcost-\(index)", actor: Workload.engineer.name, method: "POST", path: "/v1/models/\(model)/versions",
                requestHash: String(repeating: "ab", count: 32))
            let outcome = try await registry.apply(try registry.registering(model: model, request, by: Workload.engineer), once: key) {
                (try? $0.get()).map(JSONCoding.bytes) ?? []
            }
            var made = false
            if case .made = outcome { made = true }
            try check(made, "the key \(key.key) was not new: \(outcome)")
        }
        try await measureKind("report") { index in
            let (model, version) = next(index)
            _ = try await registry.addReport(
                model: model, version: version, ReportUpload(suite: "integration", status: .passed, metrics: ["latency_p99_ms": 41]),
                what: "the report", by: Workload.engineer)
        }
        try await measureKind("promote to release") { index in
            let (model, version) = next(index)
            _ = try await registry.promote(model: model, PromoteRequest(to: .release, version: version), by: Workload.engineer)
        }
        try await measureKind("promote to master") { index in
            let (model, version) = next(index)
            _ = try await registry.promote(model: model, PromoteRequest(to: .master, version: version), by: Workload.releaseManager)
        }
        try await measureKind("rollback") { index in
            _ = try await registry.rollback(
                model: names[index % names.count], RollbackRequest(branch: .master, reason: "walcost"), by: Workload.releaseManager)
        }
        return rows
    }

}

/// The WAL frames of the rounds of one kind of change, by the B-tree their page belongs to.
private struct Frames {
    var byTree: [String: Int] = [:]
    var total = 0
    var pageSize = 4096

    /// Reads the frames of the WAL next to `path` (all written since it was truncated, in
    /// `commits` commits) and sorts them by the B-tree their page belongs to.
    mutating func add(walOf path: String, commits expected: Int, inspector: Connection, name: String) throws {
        let wal = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path + "-wal")))
        try check(wal.count >= 32, "the WAL of \(path) has no header after \(name)")
        func word(_ offset: Int) -> UInt32 { wal[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) } }
        pageSize = Int(word(8))
        let salts = (word(16), word(20))
        var pages: [UInt32] = []
        var commits = 0
        var offset = 32
        while offset + 24 + pageSize <= wal.count, (word(offset + 8), word(offset + 12)) == salts {
            pages.append(word(offset))
            if word(offset + 4) != 0 { commits += 1 }
            offset += 24 + pageSize
        }
        try check(commits == expected, "\(name): \(commits) commits in the WAL for \(expected)")

        var treeOfPage: [UInt32: String] = [:]
        try inspector.forEachRow("SELECT name, pageno FROM dbstat") { row in
            treeOfPage[UInt32(try row.int64(1))] = try row.text(0)
        }
        // Page 1 holds the file header (its change counter and size) as well as the schema's root.
        for page in pages { byTree[page == 1 ? "page 1 (file header)" : treeOfPage[page] ?? "(free page)", default: 0] += 1 }
        total += pages.count
    }

    func row(_ name: String, operations: Int) -> WALCost.Row {
        let per = Double(operations)
        return WALCost.Row(
            operation: name, frames: Double(total) / per, bytes: Double(total * (24 + pageSize)) / per,
            trees: byTree.map { (name: $0.key, frames: Double($0.value) / per) }.sorted { ($0.frames, $1.name) > ($1.frames, $0.name) })
    }
}
