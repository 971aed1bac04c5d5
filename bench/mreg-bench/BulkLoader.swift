import RegistryCore
import SQLite

/// What the bulk loader wrote, for the measurements that follow.
struct LoadedRegistry {
    let path: String
    let modelNames: [String]
    let versionsPerModel: Int
    let transitions: Int
    let auditEntries: Int
    /// The times of the first and the last event written; `history --at` picks times between.
    let firstEventAt: Int64
    let lastEventAt: Int64
    let seconds: Double

    var versions: Int { modelNames.count * versionsPerModel }
}

/// Writes a registry database directly through the SQLite layer, many rows per transaction,
/// as if every version had been registered and then promoted to release and master one at a
/// time: per version one `versions` row, three `transitions` (register on develop, promote to
/// release, promote to master) and their three hash-chained `audit_log` entries, whose details
/// and hashes are those `Registry` would have written, so `verifyAudit` accepts the result.
///
/// Versions are written round-robin over the models (version 1 of every model, then version 2
/// …), so a model's rows are spread over the file as they would be in a registry where many
/// models are trained side by side, and event times grow with the audit sequence.
struct BulkLoader {
    /// 2025-01-01T00:00:00Z: the loaded history ends long before the registry's clock.
    static let firstEventAt: Int64 = 1_735_689_600_000
    /// One event every 10 s: 3,000,000 events span about a year.
    static let eventSpacingMilliseconds: Int64 = 10_000

    let models: Int
    let versionsPerModel: Int
    var versionsPerTransaction = 50_000

