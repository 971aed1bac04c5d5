import Foundation
import MregTestSupport
import Testing

/// `mreg` through a server (`--server`, contract section 9): the same answers as on the file,
/// exit codes from problem documents, retries that never write twice, TLS, and the global
/// options on either side of the command.
@Suite struct RemoteModeTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    static let policy = """
        release:
          require_reports: [unit]
          thresholds: {accuracy: ">= 0.90"}
        master:
          approvals: {count: 2, exclude_registrant: true}
          rollout: {steps: [50, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 1}
        """

    static let junit = """
        <testsuite name="unit" tests="3" failures="0" errors="0" skipped="1" time="1.5">
          <properties><property name="coverage" value="0.87"/></properties>
          <testcase name="a"/><testcase name="b"/><testcase name="c"><skipped/></testcase>
        </testsuite>
        """

    /// One step of the script both modes run: the arguments, and who acts.
    struct Step: CustomStringConvertible {
        let arguments: [String]
        var actor = "tester"
        var description: String { "mreg \(arguments.joined(separator: " ")) (as \(actor))" }
    }

    /// Every command that has a REST route, on success and on each way it fails, with and
    /// without `--json`. Files are named relative to the registry's directory (every process's
    /// working directory), so that messages naming them are the same in both runs.
    static func script(_ registry: TemporaryRegistry) throws -> [Step] {
        let (junit, load, broken, policy, badPolicy) = ("junit.xml", "load.json", "broken.json", "policy.yaml", "bad-policy.yaml")
        try registry.write(junit, Self.junit)
        try registry.write(load, #"{"status": "passed", "tests": 12, "metrics": {"p99_ms": 38}}"#)
        try registry.write(broken, #"{"status": "sometimes"}"#)
        try registry.write(policy, Self.policy)
        try registry.write(badPolicy, "release: {thresholds: {accuracy: 'about 0.9'}}")
        let steps: [[String]] = [
            ["model", "create", "fraud", "--description", "Card fraud"],
            ["model", "create", "fraud"],
            ["model", "create", "Not-A-Name!"],
            ["model", "list"],
            ["model", "show", "fraud"],
            ["model", "show", "nope"],
            ["register", "fraud", "--artifact", "s3://m/1", "--digest", digest, "--param", "lr=0.1", "--metric", "accuracy=0.95",
             "--tag", "team=risk", "--description", "first"],
            ["register", "fraud", "--artifact", "s3://m/2", "--metric", "accuracy=0.80", "--parent", "1"],
            ["register", "fraud", "--artifact", "s3://m/3", "--digest", digest],
            ["register", "fraud", "--artifact", "s3://m/3", "--parent", "9"],
            ["versions", "fraud"],
            ["versions", "fraud", "--limit", "1"],
            ["show", "fraud", "1"],
            ["show", "fraud", "develop"],
            ["show", "fraud", "9"],
            ["show", "fraud", "master"],
            ["show", "fraud", "develop@2999-01-01T00:00:00+01:00"],
            ["report", "add", "fraud", "1", "--suite", "unit", "--junit", junit, "--metric", "f1=0.81"],
            ["report", "add", "fraud", "1", "--suite", "load", "--file", load],
            ["report", "add", "fraud", "1", "--suite", "smoke", "--status", "passed", "--metric", "p50_ms=4"],
            ["report", "add", "fraud", "1", "--suite", "bad", "--file", broken],
            ["report", "add", "fraud", "7", "--suite", "smoke", "--status", "failed"],
            ["reports", "fraud", "1"],
            ["policy", "set", "fraud", "--file", badPolicy],
            ["policy", "set", "fraud", "--file", policy],
            ["policy", "show", "fraud"],
            ["promote", "fraud", "--to", "release", "--version", "2"],
            ["promote", "fraud", "--to", "release", "--version", "1", "--dry-run"],
            ["promote", "fraud", "--to", "release", "--version", "1", "--expect", "3"],
            ["promote", "fraud", "--to", "release", "--version", "1"],
            ["promote", "fraud", "--to", "release", "--version", "1"],
            ["promote", "fraud", "--to", "master"],
            ["rollout", "start", "fraud", "--version", "1"],
        ]
        let approvals: [Step] = [
            Step(arguments: ["approve", "fraud", "1", "--to", "master", "--comment", "looks right"], actor: "alice"),
            Step(arguments: ["approve", "fraud", "1", "--to", "master"], actor: "bob"),
            Step(arguments: ["approve", "fraud", "1", "--to", "master"], actor: "bob"),
        ]
        let rest: [[String]] = [
            ["rollout", "start", "fraud", "--version", "1", "--steps", "50,100"],
            ["rollout", "start", "fraud", "--version", "1"],
            ["rollout", "status", "fraud"],
            ["resolve", "fraud", "--key", "user-1"],
            ["resolve", "fraud", "--key", "user-2"],
            ["rollout", "observe", "fraud", "--metric", "error_rate=0.01"],
            ["rollout", "pause", "fraud"],
            ["rollout", "resume", "fraud"],
            ["rollout", "advance", "fraud"],
            ["rollout", "advance", "fraud"],
            ["rollout", "advance", "fraud"],
            ["history", "fraud"],
            ["history", "fraud", "--branch", "master", "--limit", "1"],
            ["history", "fraud", "--at", "2999-01-01T00:00:00Z"],
            ["diff", "fraud", "1", "2"],
            ["diff", "fraud", "develop", "master"],
            ["diff", "fraud", "1", "9"],
            ["rollback", "fraud", "--branch", "release", "--reason", "bad calibration"],
            ["rollback", "fraud", "--reason", "error rate doubled", "--to", "2"],
            ["deprecate", "fraud", "2", "--reason", "superseded"],
            ["promote", "fraud", "--to", "release", "--version", "2"],
            ["rollout", "abort", "fraud", "--reason", "none running"],
            ["audit", "log", "--limit", "4"],
            ["audit", "log", "--action", "branch.promote"],
            ["audit", "log", "--actor", "bob"],
            ["audit", "verify"],
            ["audit", "export"],
            ["audit", "export", "--format", "csv"],
            ["backup", "--to", "copy.db"],
            ["backup", "--to", "copy.db"],
            ["token", "create", "--name", "ci", "--role", "engineer"],
            ["token", "revoke", "tok_000000000000"],
            ["token", "list"],
        ]
        return steps.map { Step(arguments: $0) } + approvals + rest.map { Step(arguments: $0) }
    }

    /// What may differ between two runs of the same script: times (RFC 3339, and milliseconds
    /// since the epoch in the audit export), hashes (they cover the times), token secrets and
    /// ids, and the padding that follows from them.
    static func normalized(_ text: String) -> String {
        text.replacing(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/, with: "<time>")
            .replacing(/\b1\d{12}\b/.wordBoundaryKind(.simple), with: "<ms>")
            .replacing(/\(\d+[smhd] ago\)|\d+[smhd] ago|in \d+[smhd]/, with: "<ago>")
            .replacing(/[0-9a-f]{64}/, with: "<hash>")
            .replacing(/mreg_[0-9a-f]{48}/, with: "<secret>")
            .replacing(/tok_[0-9a-f]{12}/, with: "<token id>")
            // Table columns are padded to their widest cell, and "9s ago" and "10s ago" differ in width.
            .replacing(/\ {2,}/, with: "  ")
    }

    /// Runs the script and returns, per step, its exit status and what it printed, normalised.
    static func run(_ registry: TemporaryRegistry, json: Bool) async throws -> [(status: Int32, stdout: String, stderr: String)] {
        var results: [(Int32, String, String)] = []
        for step in try script(registry) {
            let outcome = try await registry.mreg(arguments: step.arguments + (json ? ["--json"] : []), actor: step.actor)
            results.append((outcome.status, normalized(outcome.stdout), normalized(outcome.stderr)))
        }
        return results
    }

    /// A file registry set up like a server one (the same tokens made first), so that both
    /// audit logs have the same shape.
    static func withFileRegistryLikeAServer(_ body: (TemporaryRegistry) async throws -> Void) async throws {
        try await withTemporaryRegistry(.file) { registry in
            for actor in TemporaryRegistry.actors { _ = try await registry.json("token", "create", "--name", actor, "--role", "admin") }
            try await body(registry)
        }
    }

    @Test(arguments: [true, false])
    func everyCommandAnswersTheSameOnTheFileAndThroughAServer(json: Bool) async throws {
        var onFile: [(status: Int32, stdout: String, stderr: String)] = []
        try await Self.withFileRegistryLikeAServer { onFile = try await Self.run($0, json: json) }
        var throughServer: [(status: Int32, stdout: String, stderr: String)] = []
        var steps: [Step] = []
        try await withTemporaryRegistry(.server) { registry in
            steps = try Self.script(registry)
            throughServer = try await Self.run(registry, json: json)
        }
        try #require(onFile.count == throughServer.count)
        for (index, step) in steps.enumerated() {
            let (file, server) = (onFile[index], throughServer[index])
            #expect(file.status == server.status, "\(step): exit \(file.status) on the file, \(server.status) through the server\n\(server.stderr)")
            #expect(file.stdout == server.stdout, "\(step): stdout differs\n--- file\n\(file.stdout)\n--- server\n\(server.stdout)")
            #expect(file.stderr == server.stderr, "\(step): stderr differs\n--- file\n\(file.stderr)\n--- server\n\(server.stderr)")
        }
        // The script reaches every failure code a file can give (a file acts as admin, so 6
        // comes only from a server: see permissionRefusalsAreExit6).
        let codes = Set(onFile.map(\.status))
        #expect(codes.isSuperset(of: [0, 2, 3, 4, 5]), "the script should reach exit codes 0, 2, 3, 4 and 5; it reached \(codes.sorted())")
    }

    @Test func permissionRefusalsAreExit6() async throws {
        try await withTemporaryRegistry(.server) { registry in
            let reader = try await runProcess(
                MregBinary.path, ["token", "create", "--name", "dashboard", "--role", "reader", "--json"],
                environment: registry.environment(), directory: registry.directory)
            let readerToken = try #require(try reader.json().string("token"), "\(reader)")

            let refused = try await registry.mreg("register", "fraud", "--artifact", "s3://m/1", environment: ["MREG_TOKEN": readerToken])
            #expect(refused.status == 6, "\(refused)")
            #expect(refused.stderr == "error: POST /v1/models/{name}/versions needs the engineer role; dashboard is reader\n", "\(refused)")

            let unknown = try await registry.mreg("model", "list", environment: ["MREG_TOKEN": "mreg_" + String(repeating: "0", count: 48)])
            #expect(unknown.status == 6, "\(unknown)")
            #expect(unknown.stderr.contains("the bearer token is unknown or revoked"), "\(unknown)")

            let none = try await registry.mreg("model", "list", environment: ["MREG_TOKEN": ""])
            #expect(none.status == 6, "\(none)")
            #expect(none.stderr.contains("give a token with --token, $MREG_TOKEN or --token-file"), "\(none)")

            let fromFile = try registry.write("token.txt", "  \(readerToken)\n")
            let listed = try await registry.mreg("model", "list", "--json", "--token-file", fromFile, environment: ["MREG_TOKEN": ""])
            #expect(listed.status == 0, "--token-file is read, whitespace trimmed: \(listed)")
        }
    }

    @Test func anUnreachableServerIsExit1WithOneSentence() async throws {
        try await withTemporaryRegistry { registry in
            let refusing = try Self.refusingPort()
            defer { refusing.shutdown() }
            let port = refusing.port
            let outcome = try await registry.mreg("model", "list", "--server", "http://127.0.0.1:\(port)", "--token", "t", environment: ["MREG_DB": ""])
            #expect(outcome.status == 1, "\(outcome)")
            #expect(outcome.stderr == "error: cannot reach http://127.0.0.1:\(port): connection refused (tried 4 times)\n", "\(outcome)")
            #expect(outcome.stdout.isEmpty)

            let badURL = try await registry.mreg("model", "list", "--server", "ftp://example.com", "--token", "t", environment: ["MREG_DB": ""])
            #expect(badURL.status == 2, "\(badURL)")
            #expect(badURL.stderr.contains("--server must be an http:// or https:// URL"), "\(badURL)")

            let both = try await registry.mreg("model", "list", "--server", "http://127.0.0.1:\(port)", "--db", registry.database)
            #expect(both.status == 2, "\(both)")
        }
    }

    @Test func aServerThatNeverAnswersIsATimeout() async throws {
        try await withTemporaryRegistry { registry in
            // A socket that listens but never accepts: connections complete in the backlog and
            // requests go unanswered.
            let silent = try SilentListener()
            defer { silent.shutdown() }
            let url = "http://127.0.0.1:\(silent.port)"
            let outcome = try await registry.mreg("model", "show", "fraud", "--server", url, "--token", "t", "--timeout", "0.3")
            #expect(outcome.status == 1, "\(outcome)")
            #expect(outcome.stderr.hasPrefix("error: \(url) did not answer within 0.3 s"), "\(outcome)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "one sentence: \(outcome)")
        }
    }

    /// How the test proxy fails the first request it is told to (Fixtures/drop_answer_proxy.py).
    enum ProxyFault: String {
        /// Forwards it, then closes the connection without the answer.
        case close
        /// Forwards it, then resets the connection.
        case reset
        /// Answers 503 in plain text without forwarding it, as a load balancer does.
        case gateway
    }

    /// Runs `body` with the test proxy in front of the registry's server, failing the first
    /// request that starts with `prefix`; `body` gets the proxy's URL and the requests it saw.
    static func withLosingProxy(
        _ registry: TemporaryRegistry, losing prefix: String, _ fault: ProxyFault = .close,
        _ body: (_ url: String, _ requests: () throws -> [[String: Any]]) async throws -> Void
    ) async throws {
        let server = try #require(registry.server)
        let log = registry.file("proxy-\(UUID().uuidString).log")
        let proxy = try await BackgroundProgram(
            "/usr/bin/env", ["python3", fixture("drop_answer_proxy.py"), String(server.process.port), prefix, log, fault.rawValue],
            directory: registry.directory)
        defer { proxy.stop() }
        let requests = {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            return try text.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
        }
        try await body("http://127.0.0.1:\(try await proxy.firstLine())", requests)
    }

    @Test func aLostAnswerIsRetriedWithTheSameKeyAndWritesOnce() async throws {
        try await withTemporaryRegistry(.server) { registry in
            try await Self.withLosingProxy(registry, losing: "POST /v1/models/fraud/versions") { url, log in
                let outcome = try await registry.mreg("register", "fraud", "--artifact", "s3://m/1", "--json", environment: ["MREG_SERVER": url])
                #expect(outcome.status == 0, "\(outcome)")
                #expect(try outcome.json().int("version") == 1, "the CLI prints the version the first attempt made: \(outcome)")

                let requests = try log()
                let registrations = requests.filter { ($0["request"] as? String)?.hasPrefix("POST /v1/models/fraud/versions") == true }
                #expect(registrations.count == 2, "the lost answer is asked for again: \(requests)")
                #expect(registrations.first?.bool("dropped") == true)
                #expect(registrations.last?.bool("replayed") == true, "the server answers the repeat from its record: \(requests)")
                let keys = Set(registrations.compactMap { $0["idempotency_key"] as? String })
                #expect(keys.count == 1, "both attempts carry one Idempotency-Key: \(registrations)")

                let versions = try await registry.json("versions", "fraud")
                #expect((versions["items"] as? [Any])?.count == 1, "exactly one version exists: \(versions)")
            }
        }
    }

    @Test(arguments: [ProxyFault.close, .reset])
    func aChangeWithoutAKeyIsNotSentTwice(fault: ProxyFault) async throws {
        try await withTemporaryRegistry(.server) { registry in
            for _ in 1...3 { try await registry.register("fraud") }
            for version in 1...3 { _ = try await registry.json("promote", "fraud", "--to", "release", "--version", String(version)) }
            try await Self.withLosingProxy(registry, losing: "POST /v1/models/fraud/rollback", fault) { url, log in
                let outcome = try await registry.mreg(
                    "rollback", "fraud", "--branch", "release", "--reason", "bad", environment: ["MREG_SERVER": url])
                #expect(outcome.status == 1, "\(outcome)")
                #expect(outcome.stderr.contains("the change may have been made, so it was not sent again"), "\(outcome)")
                let rollbacks = try log().filter { ($0["request"] as? String)?.contains("/rollback") == true }
                #expect(rollbacks.count == 1, "a rollback without a key may have been made, so it is not sent again: \(rollbacks)")
                #expect(try await registry.branches("fraud").release == 2, "the one attempt rolled back once, v3 → v2")
            }
        }
    }

    @Test func aGatewaysUnavailableIsRetriedAndAProblemIsNot() async throws {
        try await withTemporaryRegistry(.server) { registry in
            try await Self.withLosingProxy(registry, losing: "POST /v1/models/fraud/versions", .gateway) { url, log in
                let outcome = try await registry.mreg("register", "fraud", "--artifact", "s3://m/1", "--json", environment: ["MREG_SERVER": url])
                #expect(outcome.status == 0, "\(outcome)")
                let registrations = try log().filter { ($0["request"] as? String)?.hasPrefix("POST /v1/models/fraud/versions") == true }
                #expect(registrations.map { $0["status"] as? Int } == [503, 201], "\(registrations)")
                #expect(registrations.first?.bool("forwarded") == false)

                // mreg's own 503 (this server has no checkpoint key) is an answer, not a gateway's.
                let checkpoint = try await registry.mreg("audit", "checkpoint", environment: ["MREG_SERVER": url])
                #expect(checkpoint.status == 1, "\(checkpoint)")
                #expect(checkpoint.stderr.contains("no checkpoint signing key"), "\(checkpoint)")
                #expect(try log().filter { ($0["request"] as? String)?.contains("/v1/audit/checkpoint") == true }.count == 1)
            }
            #expect((try await registry.json("versions", "fraud")["items"] as? [Any])?.count == 1)
        }
    }

    @Test func httpsWithTheTeamsCAAndARefusedCertificate() async throws {
        try await withTemporaryRegistry { registry in
            let openssl = try #require(executableOnPath("openssl"), "openssl is needed to make the test CA")
            let dir = registry.directory
            for arguments in [
                ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mreg test CA"],
                ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
                ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
                 "-days", "2", "-extfile", try registry.write("ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")],
            ] {
                let made = try await runProcess(openssl, arguments, environment: registry.environment(), directory: dir)
                try #require(made.status == 0, "openssl \(arguments.joined(separator: " ")): \(made)")
            }
            let server = try await ServeProcess(
                database: registry.database, directory: dir, options: ["--tls-cert", registry.file("server.pem"), "--tls-key", registry.file("server.key")])
            defer { server.stop() }
            #expect(server.url.hasPrefix("https://"), "\(server.stderr)")
            let token = try #require(server.firstToken, "\(server.stderr)")
            let remote = ["MREG_SERVER": server.url, "MREG_TOKEN": token]

            let trusted = try await registry.mreg("register", "fraud", "--artifact", "s3://m/1", "--json", "--cacert", registry.file("ca.pem"), environment: remote)
            #expect(trusted.status == 0, "\(trusted)")
            #expect(try trusted.json().string("created_by") == "admin")

            let untrusted = try await registry.mreg("show", "fraud", "1", environment: remote)
            #expect(untrusted.status == 1, "\(untrusted)")
            #expect(
                untrusted.stderr == "error: the TLS handshake with \(server.url) failed: its certificate is not trusted (CERTIFICATE_VERIFY_FAILED); give the CA that signed it with --cacert FILE\n",
                "\(untrusted)")

            let notPEM = try await registry.mreg("show", "fraud", "1", "--cacert", registry.write("nothing.pem", "not a certificate"), environment: remote)
            #expect(notPEM.status == 2, "\(notPEM)")
            #expect(notPEM.stderr.contains("cannot read a PEM certificate from --cacert"), "\(notPEM)")
        }
    }

    @Test(arguments: RegistryMode.allCases)
    func globalOptionsStandBeforeOrAfterTheCommand(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            var location: [String] = ["--db", registry.database]
            if let server = registry.server {
                location = ["--server", server.process.url, "--token", try #require(server.tokens["tester"])]
            }
            let before = try await registry.mreg(arguments: location + ["--json", "register", "fraud", "--artifact", "s3://m/1"], environment: ["MREG_DB": "", "MREG_SERVER": ""])
            #expect(before.status == 0, "\(before)")
            #expect(try before.json().int("version") == 1)
            let after = try await registry.mreg(arguments: ["show", "fraud", "1"] + location + ["--json"], environment: ["MREG_DB": "", "MREG_SERVER": ""])
            #expect(after.status == 0, "\(after)")
            #expect(try after.json().string("artifact_uri") == "s3://m/1")
            let split = try await registry.mreg(arguments: ["--json", "versions"] + location + ["fraud"], environment: ["MREG_DB": "", "MREG_SERVER": ""])
            #expect(split.status == 0, "\(split)")
            #expect(try split.items().count == 1)
        }
    }

    @Test func initStaysOnTheFile() async throws {
        try await withTemporaryRegistry(.server) { registry in
            let initialised = try await registry.mreg("init")
            #expect(initialised.status == 2, "\(initialised)")
            #expect(initialised.stderr.contains("mreg init works on a database file on this machine, not through a server"), "\(initialised)")
            let onFile = try await registry.mreg("--db", registry.database, "init", "--json", environment: ["MREG_SERVER": ""])
            #expect(onFile.status == 0, "\(onFile)")
        }
    }

    @Test func aBackupThroughAServerIsWrittenHereAndOpensAsARegistry() async throws {
        try await withTemporaryRegistry(.server) { registry in
            try await registry.register("fraud", artifact: "s3://m/1")
            let copy = registry.file("copy.db")
            let written = try await registry.json("backup", "--to", copy)
            #expect(written.string("backup") == copy)
            let verified = try await registry.mreg("audit", "verify", "--db", copy, "--json", environment: ["MREG_SERVER": ""])
            #expect(verified.status == 0, "\(verified)")
            #expect(try verified.json().int("entries") == registry.setupEntries + 2)
            let shown = try await registry.mreg("show", "fraud", "1", "--db", copy, "--json", environment: ["MREG_SERVER": ""])
            #expect(try shown.json().string("artifact_uri") == "s3://m/1", "\(shown)")

            let reader = try await runProcess(
                MregBinary.path, ["token", "create", "--name", "viewer", "--role", "reader", "--json"],
                environment: registry.environment(), directory: registry.directory)
            let readerToken = try #require(try reader.json().string("token"), "\(reader)")
            let refused = try await registry.mreg("backup", "--to", registry.file("other.db"), environment: ["MREG_TOKEN": readerToken])
            #expect(refused.status == 6, "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: registry.file("other.db")), "a refused backup leaves no file")
        }
    }

    // MARK: Helpers

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    /// A loopback port that refuses connections: bound, never listening, so no other test can
    /// take it while it is held.
    static func refusingPort() throws -> SilentListener { try SilentListener(listening: false) }
}

