import Foundation
import MregTestSupport
import Testing

/// What a finished process left behind: its exit status and everything it wrote.
struct ProcessOutcome: Sendable, CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    /// stdout parsed as one JSON object (what `--json` prints).
    func json(sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed])
        return try #require(parsed as? [String: Any], "stdout is not a JSON object: \(self)", sourceLocation: sourceLocation)
    }

    /// The `items` of a JSON list answer (`{items: [...], next_cursor: …}`).
    func items(sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let object = try json(sourceLocation: sourceLocation)
        return try #require(object["items"] as? [[String: Any]], "no items in \(self)", sourceLocation: sourceLocation)
    }

    var description: String { "exit \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)" }
}

extension Dictionary where Key == String, Value == Any {
    func int(_ key: String) -> Int? { self[key] as? Int }
    func double(_ key: String) -> Double? { (self[key] as? NSNumber)?.doubleValue }
    func string(_ key: String) -> String? { self[key] as? String }
    func bool(_ key: String) -> Bool? { self[key] as? Bool }
    func object(_ key: String) -> [String: Any]? { self[key] as? [String: Any] }
    func objects(_ key: String) -> [[String: Any]]? { self[key] as? [[String: Any]] }
    /// True when the key is present and holds JSON `null` (absent keys are not null).
    func isNull(_ key: String) -> Bool { self[key] is NSNull }
    var keySet: Set<String> { Set(keys) }
}

/// The first executable called `name` on `$PATH`.
func executableOnPath(_ name: String) -> String? {
    let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
    return directories.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs a program to completion without blocking a thread while it runs.
///
/// Output goes to files rather than pipes so that a large output (an audit export) cannot
/// fill a pipe buffer and stall the child. A child still running after `timeout` is killed,
/// so a hang fails its test instead of stalling the whole run.
func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String], directory: String,
    timeout: Duration = .seconds(120)
) async throws -> ProcessOutcome {
    let token = UUID().uuidString
    let stdoutPath = "\(directory)/.stdout-\(token)"
    let stderrPath = "\(directory)/.stderr-\(token)"
    defer {
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
    let child = try ChildProcess(
        executable, arguments, environment: environment, directory: directory, stdout: stdoutPath, stderr: stderrPath)
    let finished = try await child.wait(upTo: timeout) != nil
    child.stop()
    let status = child.terminationStatus ?? -1
    let stdout = String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self)
    var stderr = String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self)
    if !finished {
        stderr += "\n(killed after \(timeout))"
    } else if !child.exitedNormally {
        stderr += "\n(killed by signal \(status))"
    }
    return ProcessOutcome(status: status, stdout: stdout, stderr: stderr)
}

/// How the `mreg` under test reaches the registry: on the database file, or through a real
/// `mreg serve` on that same file (remote mode, `$MREG_SERVER` and `$MREG_TOKEN`). The command
/// tests run in both, and must see the same exit codes and JSON.
enum RegistryMode: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case file, server

    var testDescription: String { rawValue }
}

/// A registry database in a directory of its own, and the `mreg` binary to work on it.
struct TemporaryRegistry: Sendable {
    /// The directory holding the database; also the working directory of every process.
    let directory: String
    let mode: RegistryMode
    /// In server mode: the server, and an admin token per actor the tests act as (named after
    /// the actor, since through a server the token's name is the actor).
    let server: (process: ServeProcess, tokens: [String: String])?

    /// The actors of the command tests; server mode makes a token for each before the test.
    static let actors = ["tester", "admin", "alice", "bob", "carol", "oncall"]

    /// The audit entries written before the test began: creating those tokens.
    var setupEntries: Int { server?.tokens.count ?? 0 }

    init(directory: String, mode: RegistryMode = .file, server: (process: ServeProcess, tokens: [String: String])? = nil) {
        self.directory = directory
        self.mode = mode
        self.server = server
    }

    /// The database every `mreg` call uses (through `$MREG_DB`) unless told otherwise.
    var database: String { file("registry.db") }

    func file(_ name: String) -> String { directory + "/" + name }

