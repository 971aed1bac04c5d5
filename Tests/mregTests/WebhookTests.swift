import Foundation
import MregTestSupport
import Synchronization
import Testing

/// Webhooks (contract section 10, docs/EVENTS.md): a real `mreg serve` delivering to a Python
/// receiver that checks every delivery with the `standardwebhooks` package from PyPI.
@Suite(.enabled(if: WebhookReceiver.installed, "standardwebhooks is not installed in .build/venv; `make test-tools` installs it"))
struct WebhookTests {
    /// Quick retries, so that the failure tests take seconds.
    static let serveOptions = ["--allow-private-webhooks", "--webhook-retry-wait", "0.05", "--webhook-max-retry-wait", "0.3"]

    /// Adds a webhook for the receiver and hands it the secret; returns the webhook's id.
    static func subscribe(_ registry: TemporaryRegistry, _ receiver: WebhookReceiver, _ extra: String...) async throws -> String {
        let outcome = try await registry.mreg(arguments: ["webhook", "add", "--url", receiver.url] + extra + ["--json"])
        try #require(outcome.status == 0, "\(outcome)")
        let added = try outcome.json()
        let secret = try #require(added.string("secret"))
        try receiver.use(secret: secret)
        return try #require(added.object("webhook")?.string("id"))
    }

