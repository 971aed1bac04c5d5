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

/// Writes a registry database through `RegistryBulkWriter` (the registry's own row writers),
/// many changes per transaction, as if every version had been registered and then promoted to
/// release and master one at a time: per version one `versions` row, three `transitions`
/// (register on develop, promote to release, promote to master) and their three hash-chained
/// `audit_log` entries, so `verifyAudit` accepts the result.
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
        var writer = RowWriter(writer: RegistryBulkWriter(connection: connection), models: models)
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
        // Fold the WAL into the main file, so its size is the database's size.
        try connection.execute(script: "PRAGMA wal_checkpoint(TRUNCATE)")
        return LoadedRegistry(
            path: path, modelNames: writer.names, versionsPerModel: versionsPerModel, transitions: writer.transitions,
            auditEntries: writer.seq, firstEventAt: Self.firstEventAt, lastEventAt: writer.lastEventAt,
            seconds: start.duration(to: clock.now).seconds)
    }
}

/// The loader's running state: the number of events so far (which spaces their times) and
/// the generator of the metrics.
private struct RowWriter {
    let writer: RegistryBulkWriter
    let names: [String]
    var seq = 0
    var transitions = 0
    var lastEventAt = BulkLoader.firstEventAt
    var random = SplitMix64(seed: 0x6D72_6567)

    init(writer: RegistryBulkWriter, models: Int) {
        self.writer = writer
        names = (0..<models).map(BulkLoader.modelName)
    }

    mutating func writeVersion(model: Int, version: Int) throws {
        let name = names[model]
        if version == 1 { try writer.createModel(name, actor: "ci-bot", at: nextEventAt()) }
        let request = RegisterRequest(
            artifactURI: "s3://mreg-bench/models/\(name)/v\(version)/model.safetensors",
            digest: BulkLoader.digest(model: name, version: version), params: params(version), metrics: metrics(),
            tags: ["dataset": "events-2025", "team": "ranking"], parent: version > 1 ? version - 1 : nil,
            description: version % 10 == 0 ? "weekly retrain on fresh data" : "")
        _ = try writer.register(model: name, request, actor: "ci-bot", at: nextEventAt())
        try writer.promote(model: name, to: .release, version: version, actor: "alice", at: nextEventAt())
        try writer.promote(model: name, to: .master, version: version, actor: "carol", at: nextEventAt())
        transitions += 3
    }

    /// The time of the next event: events are evenly spaced in audit sequence order.
    private mutating func nextEventAt() -> Timestamp {
        lastEventAt = BulkLoader.firstEventAt + Int64(seq) * BulkLoader.eventSpacingMilliseconds
        seq += 1
        return Timestamp(millisecondsSinceEpoch: lastEventAt)
    }

    private func params(_ version: Int) -> [String: String] {
        let rates = ["0.0001", "0.0003", "0.001", "0.003"]
        return [
            "batch_size": String(64 << (version % 3)), "epochs": String(10 + version % 20), "learning_rate": rates[version % 4],
            "optimizer": "adamw",
        ]
    }

    /// Four metrics with four decimals, as a training job reports them.
    private mutating func metrics() -> [String: Double] {
        func metric(_ low: Double, _ high: Double) -> Double {
            (Double.random(in: low..<high, using: &random) * 10_000).rounded() / 10_000
        }
        return ["accuracy": metric(0.85, 0.97), "auc": metric(0.9, 0.99), "f1": metric(0.8, 0.95), "loss": metric(0.1, 0.4)]
    }
}