    /// Writes `contents` to `name` in the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ contents: String) throws -> String {
        let path = file(name)
        try Data(contents.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// The environment of a child: the test's own, minus any `MREG_*` it may carry, plus this
    /// registry's database, a fixed actor, and no colour.
    func environment(actor: String = "tester", _ overrides: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MREG_") }
        environment["MREG_DB"] = database
        environment["MREG_ACTOR"] = actor
        environment["NO_COLOR"] = "1"
        environment.merge(overrides) { $1 }
        return environment
    }

    /// Runs `mreg` with `arguments`.
    /// - Parameters:
    ///   - actor: `$MREG_ACTOR` for the run (pass `--actor` in `arguments` to test the flag).
    ///   - environment: more variables, overriding the defaults (`MREG_DB: ""` unsets the database).
    func mreg(_ arguments: String..., actor: String = "tester", environment: [String: String] = [:]) async throws -> ProcessOutcome {
        try await mreg(arguments: arguments, actor: actor, environment: environment)
    }

    func mreg(arguments: [String], actor: String = "tester", environment: [String: String] = [:]) async throws -> ProcessOutcome {
        var variables = try mregEnvironment(actor: actor)
        variables.merge(environment) { $1 }
        return try await runProcess(MregBinary.path, arguments, environment: variables, directory: directory)
    }

    /// The environment `mreg` runs in for `actor`: this registry's file, or in `.server` mode
    /// the server's URL and the actor's token.
    func mregEnvironment(actor: String = "tester") throws -> [String: String] {
        var variables = self.environment(actor: actor)
        if let server {
            variables["MREG_SERVER"] = server.process.url
            let token: String = try #require(server.tokens[actor], "no token for \(actor): add it to TemporaryRegistry.actors")
            variables["MREG_TOKEN"] = token
        }
        return variables
    }

    /// Runs `mreg … --json`, expects exit 0 and returns the JSON object it printed.
    func json(_ arguments: String..., actor: String = "tester", sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        let outcome = try await mreg(arguments: arguments + ["--json"], actor: actor)
        try #require(outcome.status == 0, "mreg \(arguments.joined(separator: " ")): \(outcome)", sourceLocation: sourceLocation)
        return try outcome.json(sourceLocation: sourceLocation)
    }

    /// Registers a version and returns its number.
    @discardableResult
    func register(
        _ model: String, _ extra: String..., artifact: String? = nil, actor: String = "tester",
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        let arguments = ["register", model, "--artifact", artifact ?? "s3://models/\(model)/\(UUID().uuidString)"] + extra + ["--json"]
        let outcome = try await mreg(arguments: arguments, actor: actor)
        try #require(outcome.status == 0, "register: \(outcome)", sourceLocation: sourceLocation)
        return try #require(try outcome.json(sourceLocation: sourceLocation).int("version"), sourceLocation: sourceLocation)
    }

    /// How many audit entries the chain holds (`mreg audit verify`).
    func auditEntryCount(sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int {
        let verification = try await json("audit", "verify", sourceLocation: sourceLocation)
        return try #require(verification.int("entries"), sourceLocation: sourceLocation)
    }

    /// The version each branch holds now.
    func branches(_ model: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> BranchHeads {
        let shown = try await json("model", "show", model, sourceLocation: sourceLocation)
        let branches = try #require(shown.object("branches"), sourceLocation: sourceLocation)
        return BranchHeads(develop: branches.int("develop"), release: branches.int("release"), master: branches.int("master"))
    }

    /// Runs SQL on a database file with the `sqlite3` shell, else Python's `sqlite3` module,
    /// behind mreg's back (to tamper with it, or to check it).
    func sqlite(_ database: String, _ sql: String) async throws -> ProcessOutcome {
        if let shell = executableOnPath("sqlite3") {
            return try await runProcess(shell, ["-batch", database, sql], environment: environment(), directory: directory)
        }
        let python = try #require(executableOnPath("python3"), "neither sqlite3 nor python3 is on PATH")
        let script = """
            import sqlite3, sys
            connection = sqlite3.connect(sys.argv[1], isolation_level=None)
            rows = []
            for statement in [s for s in sys.argv[2].split(";") if s.strip()]:
                rows = connection.execute(statement).fetchall()
            for row in rows:
                print("|".join(str(value) for value in row))
            """
        return try await runProcess(python, ["-c", script, database, sql], environment: environment(), directory: directory)
    }
}

/// The version each branch of a model points at (`nil`: none).
struct BranchHeads: Equatable, Sendable, CustomStringConvertible {
    var develop: Int?
    var release: Int?
    var master: Int?

    var description: String { "develop \(develop.map(String.init) ?? "-"), release \(release.map(String.init) ?? "-"), master \(master.map(String.init) ?? "-")" }
}

/// Runs `body` with a registry in a fresh temporary directory, removed afterwards whether
/// `body` returns or throws; in `.server` mode with `mreg serve` running on it, stopped
/// afterwards.
/// - Parameter serveOptions: more options for `mreg serve` in `.server` mode.
func withTemporaryRegistry<T>(
    _ mode: RegistryMode = .file, serveOptions: [String] = [], _ body: (TemporaryRegistry) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let local = TemporaryRegistry(directory: directory.path)
        // The database exists before the test, as a team's does once `mreg init` made it:
        // commands that only read never create it.
        let created = try await local.mreg("init")
        try #require(created.status == 0, "mreg init: \(created)")
        guard mode == .server else { return try await body(local) }
        var tokens: [String: String] = [:]
        for actor in TemporaryRegistry.actors {
            let issued = try await local.json("token", "create", "--name", actor, "--role", "admin")
            let token: String = try #require(issued.string("token"))
            tokens[actor] = token
        }
        let server = try await ServeProcess(database: local.database, directory: directory.path, options: serveOptions)
        defer { server.stop() }
        return try await body(TemporaryRegistry(directory: directory.path, mode: .server, server: (server, tokens)))
    }
}

/// An RFC 3339 UTC time with milliseconds, as mreg prints them.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}

/// The current time, with a pause either side so that it falls strictly between two steps
/// whose timestamps have millisecond resolution.
func instantBetweenSteps() async throws -> String {
    try await Task.sleep(for: .milliseconds(30))
    let now = rfc3339(Date())
    try await Task.sleep(for: .milliseconds(30))
    return now
}

/// `2026-11-22T16:48:55.123Z`.
func isRFC3339Milliseconds(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
}

func isSHA256Hex(_ text: String?) -> Bool {
    guard let text else { return false }
    return text.wholeMatch(of: /[0-9a-f]{64}/) != nil
}