    /// The log's events that the webhook should get, as `mreg events` prints them.
    static func expected(_ registry: TemporaryRegistry, after seq: Int, _ filters: String...) async throws -> [Int] {
        let outcome = try await registry.mreg(arguments: ["events", "--since", String(seq), "--json"] + filters)
        try #require(outcome.status == 0, "\(outcome)")
        return try outcome.stdout.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?.int("seq"))
        }
    }

    /// The webhook's delivery log, oldest first, once it holds `count` attempts (the server
    /// records them just after the receiver answers), waiting up to 10 s.
    static func attempts(_ registry: TemporaryRegistry, _ id: String, count: Int) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let page = try await registry.json("webhook", "deliveries", id)
            let items = try #require(page["items"] as? [[String: Any]])
            if items.count >= count || ContinuousClock.now > deadline { return items.reversed() }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func everyDeliveryVerifiesAndTheReceiverGetsExactlyTheEventsInOrder() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                try await registry.register("churn")
                let start = try await registry.auditEntryCount()
                let id = try await Self.subscribe(registry, receiver, "--events", "branch.*,rollout.*", "--model", "fraud")

                try await registry.register("fraud")
                _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "1")
                _ = try await registry.json("promote", "fraud", "--to", "master")
                try await registry.register("fraud")
                try await registry.register("churn")
                _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "2")
                _ = try await registry.json("promote", "churn", "--to", "release", "--version", "1")
                _ = try await registry.json("rollout", "start", "fraud", "--version", "2", "--steps", "10,50,100")
                _ = try await registry.json("rollout", "abort", "fraud", "--reason", "error rate doubled")
                _ = try await registry.json("rollback", "fraud", "--branch", "release", "--reason", "bad calibration")
                // Failed operations are no events: bad input, and a promotion its gate refuses.
                let missing = try await registry.mreg("promote", "fraud", "--to", "release", "--version", "9")
                #expect(missing.status == 3, "\(missing)")
                _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "2")
                try registry.write("policy.yaml", "release:\n  require_reports: [integration]\n")
                _ = try await registry.json("policy", "set", "fraud", "--file", "policy.yaml")
                try await registry.register("fraud")
                let refused = try await registry.mreg("promote", "fraud", "--to", "release", "--version", "3")
                #expect(refused.status == 5, "\(refused)")

                let expected = try await Self.expected(registry, after: start + 1, "--model", "fraud", "--types", "branch.*,rollout.*")
                #expect(expected.count == 7, "promote ×3, force-free start and abort, rollback, promote: \(expected)")
                let received = try await receiver.deliveries(count: expected.count)
                #expect(received.map(\.seq) == expected, "exactly the matching events, in order, each once")
                #expect(received.allSatisfy { $0.verified }, "the standardwebhooks library verified every delivery: \(received.filter { !$0.verified })")
                #expect(zip(received, expected).allSatisfy { $0.id.hasPrefix("evt_\($1)_") }, "\(received.map(\.id))")
                #expect(received.map(\.type) == [
                    "branch.promote", "branch.promote", "branch.promote", "rollout.start", "rollout.abort", "branch.rollback", "branch.promote",
                ])
                try await Task.sleep(for: .milliseconds(300))
                #expect(try receiver.log().count == expected.count, "nothing else arrived")

                let attempts = try await Self.attempts(registry, id, count: expected.count)
                #expect(attempts.compactMap { $0.int("event") } == expected)
                #expect(attempts.allSatisfy { $0.string("outcome") == "delivered" && $0.int("status") == 204 && $0.int("attempt") == 1 })
                let shown = try await registry.json("webhook", "show", id)
                #expect(shown.int("delivered_seq") ?? 0 >= expected.last ?? .max)
            }
        }
    }

    #if os(Linux)
    /// docs/EVENTS.md, "Writes come first": the deliveries run on one thread of their own at
    /// nice 10, and no other thread of the server is lowered (Dispatch raises some of its own).
    @Test func deliveriesRunOnOneThreadBelowTheRequestsPriority() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                _ = try await Self.subscribe(registry, receiver, "--events", "version.register")
                try await registry.register("fraud")
                let received = try await receiver.deliveries(count: 1)
                #expect(received.count == 1 && received[0].verified)
                let pid = try #require(registry.server?.process.pid)
                let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
                let niceness = try tasks.map { task in
                    // Field 19 of stat is the nice value; the fields after the name's `)` start at field 3.
                    let stat = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/stat", encoding: .utf8)
                    let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
                    return try #require(Int(fields[16]))
                }
                #expect(niceness.filter { $0 == 10 }.count == 1, "one delivery thread at nice 10: \(niceness)")
                #expect(niceness.filter { $0 != 10 }.allSatisfy { $0 <= 0 }, "\(niceness)")
            }
        }
    }
    #endif

    @Test func aReceiverAnswering500IsRetriedWithTheSameWebhookId() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let id = try await Self.subscribe(registry, receiver, "--events", "version.register")
                try receiver.control(fail: 2, status: 500)
                try await registry.register("fraud")
                try await registry.register("fraud")
                let log = try await receiver.requests(count: 4)
                #expect(log.map(\.status) == [500, 500, 204, 204])
                #expect(log.map(\.id) == [log[0].id, log[0].id, log[0].id, log[3].id], "every attempt at one event has its webhook-id")
                #expect(log.allSatisfy { $0.verified }, "each attempt is signed again, with its own timestamp")

                let attempts = try await Self.attempts(registry, id, count: 4)
                #expect(attempts.compactMap { $0.int("attempt") } == [1, 2, 3, 1])
                #expect(attempts.compactMap { $0.string("outcome") } == ["failed", "failed", "delivered", "delivered"])
                #expect(attempts.first?.string("error") == "the receiver answered 500")

                // A 4xx other than 408 and 429 is the receiver refusing the event: not retried.
                try receiver.control(fail: 1, status: 422)
                try await registry.register("fraud")
                try await registry.register("fraud")
                let after = try await receiver.requests(count: 6)
                #expect(after.suffix(2).map(\.status) == [422, 204], "\(after)")
                #expect(after[4].id != after[5].id, "the refused event is not sent again; the next one follows")
            }
        }
    }

    @Test func aReceiverThatWasDownGetsEverythingInOrderWhenItIsBack() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let start = try await registry.auditEntryCount()
                _ = try await Self.subscribe(registry, receiver, "--events", "version.register")
                receiver.stop()
                for _ in 1...5 { try await registry.register("fraud") }
                try await Task.sleep(for: .milliseconds(500))
                try await receiver.restart()
                let expected = try await Self.expected(registry, after: start, "--types", "version.register")
                #expect(expected.count == 5)
                let received = try await receiver.deliveries(count: 5)
                #expect(received.map(\.seq) == expected, "all of them, in order, none twice")
                #expect(received.allSatisfy { $0.verified })
            }
        }
    }

    @Test func aSubscriptionFailingTooLongIsDisabledAndSaysWhy() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions + ["--webhook-disable-after", "1"]) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let id = try await Self.subscribe(registry, receiver, "--events", "version.register")
                receiver.stop()
                try await registry.register("fraud")
                var shown: [String: Any] = [:]
                for _ in 0..<100 {
                    shown = try await registry.json("webhook", "show", id)
                    if shown["enabled"] as? Bool == false { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(shown["enabled"] as? Bool == false, "\(shown)")
                #expect(shown.string("disabled_reason")?.hasPrefix("deliveries failed for ") == true, "\(shown)")
                let log = try await registry.json("audit", "log", "--action", "webhook.disable")
                let entry = try #require((log["items"] as? [[String: Any]])?.first)
                #expect(entry.string("actor") == "system")

                // Enabled again, it delivers what waited, from where it stopped.
                try await receiver.restart()
                _ = try await registry.json("webhook", "enable", id)
                let received = try await receiver.deliveries(count: 1)
                #expect(received.first?.type == "version.register")
            }
        }
    }

    @Test func aKilledServerDeliversEveryEventAfterItsRestart() async throws {
        try await withTemporaryDirectory { directory in
            let registry = TemporaryRegistry(directory: directory.path)
            #expect(try await registry.mreg("init").status == 0)
            let token = try #require(try await registry.json("token", "create", "--name", "admin", "--role", "admin").string("token"))
            var server = try await ServeProcess(database: registry.database, directory: directory.path, options: Self.serveOptions)
            defer { server.stop() }
            let remote = ["MREG_SERVER": server.url, "MREG_TOKEN": token]
            try await WebhookReceiver.with(registry) { receiver in
                let added = try await registry.mreg(
                    "webhook", "add", "--url", receiver.url, "--events", "version.register", "--json", environment: remote)
                try receiver.use(secret: try #require(try added.json().string("secret")))
                // A slow receiver (a second an event), so that the server dies with most
                // deliveries still to make, one of them in flight.
                try receiver.control(delay: 1)
                let burst = 30
                let models = try registry.write("burst.sh", """
                    for i in $(seq 1 \(burst)); do "$1" register fraud --artifact s3://m/$i >/dev/null || exit 1; done
                    """)
                let registered = try await runProcess("/bin/sh", [models, MregBinary.path], environment: registry.environment(actor: "admin", remote), directory: directory.path)
                #expect(registered.status == 0, "\(registered)")
                let before = try receiver.log().count
                server.stop()
                #expect(before < burst, "the server died mid-burst (\(before) of \(burst) delivered)")
                try receiver.control(delay: 0)
                server = try await ServeProcess(database: registry.database, directory: directory.path, options: Self.serveOptions)
                let expected = try await Self.expected(registry, after: 0, "--types", "version.register")
                #expect(expected.count == burst)
                var received: [WebhookReceiver.Delivery] = []
                for _ in 0..<300 {
                    received = try receiver.log()
                    if Set(received.map(\.seq)).isSuperset(of: expected) { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(Set(received.map(\.seq)) == Set(expected), "every event at least once, none lost")
                var firsts: [Int] = []
                for seq in received.map(\.seq) where !firsts.contains(seq) { firsts.append(seq) }
                #expect(firsts == expected, "first arrivals in order")
                #expect(received.allSatisfy { $0.verified })
            }
        }
    }

    @Test func theReceiverLibraryRejectsATamperedDelivery() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let id = try await Self.subscribe(registry, receiver, "--events", "webhook.*")
                let tested = try await registry.json("webhook", "test", id)
                #expect(tested.string("outcome") == "delivered" && tested.string("type") == "webhook.test", "\(tested)")
                let line = try #require(try receiver.rawLog().first)
                #expect(try receiver.log().map(\.type) == ["webhook.test"], "a subscription starts after its own webhook.add")
                #expect(try await receiver.verify(line) == 0, "the delivery as sent verifies")
                var body = try #require(line["body"] as? String)
                body = body.replacingOccurrences(of: "webhook.test", with: "webhook.tost")
                #expect(try await receiver.verify(line.merging(["body": body]) { $1 }) == 1, "an edited body does not")
                var headers = try #require(line["headers"] as? [String: String])
                headers["webhook-id"] = "evt_1"
                #expect(try await receiver.verify(line.merging(["headers": headers]) { $1 }) == 1, "nor another webhook-id")
            }
        }
    }

    @Test func subscriptionsAreAuditedAndTheirSecretsSealed() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            let added = try await registry.json("webhook", "add", "--url", "http://127.0.0.1:9/hook", "--description", "deploys")
            let secret = try #require(added.string("secret"))
            #expect(secret.wholeMatch(of: /whsec_[A-Za-z0-9+\/]{32}/) != nil, "24 random bytes in base64: \(secret)")
            let id = try #require(added.object("webhook")?.string("id"))
            let listed = try await registry.mreg("webhook", "list", "--json")
            #expect(!listed.stdout.contains(secret.dropFirst(6)), "never listed")
            let key = try #require(Data(base64Encoded: String(secret.dropFirst(6))))
            for file in [registry.database, registry.database + "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data()
                #expect(bytes.range(of: key) == nil, "stored sealed, not as it is, in \(file)")
            }
            let sealed = try await registry.sqlite(registry.database, "SELECT length(secret_sealed) FROM webhooks")
            #expect(sealed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "52", "nonce, 24 bytes sealed, tag: \(sealed)")
            let keyFile = registry.database + ".secrets-key"
            let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
            #expect((attributes[.posixPermissions] as? Int) == 0o600, "the key file is its owner's alone")

            _ = try await registry.json("webhook", "disable", id, "--reason", "maintenance")
            #expect(try await registry.mreg("webhook", "disable", id).status == 4, "already disabled")
            _ = try await registry.json("webhook", "enable", id)
            _ = try await registry.json("webhook", "remove", id)
            #expect(try await registry.mreg("webhook", "show", id).status == 3)
            let log = try await registry.json("audit", "log", "--limit", "4")
            let entries = try #require(log["items"] as? [[String: Any]])
            #expect(entries.compactMap { $0.string("action") } == ["webhook.remove", "webhook.enable", "webhook.disable", "webhook.add"])
            let audit = try await registry.mreg("audit", "export")
            #expect(!audit.stdout.contains(secret.dropFirst(6)), "the audit log never holds the secret")

            // Bad input: a clear error, exit 2, nothing written.
            let count = try await registry.auditEntryCount()
            for bad in [
                ["--url", "ftp://example.com/x"], ["--url", "http://169.254.169.254/latest"], ["--url", "http://user:pw@example.com/"],
                ["--url", "http://[fe80::1]/"], ["--url", "http://127.0.0.1:9/", "--events", "a b"], ["--url", "not a url"],
            ] {
                let refused = try await registry.mreg(arguments: ["webhook", "add"] + bad)
                #expect(refused.status == 2, "\(bad): \(refused)")
            }
            #expect(try await registry.auditEntryCount() == count)
        }
    }

    /// 410 Gone is the receiver saying it will never take an event again.
    @Test func aReceiverAnswering410DisablesTheSubscription() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let id = try await Self.subscribe(registry, receiver, "--events", "version.register")
                try receiver.control(fail: 1, status: 410)
                try await registry.register("fraud")
                var shown: [String: Any] = [:]
                for _ in 0..<100 {
                    shown = try await registry.json("webhook", "show", id)
                    if shown["enabled"] as? Bool == false { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(shown["enabled"] as? Bool == false && shown.string("disabled_reason") == "the receiver answered 410 Gone", "\(shown)")
                #expect(try receiver.log().count == 1, "not retried")
            }
        }
    }

    /// A server without the key file its subscriptions' secrets were sealed with does not make
    /// a new one (which would open none of them): it refuses to start and says which file.
    @Test func aMissingKeyFileWithSubscriptionsStopsTheServer() async throws {
        try await withTemporaryRegistry(.file) { registry in
            _ = try await registry.json("webhook", "add", "--url", "http://127.0.0.1:9/hook")
            let key = registry.database + ".secrets-key"
            try FileManager.default.removeItem(atPath: key)
            let refused = try await registry.mreg("serve", "--port", "0")
            #expect(refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains("1 webhook subscription(s)") && refused.stderr.contains(key), "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: key), "no new key was made")
        }
    }

    /// A disabled subscription is sent nothing; its events wait in the log, and enabling it
    /// delivers them.
    @Test func aDisabledSubscriptionGetsItsEventsWhenEnabled() async throws {
        try await withTemporaryRegistry(.server, serveOptions: Self.serveOptions) { registry in
            try await WebhookReceiver.with(registry) { receiver in
                let id = try await Self.subscribe(registry, receiver, "--events", "version.register")
                try await registry.register("fraud")
                #expect(try await receiver.deliveries(count: 1).count == 1)
                _ = try await registry.json("webhook", "disable", id)
                try await registry.register("fraud")
                try await registry.register("fraud")
                try await Task.sleep(for: .milliseconds(700))
                #expect(try receiver.log().count == 1, "nothing is sent while it is disabled")
                _ = try await registry.json("webhook", "enable", id)
                let received = try await receiver.deliveries(count: 3)
                let versions = try received.map { delivery -> Int in
                    let line = try #require(try receiver.rawLog().first { ($0["headers"] as? [String: String])?["webhook-id"] == delivery.id })
                    let text = try #require(line["body"] as? String)
                    let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                    return try #require(body.object("data")?.int("version"))
                }
                #expect(versions == [1, 2, 3], "what waited arrives, in order")
            }
        }
    }

    /// On a file, a refused subscription leaves no key file behind.
    @Test func aRefusedSubscriptionOnAFileMakesNoKey() async throws {
        try await withTemporaryRegistry(.file) { registry in
            let refused = try await registry.mreg("webhook", "add", "--url", "gopher://example.com/")
            #expect(refused.status == 2, "\(refused)")
            #expect(!FileManager.default.fileExists(atPath: registry.database + ".secrets-key"))
            let added = try await registry.mreg("webhook", "add", "--url", "http://127.0.0.1:9/hook", "--json")
            #expect(added.status == 0, "\(added)")
            #expect(FileManager.default.fileExists(atPath: registry.database + ".secrets-key"))
        }
    }

    @Test func withoutAllowingPrivateAddressesTheServerRefusesLoopback() async throws {
        try await withTemporaryRegistry(.server) { registry in
            let refused = try await registry.mreg("webhook", "add", "--url", "http://127.0.0.1:9/hook")
            #expect(refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains("--allow-private-webhooks"), "\(refused)")
        }
    }
}