    static func modelName(_ index: Int) -> String {
        let digits = String(index + 1)
        return "model-" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// The digest of a version: 64 hex digits drawn from a generator seeded with the model name
    /// and version, so it is the same in every run and (with overwhelming odds) unique per model.
    /// Cheaper than hashing, which matters for a million versions. `Workload` uses it too.
    static func digest(model: String, version: Int) -> String {
        var seed: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a of the name, then the version
        for byte in model.utf8 { seed = (seed ^ UInt64(byte)) &* 0x100_0000_01B3 }
        var random = SplitMix64(seed: seed ^ UInt64(version))
        let hexDigits = Array("0123456789abcdef".utf8)
        var text = Array("sha256:".utf8)
        text.reserveCapacity(71)
        for _ in 0..<4 {
            let word = random.next()
            for shift in stride(from: 60, through: 0, by: -4) { text.append(hexDigits[Int(word >> UInt64(shift) & 0xF)]) }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Loads into a new file at `path`.
    /// - Throws: `RegistryError` when the schema cannot be created, `SQLiteError` when a row is
    ///   refused (a constraint or trigger of the schema disagrees with the loader).
    func load(into path: String) throws -> LoadedRegistry {
        let clock = ContinuousClock()
        let start = clock.now
        // The schema comes from the registry itself, so the loader fills exactly what mreg creates.
        _ = try Registry(path: path)
        let connection = try Connection(path: path)
        // Round-robin inserts touch every model's part of each index; a large page cache keeps
        // those pages in memory while loading, and large transactions write each page once per
        // many versions. The file is thrown away after the run, so the loader skips the fsyncs
        // of checkpoints. Queries later run with mreg's own settings.
        try connection.execute(script: "PRAGMA cache_size = -1048576; PRAGMA synchronous = OFF")
        var writer = try RowWriter(connection: connection, models: models)
        let total = models * versionsPerModel
        var next = 0
        while next < total {
            let end = min(next + versionsPerTransaction, total)
            try connection.transaction(.immediate) { _ in
                for index in next..<end {
                    try writer.writeVersion(model: index % models, version: index / models + 1)
                }
            }
            next = end
        }
        try connection.transaction(.immediate) { _ in try writer.writeBranchHeads(version: versionsPerModel) }
        // Fold the WAL into the main file, so its size is the database's size.
        try connection.execute(script: "PRAGMA wal_checkpoint(TRUNCATE)")
        return LoadedRegistry(
            path: path, modelNames: writer.names, versionsPerModel: versionsPerModel, transitions: writer.transitions,
            auditEntries: writer.seq, firstEventAt: Self.firstEventAt, lastEventAt: writer.lastEventAt,
            seconds: start.duration(to: clock.now).seconds)
    }
}

/// The loader's running state: the audit chain's head, model ids, and the time of each branch's
/// last move.
private struct RowWriter {
    let connection: Connection
    // Prepared once: looking a statement up by its SQL text for each of millions of rows costs
    // more than the insert.
    let insertVersion: Statement
    let insertTransition: Statement
    let insertAudit: Statement
    var names: [String]
    var modelIDs: [Int64]
    var branchMovedAt: [[Int64]]
    var seq = 0
    var previousHash = AuditChain.genesis
    var transitions = 0
    var lastEventAt = BulkLoader.firstEventAt
    var canonical: [UInt8] = []
    var random = SplitMix64(seed: 0x6D72_6567)

    init(connection: Connection, models: Int) throws {
        self.connection = connection
        insertVersion = try connection.prepare(
            """
            INSERT INTO versions (model_id, version, artifact_uri, digest, params, metrics, tags, parent, description,
                                  status, created_by, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
            """)
        insertTransition = try connection.prepare(
            """
            INSERT INTO transitions (model_id, kind, branch, from_version, to_version, actor, reason, at, gates)
            VALUES (?, ?, ?, ?, ?, ?, '', ?, '[]')
            """)
        insertAudit = try connection.prepare(
            """
            INSERT INTO audit_log (seq, at, actor, action, model, version, branch, details, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        names = (0..<models).map(BulkLoader.modelName)
        modelIDs = Array(repeating: 0, count: models)
        branchMovedAt = Array(repeating: [0, 0, 0], count: models)
        canonical.reserveCapacity(1024)
    }

    mutating func writeVersion(model: Int, version: Int) throws {
        let name = names[model]
        if version == 1 { try createModel(model) }
        let previous: Int? = version > 1 ? version - 1 : nil
        let previousJSON = version > 1 ? String(version - 1) : "null"
        let artifactURI = "s3://mreg-bench/models/\(name)/v\(version)/model.safetensors"
        let digest = BulkLoader.digest(model: name, version: version)
        let registeredAt = nextEventAt()
        try run(
            insertVersion,
            [
                modelIDs[model], version, artifactURI, digest,
                params(version), metrics(), #"{"dataset":"events-2025","team":"ranking"}"#, previous,
                version % 10 == 0 ? "weekly retrain on fresh data" : "", "ci-bot", registeredAt,
            ])
        for (branchIndex, branch) in Branch.allCases.enumerated() {
            let at = branchIndex == 0 ? registeredAt : nextEventAt()
            let kind = branch == .develop ? "register" : "promote"
            let actor = branch == .master ? "carol" : branch == .release ? "alice" : "ci-bot"
            try run(
                insertTransition,
                [
                    modelIDs[model], kind, branch.rawValue, previous, version,
                    actor, at,
                ])
            transitions += 1
            let transitionID = connection.lastInsertRowID
            let details = branch == .develop
                ? #"{"artifact_uri":"\#(artifactURI)","digest":"\#(digest)","from_version":\#(previousJSON),"kind":"register","parent":\#(previousJSON),"to_version":\#(version),"transition_id":\#(transitionID)}"#
                : #"{"from_version":\#(previousJSON),"kind":"promote","to_version":\#(version),"transition_id":\#(transitionID)}"#
            try appendAudit(
                at: at, actor: actor, action: branch == .develop ? "version.register" : "branch.promote", model: name,
                version: version, branch: branch.rawValue, details: details)
            branchMovedAt[model][branchIndex] = at
        }
    }

    /// Points every model's branches at `version`, as the last promotions left them.
    mutating func writeBranchHeads(version: Int) throws {
        for (model, id) in modelIDs.enumerated() {
            for (branchIndex, branch) in Branch.allCases.enumerated() {
                try connection.execute(
                    "UPDATE branches SET version = ?, updated_at = ? WHERE model_id = ? AND name = ?",
                    [version, branchMovedAt[model][branchIndex], id, branch.rawValue])
            }
        }
    }

    private mutating func createModel(_ model: Int) throws {
        let at = nextEventAt()
        try connection.execute(
            "INSERT INTO models (name, description, created_by, created_at) VALUES (?, '', 'ci-bot', ?)",
            [names[model], at])
        let id = connection.lastInsertRowID
        modelIDs[model] = id
        for branch in Branch.allCases {
            try connection.execute(
                "INSERT INTO branches (model_id, name, version, updated_at) VALUES (?, ?, NULL, ?)",
                [id, branch.rawValue, at])
        }
        try appendAudit(
            at: at, actor: "ci-bot", action: "model.create", model: names[model], version: nil, branch: nil,
            details: #"{"description":""}"#)
    }

    /// The time of the next audit entry: events are evenly spaced in sequence order.
    private mutating func nextEventAt() -> Int64 {
        lastEventAt = BulkLoader.firstEventAt + Int64(seq) * BulkLoader.eventSpacingMilliseconds
        return lastEventAt
    }

    private mutating func appendAudit(
        at: Int64, actor: String, action: String, model: String?, version: Int?, branch: String?, details: String
    ) throws {
        seq += 1
        canonical.removeAll(keepingCapacity: true)
        AuditChain.canonicalBytes(
            seq: seq, at: at, actor: actor, action: action, model: model, version: version, branch: branch, details: details,
            into: &canonical)
        let hash = AuditChain.hash(previous: previousHash, canonical: canonical)
        try run(
            insertAudit,
            [
                seq, at, actor, action, model,
                version, branch, details,
                previousHash, hash,
            ])
        previousHash = hash
    }

    private func run(_ statement: Statement, _ arguments: [any SQLiteBindable]) throws {
        try statement.bind(arguments)
        defer { statement.reset() }
        while try statement.step() {}
    }

    private func params(_ version: Int) -> String {
        let rates = ["0.0001", "0.0003", "0.001", "0.003"]
        return #"{"batch_size":"\#(64 << (version % 3))","epochs":"\#(10 + version % 20)","learning_rate":"\#(rates[version % 4])","optimizer":"adamw"}"#
    }

    /// Four metrics with four decimals, as a training job reports them.
    private mutating func metrics() -> String {
        func metric(_ low: Double, _ high: Double) -> Double {
            (Double.random(in: low..<high, using: &random) * 10_000).rounded() / 10_000
        }
        return #"{"accuracy":\#(metric(0.85, 0.97)),"auc":\#(metric(0.9, 0.99)),"f1":\#(metric(0.8, 0.95)),"loss":\#(metric(0.1, 0.4))}"#
    }
}
