import RegistryCore

/// Measured operations in the order they ran, by name (`register`, `resolve`, …).
struct FigureTable {
    private(set) var rows: [(name: String, figure: OperationFigure)] = []

    mutating func add(_ name: String, _ figure: OperationFigure) { rows.append((name, figure)) }

    subscript(name: String) -> OperationFigure? { rows.first { $0.name == name }?.figure }

    /// `{"register": {"ops_per_s": …, "p50_us": …, "p99_us": …, "n": …}, …}`
    var json: [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0.figure.json) })
    }
}

/// A check of the harness itself failed: an operation answered something the workload did not
/// set up, so its figures would not measure what they claim.
struct BenchFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws(BenchFailure) {
    guard condition else { throw BenchFailure(message()) }
}

/// The callers and request bodies the workloads send.
enum Workload {
    static let engineer = Caller(name: "ci-bot", role: .engineer)
    static let releaseManager = Caller(name: "carol", role: .releaseManager)
    static let admin = Caller(name: "ops", role: .admin)
    static let rolloutSteps: [RolloutStep] = [5, 25, 50, 100]
    /// A rollout policy with two query guards, as docs/ROLLOUT.md's worked example has.
    static let queryGuardPolicy = """
        master:
          rollout:
            guards:
              error_rate:
                query: sum(rate(errors_total{model="{{model}}",version="{{candidate}}"}[2m])) / sum(rate(requests_total{model="{{model}}",version="{{candidate}}"}[2m]))
                max: 0.02
              error_ratio:
                query: sum(rate(errors_total{model="{{model}}",version="{{candidate}}"}[2m])) / sum(rate(requests_total{model="{{model}}",version="{{candidate}}"}[2m]))
                max_ratio_to_baseline: 1.5
        """

    /// A version as a training pipeline registers it: artifact, digest, lineage, a few params,
    /// metrics and tags (the same shape the bulk loader writes).
    static func registerRequest(model: String, version: Int, random: inout SplitMix64) -> RegisterRequest {
        func metric(_ low: Double, _ high: Double) -> Double {
            (Double.random(in: low..<high, using: &random) * 10_000).rounded() / 10_000
        }
        return RegisterRequest(
            artifactURI: "s3://mreg-bench/models/\(model)/v\(version)/model.safetensors",
            digest: BulkLoader.digest(model: model, version: version),
            params: [
                "batch_size": String(64 << (version % 3)), "epochs": String(10 + version % 20),
                "learning_rate": ["0.0001", "0.0003", "0.001", "0.003"][version % 4], "optimizer": "adamw",
            ],
            metrics: ["accuracy": metric(0.85, 0.97), "auc": metric(0.9, 0.99), "f1": metric(0.8, 0.95), "loss": metric(0.1, 0.4)],
            tags: ["dataset": "events-2025", "team": "ranking"],
            parent: version > 1 ? version - 1 : nil,
            description: version % 10 == 0 ? "weekly retrain on fresh data" : "")
    }

    /// Request keys for `resolve`, made before timing starts.
    static let requestKeys: [String] = (0..<4096).map { "user-\($0 &* 2_654_435_761 % 1_000_003)" }

    /// The cursor `versions` hands out for the page that starts below `version`: base64url,
    /// unpadded, of `k1:<version>` (RegistryCore's `Cursor`). The workloads check it against a
    /// cursor the registry returned before using it.
    static func versionsCursor(before version: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let bytes = Array("k1:\(version)".utf8)
        var out = ""
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var bits = 0
            for byte in chunk { bits = bits << 8 | Int(byte) }
            bits <<= 8 * (3 - chunk.count)
            for position in 0...chunk.count { out.append(alphabet[(bits >> (18 - 6 * position)) & 63]) }
            index += 3
        }
        return out
    }
}
