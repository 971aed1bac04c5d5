import Foundation
import RegistryCore

/// Every figure of one run, printed as tables and written as JSON.
///
/// The JSON (`--json`), every latency in microseconds:
///
///     {
///       "meta": {"quick", "sqlite_version", "cpus", "loadavg_start", "loadavg_end", "seconds"},
///       "in_process": {"<op>": {"ops_per_s", "p50_us", "p99_us", "n"}, …},
///       "wal_cost": {"<change>": {"frames", "bytes", "trees": {"<table or index>": frames, …}}, …},
///       "limit": {"insert_txn": {…}, "point_select": {…},
///                 "register_fraction" (one caller), "register_concurrent_fraction" (32, group commit),
///                 "resolve_fraction", "resolve_rollout_fraction"},
///       "scale": {"versions", "models", "transitions", "audit_entries", "db_bytes",
///                 "bytes_per_version", "load_seconds", "load_versions_per_s",
///                 "at_1k": {"versions", "<op>": {…}, …}, "at_full": {"versions", "<op>": {…}, …},
///                 "p50_change", "p99_change": {"<op>": at_full / at_1k, …}},
///       "targets": {"<target>": {"value", "limit", "met"}, …}
///     }
///
/// `<op>` in `in_process`: register, promote, register_concurrent (32 callers through group
/// commit, with `mean_group`, registrations per commit), resolve, history_at, diff, diff_far,
/// versions_first_page, versions_deep_page, rollback, start_rollout, advance_rollout,
/// resolve_rollout, rollout_controller_round (one round of the server's rollout controller over
/// one automatic rollout per model), audit_verify. In `at_1k` / `at_full`: the reads (resolve … versions_deep_page),
/// then register, promote (to release), start_rollout, resolve_rollout, audit_verify,
/// audit_verify_state (`audit verify --state`).
/// `audit_verify` counts whole-log runs and adds `entries`, `entries_per_s` and `ok`.
/// `wal_cost` is per change, each committed alone (`WALCost`); a registration with an
/// idempotency key is three commits (claim, register, answer).
/// `insert_txn` is one-row `BEGIN IMMEDIATE; INSERT; COMMIT`; `point_select` a primary-key
/// select, both through the C API in WAL with `synchronous=NORMAL` on ~300-byte rows.
struct BenchReport {
    struct Scale {
        let loaded: LoadedRegistry
        let databaseBytes: Int
        let smallVersions: Int
        let small: FigureTable
        let full: FigureTable
    }

    struct Target {
        /// The JSON key under `targets`.
        let key: String
        let name: String
        let value: Double
        let limit: Double
        let atLeast: Bool
        let unit: String

        var met: Bool { atLeast ? value >= limit : value <= limit }
    }

    var quick: Bool
    var sqliteVersion: String
    var loadAverageAtStart: String
    var loadAverageAtEnd = ""
    var seconds = 0.0
    var insertLimit: OperationFigure
    var selectLimit: OperationFigure
    var inProcess: FigureTable
    var walCost: [WALCost.Row]
    var scale: Scale

    var registerFraction: Double { (inProcess["register"]?.opsPerSecond ?? 0) / insertLimit.opsPerSecond }
    var concurrentRegisterFraction: Double { (inProcess["register_concurrent"]?.opsPerSecond ?? 0) / insertLimit.opsPerSecond }
    var resolveFraction: Double { (inProcess["resolve"]?.opsPerSecond ?? 0) / selectLimit.opsPerSecond }
    var resolveRolloutFraction: Double { (inProcess["resolve_rollout"]?.opsPerSecond ?? 0) / selectLimit.opsPerSecond }

    var targets: [Target] {
        let full = scale.full
        let versions = Self.count(scale.loaded.versions)
        return [
            Target(key: "register_percent_of_insert_txn", name: "register rate / raw one-row transactions", value: max(registerFraction, concurrentRegisterFraction) * 100, limit: 25, atLeast: true, unit: "%"),
            Target(key: "resolve_percent_of_point_select", name: "resolve rate / raw point selects", value: resolveFraction * 100, limit: 25, atLeast: true, unit: "%"),
            Target(key: "resolve_p99_us_at_full", name: "resolve p99 at \(versions) versions", value: full["resolve"]?.p99Microseconds ?? .infinity, limit: 2_000, atLeast: false, unit: "us"),
            Target(key: "history_at_p99_us_at_full", name: "history --at p99 at \(versions) versions", value: full["history_at"]?.p99Microseconds ?? .infinity, limit: 2_000, atLeast: false, unit: "us"),
            Target(key: "diff_p99_us_at_full", name: "diff p99 at \(versions) versions", value: full["diff"]?.p99Microseconds ?? .infinity, limit: 2_000, atLeast: false, unit: "us"),
            Target(key: "audit_verify_entries_per_s_at_full", name: "audit verify at \(versions) versions", value: full["audit_verify"]?.entriesPerSecond ?? 0, limit: 1_000_000, atLeast: true, unit: "entries/s"),
        ]
    }

