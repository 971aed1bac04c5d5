import Foundation
import MregTestSupport
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

/// The built `mreg serve` as a real process on a real socket, next to the CLI on the same file.
@Suite struct ServeProcessTests {
    /// The access log names who made each request: the token's name, or `-` when there was none.
    @Test func theAccessLogNamesTheActor() async throws {
        try await withTemporaryDirectory { temporary in
            let directory = temporary.path
            let server = try await ServeProcess(database: "\(directory)/registry.db", directory: directory, options: ["--log-level", "info"])
            defer { server.stop() }
            let token = try #require(server.firstToken, "\(server.stderr)")
            let listed = try await http(port: server.port, .get, "/v1/models", headers: [.authorization: "Bearer \(token)"])
            #expect(listed.status == .ok, "\(listed)")
            let anonymous = try await http(port: server.port, .get, "/v1/models/fraud")
            #expect(anonymous.status == .unauthorized, "\(anonymous)")

            let deadline = ContinuousClock.now + .seconds(5)
            var requests: [Substring] = []
            while requests.count < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                requests = server.stderr.split(separator: "\n").filter { $0.hasSuffix(" request") && $0.contains("route=/v1/models") }
            }
            #expect(requests.first { $0.contains("path=/v1/models ") }?.contains("actor=admin") == true, "\(requests)")
            #expect(requests.first { $0.contains("path=/v1/models/fraud ") }?.contains("actor=- ") == true, "\(requests)")
        }
    }

    /// An automatic rollout with no holds or guards runs to master at once, and `/metrics` counts
    /// the controller's rounds and steps.
    @Test func theRolloutControllerIsCountedInMetrics() async throws {
        try await withServeProcess { server, _, _ in
            let token = try #require(server.firstToken, "\(server.stderr)")
            let headers: HTTPFields = [.authorization: "Bearer \(token)", .contentType: "application/json"]
            for (uri, body) in [
                ("/v1/models/fraud/versions", #"{"artifact_uri":"s3://m/1"}"#), ("/v1/models/fraud/promote", #"{"to":"release"}"#),
                ("/v1/models/fraud/promote", #"{"to":"master"}"#), ("/v1/models/fraud/versions", #"{"artifact_uri":"s3://m/2"}"#),
                ("/v1/models/fraud/promote", #"{"to":"release"}"#), ("/v1/models/fraud/rollout", #"{"version":2,"steps":[50,100],"auto":true}"#),
            ] {
                let reply = try await http(port: server.port, .post, uri, headers: headers, body: body)
                try #require(reply.status == .created || reply.status == .ok, "\(uri): \(reply)")
            }
            let deadline = ContinuousClock.now + .seconds(30)
            var text = ""
            // Until the round after the completion has found nothing left to watch.
            while !(text.contains(#"mreg_rollout_controller_steps_total{action="complete"} 1"#)
                && text.contains("mreg_rollout_controller_automatic_rollouts 0.0\n")), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                text = try await http(port: server.port, .get, "/metrics").text
            }
            #expect(text.contains(#"mreg_rollout_controller_steps_total{action="advance"} 1"#), "\(text)")
            #expect(text.contains(#"mreg_rollout_controller_steps_total{action="complete"} 1"#))
            #expect(text.contains("mreg_rollout_controller_automatic_rollouts 0.0\n"))
            #expect(text.contains("mreg_rollout_controller_errors_total 0"))
            #expect(!text.contains("mreg_rollout_controller_rounds_total 0"))
            let status = try await http(port: server.port, .get, "/v1/models/fraud/rollout", headers: headers)
            #expect(status["state"] as? String == "completed", "\(status)")
        }
    }

    @Test func theCLIAndTheServerSeeEachOthersChanges() async throws {
        try await withServeProcess { server, database, directory in
            let token = try #require(server.firstToken, "the first start prints an admin token: \(server.stderr)")
            let authorization: HTTPFields = [.authorization: "Bearer \(token)"]

            // The CLI writes, HTTP reads.
            let registered = try await runProgram(
                PackagePaths.mreg, ["register", "fraud", "--artifact", "s3://cli/1", "--db", database, "--actor", "cli", "--json"], in: directory)
            try #require(registered.status == 0, "\(registered)")
            let listed = try await http(port: server.port, .get, "/v1/models/fraud/versions", headers: authorization)
            #expect(listed.status == .ok, "\(listed)")
            #expect(listed.items.map { $0["version"] as? Int } == [1])
            #expect(listed.items.first?["created_by"] as? String == "cli")

            // HTTP writes, the CLI reads.
            let created = try await http(
                port: server.port, .post, "/v1/models/fraud/versions", headers: authorization + [.contentType: "application/json"],
                body: #"{"artifact_uri":"s3://http/2"}"#)
            #expect(created.status == .created, "\(created)")
            let versions = try await runProgram(PackagePaths.mreg, ["versions", "fraud", "--db", database, "--json"], in: directory)
            try #require(versions.status == 0, "\(versions)")
            let items = versions.json["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["version"] as? Int } == [2, 1], "\(versions)")
            #expect(items.first?["artifact_uri"] as? String == "s3://http/2")
            #expect(items.first?["created_by"] as? String == "admin")

            // A token made with the CLI works at once.
            let issued = try await runProgram(
                PackagePaths.mreg, ["token", "create", "--name", "ci", "--role", "reader", "--db", database, "--json"], in: directory)
            try #require(issued.status == 0, "\(issued)")
            let readerToken = try #require(issued.json["token"] as? String, "\(issued)")
            let asReader = try await http(port: server.port, .get, "/v1/models/fraud", headers: [.authorization: "Bearer \(readerToken)"])
            #expect(asReader.status == .ok, "\(asReader)")
            #expect(asReader["version_count"] as? Int == 2)
        }
    }

    @Test func sigtermLetsTheRequestInFlightFinishThenExitsZero() async throws {
        try await withServeProcess { server, database, _ in
            let token = try #require(server.firstToken, "\(server.stderr)")
            let body = #"{"artifact_uri":"s3://in-flight/1","description":"sent in two pieces"}"#
            let connection = try RawHTTPConnection(port: server.port)
            // A first request makes sure the server has taken the connection.
            try connection.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            let ready = connection.readResponse()
            try #require(ready.hasPrefix("HTTP/1.1 200"), "\(ready)")
            // The head and half the body: the server is now reading this request.
            try connection.send(
                "POST /v1/models/m/versions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body.prefix(20))
            try await Task.sleep(for: .milliseconds(300))
            server.sendTerminate()
            try await Task.sleep(for: .milliseconds(300))
            #expect(server.isRunning, "the server must wait for the request in flight")
            #expect(try await refusesConnections(port: server.port), "a stopping server accepts no new connection")
            #expect(server.isRunning, "the server must wait for the request in flight")
            try connection.send(String(body.dropFirst(20)))
            let response = connection.readToEnd()
            #expect(response.hasPrefix("HTTP/1.1 201"), "\(response)")
            #expect(response.contains(#""artifact_uri":"s3://in-flight/1""#), "\(response)")

            let status = try await server.waitForExit(within: .seconds(5))
            #expect(status == 0, "exit status \(String(describing: status)); stderr:\n\(server.stderr)")
            #expect(server.exitedNormally)
            let registry = try Registry(path: database)
            #expect(try registry.versions(model: "m").items.map(\.artifactURI) == ["s3://in-flight/1"])
        }
    }

    @Test func sigtermStopsAnIdleServerWithStatusZero() async throws {
        try await withServeProcess { server, _, _ in
            let token = try #require(server.firstToken, "\(server.stderr)")
            let ready = try await http(port: server.port, .get, "/readyz")
            #expect(ready.status == .ok)
            // A request sent just before the signal completes.
            let listed = try await http(port: server.port, .get, "/v1/models", headers: [.authorization: "Bearer \(token)"])
            #expect(listed.status == .ok)
            server.sendTerminate()
            let status = try await server.waitForExit(within: .seconds(5))
            #expect(status == 0, "exit status \(String(describing: status)); stderr:\n\(server.stderr)")
            #expect(server.exitedNormally)
        }
    }

    @Test func aSecondStartPrintsNoNewToken() async throws {
        try await withTemporaryDirectory { temporary in
            let directory = temporary.path
            let database = "\(directory)/registry.db"
            let first = try await ServeProcess(database: database, directory: directory)
            defer { first.stop() }
            #expect(first.firstToken != nil)
            first.sendTerminate()
            let status = try await first.waitForExit(within: .seconds(5))
            #expect(status == 0, "exit status \(String(describing: status)); stderr:\n\(first.stderr)")
            let second = try await ServeProcess(database: database, directory: directory)
            defer { second.stop() }
            #expect(second.firstToken == nil, "\(second.stderr)")
            let refused = try await http(port: second.port, .get, "/v1/models")
            #expect(refused.status == .unauthorized)
        }
    }

    @Test func connectionCloseIsAnsweredWithConnectionCloseThenTheServerCloses() async throws {
        try await withServeProcess { server, _, _ in
            let token = try #require(server.firstToken, "\(server.stderr)")
            let kept = try RawHTTPConnection(port: server.port)
            try kept.send("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n\r\n")
            let keptResponse = kept.readResponse()
            #expect(keptResponse.hasPrefix("HTTP/1.1 200"), "\(keptResponse)")
            #expect(!keptResponse.lowercased().contains("connection: close"), "\(keptResponse)")

            let closing = try RawHTTPConnection(port: server.port)
            try closing.send(
                "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nConnection: close\r\n\r\n")
            // readToEnd returns only once the server has closed its side.
            let response = closing.readToEnd()
            #expect(response.hasPrefix("HTTP/1.1 200"), "\(response)")
            #expect(response.lowercased().contains("\r\nconnection: close\r\n"), "\(response)")
        }
    }
}

/// Whether connecting to `port` fails within 3 s (the listener may take a moment to close).
func refusesConnections(port: Int) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(3)
    while ContinuousClock.now < deadline {
        guard (try? RawHTTPConnection(port: port)) != nil else { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// One request to a live server on 127.0.0.1, on a connection of its own.
func http(port: Int, _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> Reply {
    try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
        let response = try await client.execute(TestClient.Request(uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }))
        return Reply(status: response.status, headers: response.headers, bytes: response.body.map { Array(buffer: $0) } ?? [])
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var fields = lhs
        fields.append(contentsOf: rhs)
        return fields
    }
}