/// The Python receiver (Fixtures/webhook_receiver.py) in a directory of its own.
final class WebhookReceiver: Sendable {
    static let python = packageRoot + "/.build/venv/bin/python"
    static let installed = FileManager.default.isExecutableFile(atPath: python)
        && FileManager.default.fileExists(atPath: packageRoot + "/.build/venv/.standardwebhooks-1.3.0")
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    let directory: String
    let port: Int
    private let program: Mutex<BackgroundProgram>
    var url: String { "http://127.0.0.1:\(port)/hooks/mreg" }

    private init(directory: String, program: BackgroundProgram, port: Int) {
        self.directory = directory
        self.program = Mutex(program)
        self.port = port
    }

    static func start(in directory: String, port: Int) async throws -> (BackgroundProgram, Int) {
        let program = try await BackgroundProgram(
            python, [RemoteModeTests.fixture("webhook_receiver.py"), "serve", String(port), directory], directory: directory)
        return (program, try #require(Int(try await program.firstLine())))
    }

    static func with(_ registry: TemporaryRegistry, _ body: (WebhookReceiver) async throws -> Void) async throws {
        let directory = registry.file("receiver")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let (program, port) = try await start(in: directory, port: 0)
        let receiver = WebhookReceiver(directory: directory, program: program, port: port)
        defer { receiver.stop() }
        try await body(receiver)
    }

    func stop() { program.withLock { $0.stop() } }

    /// Starts it again on the same port.
    func restart() async throws {
        let (program, _) = try await Self.start(in: directory, port: port)
        self.program.withLock { $0 = program }
    }

    func use(secret: String) throws {
        try Data(secret.utf8).write(to: URL(fileURLWithPath: directory + "/secret"))
    }

    /// Answers the next `fail` deliveries with `status`; waits `delay` seconds before each answer.
    func control(fail: Int = 0, status: Int = 500, delay: Double = 0) throws {
        let control: [String: Any] = ["fail": fail, "status": status, "delay": delay]
        try JSONSerialization.data(withJSONObject: control).write(to: URL(fileURLWithPath: directory + "/control"))
    }

    struct Delivery: Sendable {
        let id: String
        let seq: Int
        let type: String
        let status: Int
        let verified: Bool
    }

    func rawLog() throws -> [[String: Any]] {
        let text = (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? ""
        return try text.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
    }

    /// Every request it got, in arrival order.
    func log() throws -> [Delivery] {
        try rawLog().map { line in
            let headers = try #require(line["headers"] as? [String: String])
            let text = try #require(line["body"] as? String)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            return Delivery(
                id: headers["webhook-id"] ?? "", seq: body.object("data")?.int("seq") ?? 0, type: body.string("type") ?? "",
                status: line.int("status") ?? 0, verified: line["verified"] as? Bool == true)
        }
    }

    /// The first `count` requests, waiting up to 20 s for them.
    func requests(count: Int) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let log = try log()
            if log.count >= count || ContinuousClock.now > deadline { return log }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The first `count` deliveries it took (answered 2xx), waiting up to 20 s for them.
    func deliveries(count: Int) async throws -> [Delivery] {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let taken = try log().filter { (200..<300).contains($0.status) }
            if taken.count >= count || ContinuousClock.now > deadline { return taken }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// The library's verdict on a logged request: 0 verified, 1 refused.
    func verify(_ line: [String: Any]) async throws -> Int32 {
        let secret = try String(contentsOfFile: directory + "/secret", encoding: .utf8)
        let input = directory + "/verify-\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: line).write(to: URL(fileURLWithPath: input))
        let outcome = try await runProcess("/bin/sh", ["-c", "\"$0\" \"$1\" verify \"$2\" < \"$3\"", Self.python, RemoteModeTests.fixture("webhook_receiver.py"), secret, input],
            environment: ProcessInfo.processInfo.environment, directory: directory)
        return outcome.status
    }
}