    // MARK: Text

    var text: String {
        var out = "mreg-bench\(quick ? " --quick (smoke run: the timings mean nothing)" : "")  SQLite \(sqliteVersion), \(ProcessInfo.processInfo.activeProcessorCount) CPUs, load average \(loadAverageAtStart) at start, \(loadAverageAtEnd) at end, \(Self.fixed(seconds, 0)) s\n"
        out += "\nLimit: raw SQLite through the C API, same disk, WAL + synchronous=NORMAL, 300-byte rows\n"
        var limit = FigureTable()
        limit.add("insert_txn (one-row transaction)", insertLimit)
        limit.add("point_select (primary key)", selectLimit)
        out += Self.table(limit)
        out += "\nIn-process: Registry, one client, file on disk\n"
        out += Self.table(inProcess)
        out += "register = \(Self.fixed(registerFraction * 100, 1)) % of raw one-row transactions with one caller, "
        out += "\(Self.fixed(concurrentRegisterFraction * 100, 1)) % with \(InProcessBenchmark.Sizes.concurrentClients) (group commit); "
        out += "resolve = \(Self.fixed(resolveFraction * 100, 1)) % of raw point selects "
        out += "(\(Self.fixed(resolveRolloutFraction * 100, 1)) % with an active rollout)\n"

        out += "\nWAL written per change, one commit at a time (frames are whole pages; by table or index, frames per change)\n"
        for row in walCost {
            out += "  \(Self.pad(row.operation, 34)) \(Self.pad(Self.fixed(row.frames, 1), 6, right: true)) frames \(Self.pad(Self.fixed(row.bytes / 1024, 1), 6, right: true)) KiB  "
            out += row.trees.map { "\($0.name) \(Self.fixed($0.frames, 1))" }.joined(separator: ", ") + "\n"
        }

        let loaded = scale.loaded
        out += "\nScale: bulk-loaded \(Self.count(loaded.versions)) versions over \(Self.count(loaded.modelNames.count)) models, "
        out += "\(Self.count(loaded.transitions)) transitions, \(Self.count(loaded.auditEntries)) audit entries "
        out += "in \(Self.fixed(loaded.seconds, 1)) s (\(Self.count(Int(Double(loaded.versions) / loaded.seconds))) versions/s)\n"
        out += "database \(Self.count(scale.databaseBytes)) bytes = \(Self.count(scale.databaseBytes / max(1, loaded.versions))) bytes per version\n"
        out += Self.comparison(scale.small, scale.full, smallVersions: scale.smallVersions, fullVersions: loaded.versions)

        out += "\nTargets\n"
        for target in targets {
            let value = target.unit == "us" ? Self.latency(target.value) : "\(Self.fixed(target.value, target.unit == "%" ? 1 : 0)) \(target.unit)"
            let limit = target.unit == "us" ? Self.latency(target.limit) : "\(Self.fixed(target.limit, 0)) \(target.unit)"
            out += "  \(Self.pad(target.name, 44)) \(Self.pad(value, 16, right: true))  \(target.atLeast ? ">=" : "<=") \(Self.pad(limit, 16))  \(target.met ? "met" : "NOT MET")\n"
        }
        return out
    }

    private static func table(_ table: FigureTable) -> String {
        var out = "  \(pad("operation", 34)) \(pad("ops/s", 12, right: true)) \(pad("p50", 10, right: true)) \(pad("p99", 10, right: true)) \(pad("n", 9, right: true))\n"
        for (name, figure) in table.rows {
            out += "  \(pad(name, 34)) \(pad(rate(figure.opsPerSecond), 12, right: true)) "
            out += "\(pad(latency(figure.p50Microseconds), 10, right: true)) \(pad(latency(figure.p99Microseconds), 10, right: true)) "
            out += "\(pad(count(figure.n), 9, right: true))"
            if let meanGroup = figure.meanGroup { out += "  \(fixed(meanGroup, 1)) registrations per commit" }
            if let entries = figure.entries, let rate = figure.entriesPerSecond {
                out += "  \(count(entries)) entries/run, \(count(Int(rate))) entries/s, \(figure.ok == true ? "ok" : "FAILED")"
            }
            out += "\n"
        }
        return out
    }