/// A loopback TCP socket that listens and never accepts.
/// `@unchecked Sendable`: the descriptor and port are set once; closing is the owner's last act.
final class SilentListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32

    /// - Parameter listening: `false` binds the port without listening, so connections are refused.
    init(listening: Bool = true) throws {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EBADF) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && (!listening || listen(descriptor, 16) == 0)
                    && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else {
            close(descriptor)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func shutdown() { close(descriptor) }
}

/// A helper program running beside a test (the proxy), stopped at the end.
final class BackgroundProgram: Sendable {
    private let process: ChildProcess
    private let stdoutPath: String
    private let stderrPath: String

    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String) async throws {
        let name = "\(directory)/background-\(UUID().uuidString)"
        (stdoutPath, stderrPath) = (name + ".out", name + ".err")
        process = try ChildProcess(executable, arguments, environment: environment, directory: directory, stdout: stdoutPath, stderr: stderrPath)
    }

    /// The first `count` lines it prints, waiting up to 30 s for them.
    func lines(_ count: Int) async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let lines = Self.read(stdoutPath).split(separator: "\n").map(String.init)
            if lines.count >= count { return Array(lines.prefix(count)) }
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw Silent(running: process.isRunning, stderr: Self.read(stderrPath) + "\n(it printed \(lines.count) of \(count) lines)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The first line it prints, waiting up to 30 s for it.
    ///
    /// The file is read once more after the deadline: under a full test run this task may not
    /// be resumed from its sleep for seconds, and a line printed meanwhile still counts.
    func firstLine() async throws -> String {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let text = Self.read(stdoutPath)
            if let end = text.firstIndex(of: "\n") { return String(text[..<end]) }
            guard process.isRunning, ContinuousClock.now < deadline else {
                throw Silent(running: process.isRunning, stderr: Self.read(stderrPath))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct Silent: Error, CustomStringConvertible {
        let running: Bool
        let stderr: String
        var description: String {
            (running ? "printed no line within 30 s" : "exited before printing a line") + "; its stderr:\n" + stderr
        }
    }

    private static func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    /// SIGKILL: the test process may hand its children SIGTERM ignored.
    func stop() { process.stop() }
}
