import AsyncHTTPClient
import Foundation
import Logging
import MregTestSupport
import NIOCore
import RegistryClient
import RegistryCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import RegistryServer

/// The live event stream, `GET /v1/events` (contract section 10, docs/EVENTS.md), read over real
/// connections from a server running as `mreg serve` runs it: by the CLI's own client, and by
/// a bare HTTP client where the stream's bytes matter. Serialized: the test of 200 clients
/// loads the machine, and the others measure time.
@Suite(.serialized) struct EventStreamTests {
    static let setup = Caller(name: "setup", role: .admin)

    /// Every change is one event, in the log's order, and a change that failed is none.
    @Test func aStreamCarriesEveryChangeInOrderAndAFailedChangeNone() async throws {
        try await withLiveServer { server in
            let start = try server.registry.auditHead()
            let follower = server.follow(after: start)
            let registry = server.registry
            _ = try await registry.createModel(name: "fraud", by: Self.setup)
            let v1 = try await registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/1"), by: Self.setup).version
            _ = try await registry.setPolicy(model: "fraud", document: "release:\n  require_reports: [integration]\n", by: Self.setup)
            // Refused by its gate: no entry, so no event.
            await #expect(throws: RegistryError.self) {
                _ = try await registry.promote(model: "fraud", PromoteRequest(to: .release, version: v1), by: Self.setup)
            }
            _ = try await registry.promote(model: "fraud", PromoteRequest(to: .release, version: v1, reason: "hotfix", force: true), by: Self.setup)
            _ = try await registry.promote(model: "fraud", PromoteRequest(to: .master, version: v1, reason: "hotfix", force: true), by: Self.setup)
            let v2 = try await registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/2"), by: Self.setup).version
            _ = try await registry.promote(model: "fraud", PromoteRequest(to: .release, version: v2, reason: "try", force: true), by: Self.setup)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: v2, steps: [10, 50, 100]), by: Self.setup)
            _ = try await registry.abortRollout(model: "fraud", reason: "errors up", by: Self.setup)
            _ = try await registry.rollback(model: "fraud", RollbackRequest(branch: .release, to: v1, reason: "back"), by: Self.setup)

            let logged = try registry.auditEntries(after: start, through: try registry.auditHead())
            let received = try await follower.collect(count: logged.count)
            #expect(received.map(\.seq) == logged.map(\.seq))
            #expect(received == logged, "an event is its audit entry, field for field")
            #expect(received.map(\.action) == [
                "model.create", "version.register", "policy.set", "branch.force", "branch.force", "version.register", "branch.force",
                "rollout.start", "rollout.abort", "branch.rollback",
            ])
            follower.stop()
        }
    }

    /// A client that drops in the middle of a burst and comes back with `Last-Event-ID` gets
    /// the rest: no gap, no event twice.
    @Test func aClientThatDropsMidBurstResumesWithoutGapOrDuplicate() async throws {
        try await withLiveServer { server in
            let start = try server.registry.auditHead()
            _ = try await server.registry.createModel(name: "burst", by: Self.setup)
            let first = server.follow(after: start)
            let burst = Task {
                for index in 0..<400 {
                    _ = try await server.registry.register(model: "burst", RegisterRequest(artifactURI: "s3://b/\(index)"), by: Self.setup)
                }
            }
            let before = try await first.collect(count: 150)
            first.stop()
            let resumed = server.follow(after: try #require(before.last?.seq))
            try await burst.value
            let total = try server.registry.auditHead() - start
            let after = try await resumed.collect(count: total - before.count)
            resumed.stop()
            #expect((before + after).map(\.seq) == Array((start + 1)...(start + total)))
        }
    }

    /// Many streams at once each get the whole burst, in order. Read as bare bytes (the ids of
    /// the messages): 200 clients decoding 200,000 entries would test the decoder, not the stream.
    @Test func twoHundredClientsEachReceiveABurstOfAThousand() async throws {
        try await withLiveServer { server in
            _ = try await server.registry.createModel(name: "wide", by: Self.setup)
            let start = try server.registry.auditHead()
            let expected = Array((start + 1)...(start + 1000))
            try await withThrowingTaskGroup(of: [Int].self) { readers in
                for _ in 0..<200 {
                    readers.addTask { try await server.ids(after: start, count: 1000) }
                }
                try await withThrowingTaskGroup(of: Void.self) { writers in
                    for writer in 0..<8 {
                        writers.addTask {
                            for index in 0..<125 {
                                _ = try await server.registry.register(
                                    model: "wide", RegisterRequest(artifactURI: "s3://w/\(writer)/\(index)"), by: Self.setup)
                            }
                        }
                    }
                    try await writers.waitForAll()
                }
                var clients = 0
                for try await ids in readers {
                    #expect(ids == expected, "got \(ids.count) ids, first \(ids.first ?? -1), last \(ids.last ?? -1)")
                    clients += 1
                }
                #expect(clients == 200)
            }
        }
    }

    /// A stream that ends at a given seq is finished even when the server is shutting down (the
    /// hub stopped), so that ending early never looks like ending.
    @Test func aBoundedStreamIsFinishedDuringShutdown() async throws {
        try await withTemporaryDirectory { directory in
            let registry = try Registry(path: directory.file("mreg.db"))
            for index in 0..<30 {
                _ = try await registry.register(model: "m", RegisterRequest(artifactURI: "s3://m/\(index)"), by: Self.setup)
            }
            let hub = try EventHub(registry: registry)
            hub.stop()
            let routes = EventRoutes(registry: registry, hub: hub, heartbeat: .seconds(15))
            let written = Written()
            try await routes.stream(after: 0, through: try registry.auditHead(), .all) { bytes in written.append(bytes) }
            let ids = written.text.split(separator: "\n").filter { $0.hasPrefix("event: ") }.count
            #expect(ids == 31)
        }
    }

    final class Written: Sendable {
        private let bytes = Mutex<[UInt8]>([])
        func append(_ piece: [UInt8]) { bytes.withLock { $0.append(contentsOf: piece) } }
        var text: String { String(decoding: bytes.withLock { $0 }, as: UTF8.self) }
    }

    /// Through the router as every route is tested: `follow=false` answers the log and ends.
    @Test func withoutFollowTheAnswerIsTheLogSoFar() async throws {
        try await withTestServer { server in
            try await server.ship()
            let reply = try await server.send(.get, "/v1/events?since=0&follow=false&types=branch.*", as: .reader)
            reply.expect(.ok)
            // The opening message's id says where the stream starts; the others are events.
            let ids = reply.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }.compactMap { Int($0.dropFirst(4)) }.dropFirst()
            let moves = try server.registry.auditLog(AuditQuery(limit: 100)).items.filter { $0.action.hasPrefix("branch.") }
            #expect(Array(ids) == moves.map(\.seq).reversed())
            #expect(ids.count == 2)
            try await server.send(.get, "/v1/events?since=-3", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    /// `model` and `types` choose events; `follow=false` ends the stream at the head; the
    /// stream's bytes are `id`, `event` and `data` lines, and heartbeats keep a quiet one open.
    @Test func filtersHeartbeatsAndTheWireFormat() async throws {
        try await withLiveServer(heartbeat: .milliseconds(200)) { server in
            let registry = server.registry
            for model in ["a", "b"] {
                let version = try await registry.register(model: model, RegisterRequest(artifactURI: "s3://\(model)/1"), by: Self.setup).version
                _ = try await registry.promote(model: model, PromoteRequest(to: .release, version: version), by: Self.setup)
            }
            let chosen = try await server.read("/v1/events?since=0&follow=false&model=a&types=branch.*,model.*")
            #expect(chosen.status == 200)
            #expect(chosen.contentType == "text/event-stream")
            let promoted = try #require(try registry.auditLog(AuditQuery(model: "a", action: "branch.promote")).items.first)
            let created = try #require(try registry.auditLog(AuditQuery(model: "a", action: "model.create")).items.first)
            let expected = ": mreg events after 0\nid: 0\nretry: 1000\n\n" + [created, promoted].map { entry in
                "id: \(entry.seq)\nevent: \(entry.action)\ndata: \(JSONCoding.text(entry))\n\n"
            }.joined()
            #expect(chosen.body == expected)

            let everything = try await server.read("/v1/events?since=0&follow=false")
            #expect(everything.body.components(separatedBy: "\nevent: ").count - 1 == (try registry.auditHead()))

            // Resuming: Last-Event-ID wins over since.
            let resumed = try await server.read("/v1/events?since=0&follow=false&types=*", headers: [("Last-Event-ID", "\(promoted.seq)")])
            #expect(resumed.body.hasPrefix(": mreg events after \(promoted.seq)\n"))
            #expect(!resumed.body.contains("\"seq\":\(promoted.seq),"))

            // A quiet stream sends a heartbeat every 200 ms.
            let quiet = try await server.read("/v1/events", for: .milliseconds(900))
            #expect(quiet.body.components(separatedBy: ": heartbeat\n\n").count - 1 >= 2, "\(quiet.body)")

            // So does one whose filter passes over every event of a busy log.
            let busy = Task {
                for index in 0..<200 {
                    _ = try await registry.register(model: "b", RegisterRequest(artifactURI: "s3://b/busy/\(index)"), by: Self.setup)
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
            let passedOver = try await server.read("/v1/events?model=nobody", for: .milliseconds(900))
            busy.cancel()
            #expect(!passedOver.body.contains("\nevent: "))
            #expect(passedOver.body.components(separatedBy: ": heartbeat\n\n").count - 1 >= 2, "\(passedOver.body)")
        }
    }

    @Test func badParametersAreRefusedAndNoTokenIsUnauthenticated() async throws {
        try await withLiveServer { server in
            for (query, header, words) in [
                ("since=-1", nil, "since"), ("since=ten", nil, "since"), ("types=branch.*,,", nil, "types"),
                ("types=a%20b", nil, "types"), ("model=", nil, "model"), ("follow=maybe", nil, "follow"),
                ("", "x", "Last-Event-ID"),
            ] as [(String, String?, String)] {
                let reply = try await server.read("/v1/events?\(query)", headers: header.map { [("Last-Event-ID", $0)] } ?? [])
                #expect(reply.status == 400, "\(query) \(header ?? ""): \(reply.body)")
                #expect(reply.body.contains(words), "\(reply.body)")
            }
            let anonymous = try await server.read("/v1/events", token: nil)
            #expect(anonymous.status == 401)

            // A client that has seen more than this log holds (a restored file) must start over.
            let head = try server.registry.auditHead()
            for start in [("since=\(head + 1)", [(String, String)]()), ("", [("Last-Event-ID", "\(head + 5)")])] {
                let ahead = try await server.read("/v1/events?\(start.0)", headers: start.1)
                #expect(ahead.status == 409, "\(ahead.body)")
                #expect(ahead.body.contains("past the newest event"), "\(ahead.body)")
            }
        }
    }

    /// Shutting the server down ends open streams rather than waiting on them, and the metrics
    /// count them while they are open.
    @Test func openStreamsAreCountedAndShutdownEndsThem() async throws {
        let (stopping, followers) = try await withLiveServer { server in
            let followers = (0..<3).map { _ in server.follow(after: 0) }
            let deadline = ContinuousClock.now + .seconds(20)
            var open = 0
            while ContinuousClock.now < deadline {
                let metrics = try await server.read("/metrics", token: nil)
                open = metrics.body.split(separator: "\n").first { $0.hasPrefix("mreg_events_streams_open ") }
                    .flatMap { Double($0.split(separator: " ")[1]) }.map(Int.init) ?? -1
                if open == 3 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(open == 3)
            return (ContinuousClock.now, followers)
        }
        // Waiting on them would never end: a followed stream only ends when one side leaves.
        #expect(ContinuousClock.now - stopping < .seconds(30), "the server stopped without waiting on its open streams")
        for follower in followers { follower.stop() }
    }
}

// MARK: A server on a real port

/// A registry served as `mreg serve` serves it, on a free loopback port.
struct LiveServer: Sendable {
    let registry: Registry
    let url: String
    let tokens: Tokens
    let http: HTTPClient

    /// What a bare client read from a stream.
    struct Read: Sendable {
        let status: Int
        let contentType: String?
        let body: String
    }

    /// Reads `path` until the server ends the answer, or for `duration` at most.
    func read(
        _ path: String, token role: Role? = .reader, headers: [(String, String)] = [], for duration: Duration = .seconds(30)
    ) async throws -> Read {
        var request = HTTPClientRequest(url: url + path)
        if let role { request.headers.add(name: "Authorization", value: "Bearer \(tokens[role])") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = Mutex<[UInt8]>([])
        let reading = Task {
            for try await piece in response.body { body.withLock { $0.append(contentsOf: piece.readableBytesView) } }
        }
        let timer = Task {
            try await Task.sleep(for: duration)
            reading.cancel()
        }
        _ = await reading.result
        timer.cancel()
        return Read(
            status: Int(response.status.code), contentType: response.headers.first(name: "Content-Type"),
            body: String(decoding: body.withLock { $0 }, as: UTF8.self))
    }

    /// The ids of the first `count` events after `seq`, read over a connection of its own.
    func ids(after seq: Int, count: Int) async throws -> [Int] {
        var request = HTTPClientRequest(url: url + "/v1/events")
        request.headers.add(name: "Authorization", value: "Bearer \(tokens[.reader])")
        request.headers.add(name: "Last-Event-ID", value: String(seq))
        // The deadline covers the whole answer, body included.
        let response = try await http.execute(request, timeout: .seconds(120))
        var ids: [Int] = []
        var pending = ""
        for try await piece in response.body {
            // Whole pieces at once: a debug build's per-byte access to a ByteBuffer is what
            // this would otherwise measure.
            pending += String(buffer: piece)
            guard let end = pending.lastIndex(of: "\n") else { continue }
            for line in pending[..<end].split(separator: "\n") where line.hasPrefix("id: ") {
                // The opening message names where the stream starts with an id of its own.
                guard let id = Int(line.dropFirst(4)), id > seq else { continue }
                ids.append(id)
                if ids.count == count { return ids }
            }
            pending = String(pending[pending.index(after: end)...])
        }
        return ids
    }

    /// Follows the stream with the CLI's client, from after `seq`, in the background.
    func follow(after seq: Int, filter: EventFilter = .all) -> Follower {
        Follower(url: url, token: tokens[.reader], after: seq, filter: filter)
    }
}

/// One client following the stream, collecting what it receives.
final class Follower: Sendable {
    private final class Received: Sendable {
        let entries = Mutex<[AuditEntry]>([])
    }

    private let received = Received()
    private let task: Task<Void, Never>

    init(url: String, token: String, after seq: Int, filter: EventFilter) {
        let received = self.received
        task = Task {
            guard let client = try? RemoteRegistry(server: url, token: token) else { return }
            try? await client.events(after: seq, filter, follow: true) { entry in received.entries.withLock { $0.append(entry) } }
            await client.shutdown()
        }
    }

    /// The first `count` events, waiting up to 60 s for them.
    func collect(count: Int) async throws -> [AuditEntry] {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let events = received.entries.withLock { $0 }
            if events.count >= count { return Array(events.prefix(count)) }
            try await Task.sleep(for: .milliseconds(20))
        }
        let events = received.entries.withLock { $0 }
        Issue.record("received \(events.count) of \(count) events in 60 s")
        return events
    }

    func stop() { task.cancel() }
}

/// Runs `body` against a server on a free port, then shuts it down gracefully and waits for it.
func withLiveServer<T: Sendable>(
    heartbeat: Duration = .seconds(15), _ body: @escaping @Sendable (LiveServer) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let registry = try Registry(path: directory.file("mreg.db"), workload: .server)
        let tokens = try await Tokens(registry)
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
        let app = try buildApplication(
            ServerArguments(port: 0, logLevel: .warning, eventHeartbeat: heartbeat), registry: registry
        ) { port in portSink.yield(port) }
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test")))
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw RegistryError(.unavailable, "the server did not start") }
            let server = LiveServer(registry: registry, url: "http://127.0.0.1:\(port)", tokens: tokens, http: http)
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body(server)) } catch { outcome = .failure(error) }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            try await http.shutdown()
            return try outcome.get()
        }
    }
}