    private static func comparison(_ small: FigureTable, _ full: FigureTable, smallVersions: Int, fullVersions: Int) -> String {
        let left = "at \(count(smallVersions)) versions", right = "at \(count(fullVersions)) versions"
        var out = "  \(pad("", 22)) \(pad(left, 31)) \(pad(right, 31)) full / small\n"
        out += "  \(pad("operation", 22)) \(pad("ops/s", 11, right: true)) \(pad("p50", 9, right: true)) \(pad("p99", 9, right: true)) "
        out += "\(pad("ops/s", 11, right: true)) \(pad("p50", 9, right: true)) \(pad("p99", 9, right: true))   p50    p99\n"
        for (name, big) in full.rows {
            guard let little = small[name] else { continue }
            out += "  \(pad(name, 22)) \(pad(rate(little.opsPerSecond), 11, right: true)) "
            out += "\(pad(latency(little.p50Microseconds), 9, right: true)) \(pad(latency(little.p99Microseconds), 9, right: true)) "
            out += "\(pad(rate(big.opsPerSecond), 11, right: true)) "
            out += "\(pad(latency(big.p50Microseconds), 9, right: true)) \(pad(latency(big.p99Microseconds), 9, right: true)) "
            out += "\(pad(fixed(big.p50Microseconds / little.p50Microseconds, 2), 6, right: true)) \(pad(fixed(big.p99Microseconds / little.p99Microseconds, 2), 6, right: true))"
            if let entries = big.entries, let rate = big.entriesPerSecond {
                out += "  \(count(entries)) entries, \(count(Int(rate))) entries/s, \(big.ok == true ? "ok" : "FAILED")"
            }
            out += "\n"
        }
        return out
    }

    /// Operations per second: whole above 100, else with two decimals (a whole-log verify
    /// of millions of entries runs less than once a second).
    static func rate(_ opsPerSecond: Double) -> String {
        opsPerSecond >= 100 ? count(Int(opsPerSecond.rounded())) : fixed(opsPerSecond, 2)
    }

    static func latency(_ microseconds: Double) -> String {
        if microseconds >= 1_000_000 { return "\(fixed(microseconds / 1_000_000, 2)) s" }
        if microseconds >= 1_000 { return "\(fixed(microseconds / 1_000, 2)) ms" }
        return "\(fixed(microseconds, 1)) us"
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        return String(format: "%.\(decimals)f", value)
    }

    /// A whole number with thousands separators: 1,000,000.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, width - text.count))
        return right ? fill + text : text + fill
    }

    // MARK: JSON

    var json: JSONValue {
        func number(_ value: Double) -> JSONValue { .number(value.isFinite ? (value * 10_000).rounded() / 10_000 : 0) }
        let loaded = scale.loaded
        var changeP50: [String: JSONValue] = [:]
        var changeP99: [String: JSONValue] = [:]
        for (name, big) in scale.full.rows {
            guard let little = scale.small[name] else { continue }
            changeP50[name] = number(big.p50Microseconds / little.p50Microseconds)
            changeP99[name] = number(big.p99Microseconds / little.p99Microseconds)
        }
        var small = scale.small.json
        small["versions"] = .number(Double(scale.smallVersions))
        var full = scale.full.json
        full["versions"] = .number(Double(loaded.versions))
        return .object([
            "meta": .object([
                "quick": .bool(quick), "sqlite_version": .string(sqliteVersion),
                "cpus": .number(Double(ProcessInfo.processInfo.activeProcessorCount)),
                "loadavg_start": .string(loadAverageAtStart), "loadavg_end": .string(loadAverageAtEnd), "seconds": number(seconds),
            ]),
            "in_process": .object(inProcess.json),
            "wal_cost": .object(Dictionary(uniqueKeysWithValues: walCost.map { row in
                (row.operation, JSONValue.object([
                    "frames": number(row.frames), "bytes": number(row.bytes),
                    "trees": .object(Dictionary(uniqueKeysWithValues: row.trees.map { ($0.name, number($0.frames)) })),
                ]))
            })),
            "limit": .object([
                "insert_txn": insertLimit.json, "point_select": selectLimit.json,
                "register_fraction": number(registerFraction), "register_concurrent_fraction": number(concurrentRegisterFraction),
                "resolve_fraction": number(resolveFraction),
                "resolve_rollout_fraction": number(resolveRolloutFraction),
            ]),
            "scale": .object([
                "versions": .number(Double(loaded.versions)), "models": .number(Double(loaded.modelNames.count)),
                "transitions": .number(Double(loaded.transitions)), "audit_entries": .number(Double(loaded.auditEntries)),
                "db_bytes": .number(Double(scale.databaseBytes)),
                "bytes_per_version": number(Double(scale.databaseBytes) / Double(max(1, loaded.versions))),
                "load_seconds": number(loaded.seconds), "load_versions_per_s": number((Double(loaded.versions) / loaded.seconds).rounded()),
                "at_1k": .object(small), "at_full": .object(full),
                "p50_change": .object(changeP50), "p99_change": .object(changeP99),
            ]),
            "targets": .object(Dictionary(uniqueKeysWithValues: targets.map { target in
                (target.key, .object(["value": number(target.value), "limit": number(target.limit), "met": .bool(target.met)]))
            })),
        ])
    }
}
