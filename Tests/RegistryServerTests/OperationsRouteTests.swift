import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Health, readiness, metrics, the API description, and what every request gets.
@Suite struct OperationsRouteTests {
    @Test func healthAndReadinessNeedNoToken() async throws {
        try await withTestServer { server in
            let health = try await server.send(.get, "/healthz", as: nil)
            health.expect(.ok)
            #expect(health["status"] as? String == "ok")
            let ready = try await server.send(.get, "/readyz", as: nil)
            ready.expect(.ok)
            #expect(ready["status"] as? String == "ready")
        }
    }

    @Test func metricsCountRequestsByRouteAndTheRegistrysContents() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.registerVersion()
            try await server.send(.get, "/v1/models", as: .reader).expect(.ok)
            try await server.send(.get, "/v1/models/nope", as: .reader).expect(.notFound)
            try await server.send(.get, "/v1/models", as: nil).expect(.unauthorized)

            let metrics = try await server.send(.get, "/metrics", as: nil)
            metrics.expect(.ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = metrics.text.split(separator: "\n").map(String.init)
            #expect(lines.contains(#"mreg_http_requests_total{route="/v1/models",method="GET",status="200"} 1"#), "\(metrics.text)")
            #expect(lines.contains(#"mreg_http_requests_total{route="/v1/models",method="GET",status="401"} 1"#), "\(metrics.text)")
            #expect(lines.contains(#"mreg_http_requests_total{route="/v1/models/{name}",method="GET",status="404"} 1"#), "\(metrics.text)")
            #expect(lines.contains { $0.hasPrefix("mreg_versions ") && Double($0.split(separator: " ")[1]) == 2 }, "\(metrics.text)")
            #expect(lines.contains { $0.hasPrefix("mreg_models ") && Double($0.split(separator: " ")[1]) == 1 }, "\(metrics.text)")
            // What restarting the WAL cost the writes: nothing yet, two registrations are far from a restart.
            for name in [
                "mreg_db_wal_write_pauses", "mreg_db_wal_restarts", "mreg_db_wal_write_pause_longest_seconds", "mreg_db_wal_write_paused_seconds",
            ] {
                #expect(lines.contains { $0.hasPrefix(name + " ") && Double($0.split(separator: " ")[1]) == 0 }, "\(name): \(metrics.text)")
            }
        }
    }

    @Test func theOpenAPIDocumentIsServedAndDescribesEveryRoute() async throws {
        try await withTestServer { server in
            let reply = try await server.send(.get, "/openapi.yaml", as: nil)
            reply.expect(.ok)
            #expect(reply.headers[.contentType]?.contains("yaml") == true)
            #expect(reply.text.hasPrefix("openapi: 3"))
            let documented = documentedOperations(reply.text)
            for route in apiRoutes(registry: server.registry, metrics: ServerMetrics(), events: try EventHub(registry: server.registry)) {
                let operation = "\(route.method.rawValue.lowercased()) \(route.path)"
                #expect(documented.contains(operation), "the OpenAPI document does not describe \(operation)")
            }
        }
    }

    /// Every route the router serves is requested somewhere in this target's tests: the
    /// sources are read for `send(.method, "path"` calls, and each route must match one of them
    /// segment by segment (a `{parameter}` matches any segment, an interpolation included).
    @Test func everyRouteHasTests() async throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let sources = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "swift" }
            .map { try String(contentsOf: $0, encoding: .utf8) }
        let call = #/send\(\s*\.(get|post|put|delete)\s*,\s*"((?:[^"\\]|\\\([^)]*\))*)"/#
        let requests = sources.flatMap { $0.matches(of: call).map { (method: String($0.1), path: String($0.2)) } }
        #expect(requests.count > 100, "the pattern no longer finds the tests' requests")
        try await withTestServer { server in
            let untested = apiRoutes(registry: server.registry, metrics: ServerMetrics(), events: try EventHub(registry: server.registry)).filter { route in
                !requests.contains { Self.route(route, matches: $0.method, $0.path) }
            }
            #expect(untested.isEmpty, "routes no test in RegistryServerTests requests: \(untested.map { "\($0.method.rawValue) \($0.path)" })")
        }
    }

    private static func route(_ route: Route, matches method: String, _ path: String) -> Bool {
        let template = route.path.split(separator: "/")
        let segments = path.prefix { $0 != "?" }.split(separator: "/")
        guard route.method.rawValue.lowercased() == method, template.count == segments.count else { return false }
        return zip(template, segments).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }

    @Test func anUnknownRouteIsAProblem() async throws {
        try await withTestServer { server in
            try await server.send(.get, "/v1/nothing-here", as: .admin).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/", as: nil).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/versions/1/nothing", as: .admin).expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func aKnownPathWithAnotherMethodIs405WithTheMethodsItTakes() async throws {
        try await withTestServer { server in
            let models = try await server.send(.delete, "/v1/models", as: .admin)
            models.expect(.methodNotAllowed, code: "INVALID_ARGUMENT", detailMentions: "DELETE")
            #expect(models.headers[.allow] == "GET, POST")
            let promote = try await server.send(.get, "/v1/models/m/promote", as: .reader)
            promote.expect(.methodNotAllowed, code: "INVALID_ARGUMENT")
            #expect(promote.headers[.allow] == "POST")
            // Nothing was needed to learn that: no token, no model.
            let policy = try await server.send(.post, "/v1/models/unknown/policy", as: nil)
            policy.expect(.methodNotAllowed)
            #expect(policy.headers[.allow] == "GET, PUT")
        }
    }

    @Test func pathsMatchSegmentBySegment() async throws {
        try await withTestServer { server in
            let version = try await server.registerVersion("m")
            // A trailing or doubled slash names the same route, as it did under Hummingbird's router.
            try await server.send(.get, "/v1/models/m/", as: .reader).expect(.ok)
            try await server.send(.get, "/v1//models/m/versions/\(version)", as: .reader).expect(.ok)
            // A parameter takes one whole segment, percent-encoded or not.
            try await server.send(.get, "/v1/models/m%2Dx", as: .reader).expect(.notFound, code: "NOT_FOUND", detailMentions: "m-x")
            // Literal segments compare exactly: no prefixes, no case folding.
            try await server.send(.get, "/v1/models/m/versionsX", as: .reader).expect(.notFound, code: "NOT_FOUND", detailMentions: "route")
            try await server.send(.get, "/V1/models/m", as: .reader).expect(.notFound, code: "NOT_FOUND", detailMentions: "route")
        }
    }

    @Test func aCallersRequestIDIsEchoedInTheHeaderAndTheProblem() async throws {
        try await withTestServer { server in
            let ok = try await server.send(.get, "/healthz", as: nil, headers: [.requestID: "trace-42"])
            #expect(ok.headers[.requestID] == "trace-42")
            let problem = try await server.send(.get, "/v1/models/nope", as: .reader, headers: [.requestID: "trace-43"])
            problem.expect(.notFound, code: "NOT_FOUND")
            #expect(problem.headers[.requestID] == "trace-43")
            #expect(problem["request_id"] as? String == "trace-43")
        }
    }

    @Test func everyResponseHasItsOwnRequestID() async throws {
        try await withTestServer { server in
            var seen: Set<String> = []
            for uri in ["/healthz", "/readyz", "/metrics", "/v1/models", "/v1/nope"] {
                let reply = try await server.send(.get, uri, as: .reader)
                seen.insert(reply.headers[.requestID] ?? "")
            }
            #expect(seen.count == 5)
        }
    }
}

/// `method path` of every operation under `paths:` in an OpenAPI YAML document, read line by
/// line (the test target has no YAML parser; the document's layout is two-space indented).
func documentedOperations(_ yaml: String) -> Set<String> {
    var operations: Set<String> = []
    var inPaths = false
    var path: String?
    for line in yaml.split(separator: "\n", omittingEmptySubsequences: false) {
        if !line.hasPrefix(" "), !line.isEmpty {
            inPaths = line == "paths:"
            continue
        }
        guard inPaths else { continue }
        if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
            path = String(line.dropFirst(2).dropLast())
        } else if let path, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
            let method = line.trimmingCharacters(in: .whitespaces).dropLast()
            if ["get", "put", "post", "delete", "patch", "head"].contains(String(method)) { operations.insert("\(method) \(path)") }
        }
    }
    return operations
}
