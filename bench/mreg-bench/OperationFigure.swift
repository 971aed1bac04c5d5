import RegistryCore

/// The figures of one measured operation: throughput over the timed loop, and latency
/// percentiles of the individual calls (nearest rank on the sorted samples).
struct OperationFigure {
    var opsPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var n: Int
    /// For `audit verify`: entries per run, entries checked per second, and whether it verified.
    var entries: Int?
    var entriesPerSecond: Double?
    var ok: Bool?
    /// For concurrent registrations: writes per commit.
    var meanGroup: Double?

    init(samples: [Duration], total: Duration) {
        let sorted = samples.map(\.microseconds).sorted()
        n = sorted.count
        opsPerSecond = total.seconds > 0 ? Double(n) / total.seconds : 0
        p50Microseconds = Self.percentile(sorted, 0.50)
        p99Microseconds = Self.percentile(sorted, 0.99)
    }

    /// Nearest-rank percentile: the smallest sample with at least `fraction` of all samples at
    /// or below it.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "ops_per_s": .number(opsPerSecond >= 100 ? opsPerSecond.rounded() : Self.twoDecimals(opsPerSecond)),
            "p50_us": .number(Self.twoDecimals(p50Microseconds)),
            "p99_us": .number(Self.twoDecimals(p99Microseconds)),
            "n": .number(Double(n)),
        ]
        if let entries { object["entries"] = .number(Double(entries)) }
        if let entriesPerSecond { object["entries_per_s"] = .number(entriesPerSecond.rounded()) }
        if let ok { object["ok"] = .bool(ok) }
        if let meanGroup { object["mean_group"] = .number(Self.twoDecimals(meanGroup)) }
        return .object(object)
    }

    private static func twoDecimals(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}

/// Times `n` calls of `body` one by one with `ContinuousClock`.
/// - Parameter body: called with 0 ..< n.
func measure(_ n: Int, _ body: (Int) async throws -> Void) async throws -> OperationFigure {
    let clock = ContinuousClock()
    var samples: [Duration] = []
    samples.reserveCapacity(n)
    let start = clock.now
    for index in 0..<n {
        let before = clock.now
        try await body(index)
        samples.append(before.duration(to: clock.now))
    }
    return OperationFigure(samples: samples, total: start.duration(to: clock.now))
}

/// Times `runs` whole-log verifications; the figure's `entries_per_s` is entries over time.
/// Whole-log verifications; with `state`, the tables checked against the log as well
/// (`audit verify --state`).
func measureAuditVerify(_ registry: Registry, runs: Int, state: Bool = false) async throws -> OperationFigure {
    var verification: AuditVerification?
    var figure = try await measure(runs) { _ in verification = try registry.verifyAudit(state: state) }
    guard let verification else { return figure }
    figure.entries = verification.entries
    figure.entriesPerSecond = figure.opsPerSecond * Double(verification.entries)
    figure.ok = verification.ok
    return figure
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var microseconds: Double { Double(components.seconds) * 1e6 + Double(components.attoseconds) / 1e12 }
}
