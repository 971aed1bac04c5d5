import Foundation
import MregTestSupport
import SQLite
import Synchronization
import Testing

@testable import RegistryCore

/// Runs `body` with a registry on a real file (`mreg.db`) in a fresh temporary directory; the
/// directory and everything in it are removed afterwards, whether `body` returns or throws.
/// - Parameter clock: the registry's source of times; pin it with a `TestClock`.
func withTemporaryRegistry<T>(
    clock: @escaping @Sendable () -> Timestamp = Timestamp.now, _ body: (Registry) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let registry = try Registry(path: directory.file("mreg.db"), clock: clock)
        return try await body(registry)
    }
}

/// A settable clock, safe to read from the registry's threads while a test sets it.
final class TestClock: Sendable {
    private let current: Mutex<Timestamp>

    init(_ start: Timestamp = TestClock.time("2026-11-22T10:00:00Z")) {
        current = Mutex(start)
    }

    /// The time the registry reads.
    func callAsFunction() -> Timestamp { current.withLock { $0 } }

    func set(_ time: Timestamp) { current.withLock { $0 = time } }

    func advance(milliseconds: Int64) {
        current.withLock { $0 = Timestamp(millisecondsSinceEpoch: $0.millisecondsSinceEpoch + milliseconds) }
    }

    /// A time written in RFC 3339; a typo in a test is a programming error.
    static func time(_ text: String) -> Timestamp {
        guard let time = Timestamp(rfc3339: text) else { preconditionFailure("\(text) is not an RFC 3339 time") }
        return time
    }
}

// MARK: Callers

extension Caller {
    /// The CLI's caller: admin, as the contract says for work on the file directly.
    static let alice = Caller(name: "alice", role: .admin)
    static let bob = Caller(name: "bob", role: .releaseManager)
    static let carol = Caller(name: "carol", role: .releaseManager)
    static let eve = Caller(name: "eve", role: .engineer)
    static let ruth = Caller(name: "ruth", role: .reader)
}

// MARK: Expectations

/// Expects `body` to throw a `RegistryError` with `code`, and returns the error for further checks.
@discardableResult
func expectError<R>(
    _ code: RegistryError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> R
) async -> RegistryError? {
    let error = await #expect(throws: RegistryError.self, sourceLocation: sourceLocation) { _ = try await body() }
    if let error {
        #expect(error.code == code, "got \(error.code.rawValue): \(error.message)", sourceLocation: sourceLocation)
    }
    return error
}

/// `|a - b| <= tolerance`.
func isClose(_ a: Double?, _ b: Double, tolerance: Double = 1e-9) -> Bool {
    guard let a else { return false }
    return abs(a - b) <= tolerance
}

extension JSONValue {
    var number: Double? { if case .number(let value) = self { value } else { nil } }
}

// MARK: Building registry content

/// `sha256:` and 64 hex digits made from `seed`.
func digest(_ seed: Int) -> String {
    let hex = String(seed, radix: 16)
    return "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
}

extension Registry {
    /// Registers a version with a generated artifact URI, as alice unless told otherwise.
    @discardableResult
    func registerVersion(
        _ model: String = "fraud-scorer", metrics: [String: Double] = [:], params: [String: String] = [:],
        tags: [String: String] = [:], parent: Int? = nil, digest: String? = nil, by caller: Caller = .alice
    ) async throws -> ModelVersion {
        try await register(
            model: model,
            RegisterRequest(
                artifactURI: "s3://models/\(model)/\(UUID().uuidString)", digest: digest, params: params, metrics: metrics,
                tags: tags, parent: parent),
            by: caller)
    }

    /// Promotes onto `branch` (the head of the branch below unless `version` is given).
    @discardableResult
    func promoteVersion(
        _ model: String = "fraud-scorer", to branch: Branch, version: Int? = nil, by caller: Caller = .alice
    ) async throws -> TransitionResult {
        try await promote(model: model, PromoteRequest(to: branch, version: version), by: caller)
    }

    /// Registers a version and walks it up to `master`.
    @discardableResult
    func shipVersion(_ model: String = "fraud-scorer", metrics: [String: Double] = [:]) async throws -> Int {
        let version = try await registerVersion(model, metrics: metrics).version
        try await promoteVersion(model, to: .release, version: version)
        try await promoteVersion(model, to: .master, version: version)
        return version
    }

    /// Attaches a JSON-style report.
    @discardableResult
    func addReport(
        _ model: String = "fraud-scorer", version: Int, suite: String, status: TestReport.Status,
        metrics: [String: Double] = [:], by caller: Caller = .alice
    ) async throws -> TestReport {
        let submission = ReportSubmission(suite: suite, status: status, tests: 1, failures: status == .failed ? 1 : 0, metrics: metrics)
        return try await addReport(
            model: model, version: version, submission, document: Array("\(suite) \(status) \(UUID())".utf8), by: caller)
    }

    /// The gates a dry-run promotion reports, by name.
    func dryRunGates(_ model: String = "fraud-scorer", to branch: Branch, version: Int? = nil) async throws -> [String: GateResult] {
        let result = try await promote(model: model, PromoteRequest(to: branch, version: version, dryRun: true), by: .alice)
        return Dictionary(result.gates.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Every audit entry, oldest first.
    func allAuditEntries() throws -> [AuditEntry] {
        try auditEntries(after: 0, through: try auditHead(), limit: .max)
    }

    var path: String { database.path }
}

// MARK: Looking at the file from outside the registry

/// Every row of every table of the database at `path` (and its schema), read through a
/// connection of its own, in primary-key (or rowid) order: two dumps are equal only when the
/// database holds exactly the same bytes in every row.
func dumpDatabase(at path: String) throws -> [String: [Row]] {
    let connection = try Connection(path: path)
    var dump: [String: [Row]] = [:]
    dump["sqlite_schema"] = try connection.query("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
    let tables = try connection.query(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).map { try $0.string(0) }
    for table in tables {
        let keys = try connection.query(
            "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", [table]
        ).map { try $0.string(0) }
        let order = keys.isEmpty ? "rowid" : keys.map { "\"\($0)\"" }.joined(separator: ", ")
        dump[table] = try connection.query("SELECT * FROM \"\(table)\" ORDER BY \(order)")
    }
    return dump
}

/// Where the test sources live, found through `#filePath` (the fixtures are not a resource).
enum SourceTree {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let fixtures = testsDirectory.appendingPathComponent("Fixtures", isDirectory: true)
    static let packageRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let migrations = packageRoot.appendingPathComponent("migrations", isDirectory: true)
}
