import Foundation
import MregTestSupport
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Tokens and roles: every route that needs a role refuses a missing, unknown or revoked token
/// (401, nothing written, not even an audit entry) and a role below its own (403, exactly one
/// `denied` audit entry and nothing else).
@Suite struct AuthorizationTests {
    /// Every route of the API that needs a token, with its path filled in.
    static func protectedRoutes() throws -> [(method: HTTPRequest.Method, template: String, uri: String, role: Role)] {
        try withTemporaryDirectory { directory in
            let registry = try Registry(path: directory.file("routes.db"), workload: .server)
            return apiRoutes(registry: registry, metrics: ServerMetrics(), events: try EventHub(registry: registry)).compactMap { route in
                route.role.map { (route.method, route.path, concretePath(route.path), $0) }
            }
        }
    }

    @Test func everyRouteButTheOperationalOnesNeedsAToken() throws {
        let routes = try Self.protectedRoutes()
        #expect(routes.count >= 19)
        #expect(routes.allSatisfy { $0.uri.hasPrefix("/v1/") })
    }

    @Test func aMissingUnknownOrRevokedTokenIsUnauthenticatedAndWritesNothing() async throws {
        let routes = try Self.protectedRoutes()
        try await withTestServer { server in
            try await server.registerVersion()
            let audit = try server.auditCount()
            let counts = try server.registry.counts()
            let credentials: [(String, String?)] = [
                ("no token", nil),
                ("unknown token", "Bearer mreg_000000000000000000000000000000000000000000000000"),
                ("not an mreg token", "Bearer hunter2"),
                ("revoked token", "Bearer \(server.tokens.revoked)"),
                ("another scheme", "Basic \(Data("ada:\(server.tokens[.admin])".utf8).base64EncodedString())"),
                ("scheme without token", "Bearer"),
            ]
            for route in routes {
                for (what, authorization) in credentials {
                    let reply = try await server.send(
                        route.method, route.uri, as: nil, json: route.method == .get ? nil : "{}",
                        headers: authorization.map { [.authorization: $0] } ?? [:])
                    #expect(reply.status == .unauthorized, "\(route.method) \(route.uri) with \(what): \(reply)")
                    #expect(reply.code == "UNAUTHENTICATED", "\(route.method) \(route.uri) with \(what): \(reply)")
                }
            }
            #expect(try server.auditCount() == audit)
            #expect(try server.registry.counts() == counts)
        }
    }

    @Test func aRoleBelowTheRoutesIsDeniedWithOneAuditEntryAndNothingElse() async throws {
        let routes = try Self.protectedRoutes()
        try await withTestServer { server in
            try await server.registerVersion()
            for route in routes {
                for role in Role.allCases where role < route.role {
                    let before = try server.auditCount()
                    let counts = try server.registry.counts()
                    let reply = try await server.send(route.method, route.uri, as: role, json: route.method == .get ? nil : #"{"reason":"r"}"#)
                    let label = "\(role.rawValue) → \(route.method) \(route.uri)"
                    #expect(reply.status == .forbidden, "\(label): \(reply)")
                    #expect(reply.code == "PERMISSION_DENIED", "\(label): \(reply)")
                    #expect(reply.detail.contains(route.role.rawValue), "\(label) should name the role it needs: \(reply)")
                    #expect(try server.auditCount() == before + 1, "\(label)")
                    let entry = try server.newestAudit()
                    #expect(entry?.action == "denied", "\(label)")
                    #expect(entry?.actor == Tokens.names[role], "\(label)")
                    #expect(entry?.model == (route.template.contains("{name}") ? "m" : nil), "\(label)")
                    #expect(entry?.details.contains(route.method.rawValue) == true, "the entry names the operation: \(String(describing: entry))")
                    #expect(try server.registry.counts() == counts, "\(label)")
                }
            }
        }
    }

    @Test func aReaderMayReadButNotWrite() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            for uri in ["/v1/models", "/v1/models/m", "/v1/models/m/versions", "/v1/models/m/versions/1", "/v1/models/m/branches"] {
                try await server.send(.get, uri, as: .reader).expect(.ok)
            }
            try await server.send(.post, "/v1/models", as: .reader, json: #"{"name":"n"}"#).expect(.forbidden, code: "PERMISSION_DENIED")
            try await server.send(.post, "/v1/models/m/versions", as: .reader, json: #"{"artifact_uri":"s3://x"}"#)
                .expect(.forbidden, code: "PERMISSION_DENIED")
            #expect(try server.registry.models().items.count == 1)
            #expect(try server.versionCount() == 1)
        }
    }

    @Test func anEngineerMayPromoteToReleaseButNotToMaster() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release"}"#).expect(.ok)
            let before = try server.auditCount()
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"master"}"#)
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "release-manager")
            #expect(try server.head("m", .master) == nil)
            #expect(try server.auditCount() == before + 1)
            let entry = try server.newestAudit()
            #expect(entry?.action == "denied")
            #expect(entry?.actor == "eddie")
            #expect(entry?.model == "m")
        }
    }

    @Test func anEngineerMayNotRollBackApproveOrSetPolicy() async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.ship()
            let attempts: [(HTTPRequest.Method, String, String)] = [
                (.post, "/v1/models/m/rollback", #"{"reason":"r"}"#),
                (.post, "/v1/models/m/versions/2/approvals", #"{"to":"master"}"#),
                (.put, "/v1/models/m/policy", "release:\n  require_reports: [unit]\n"),
            ]
            for (method, uri, body) in attempts {
                let before = try server.auditCount()
                try await server.send(method, uri, as: .engineer, json: body).expect(.forbidden, code: "PERMISSION_DENIED")
                #expect(try server.auditCount() == before + 1, "\(uri)")
                #expect(try server.newestAudit()?.action == "denied", "\(uri)")
            }
            #expect(try server.head("m", .master) == 2)
            #expect(try server.registry.auditLog(AuditQuery(action: "approval.add")).items.isEmpty)
            #expect(throws: RegistryError.self) { try server.registry.policy(model: "m") }
        }
    }

    @Test func aReleaseManagerMayNotForceOrSetPolicy() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let before = try server.auditCount()
            try await server.send(.post, "/v1/models/m/promote", as: .releaseManager, json: #"{"to":"release","force":true,"reason":"r"}"#)
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
            try await server.send(.put, "/v1/models/m/policy", as: .releaseManager, json: "master: {}")
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
            #expect(try server.auditCount() == before + 2)
            #expect(try server.head("m", .release) == nil)
        }
    }

    @Test func anAuditorMayReadTheLogButNotWrite() async throws {
        try await withTestServer { server in
            try await server.send(.get, "/v1/audit", as: .auditor).expect(.ok)
            try await server.send(.get, "/v1/audit/verify", as: .auditor).expect(.ok)
            try await server.send(.post, "/v1/models", as: .auditor, json: #"{"name":"n"}"#).expect(.forbidden, code: "PERMISSION_DENIED")
        }
    }

    @Test func publicRoutesIgnoreABadToken() async throws {
        try await withTestServer { server in
            for uri in ["/healthz", "/readyz", "/metrics", "/openapi.yaml"] {
                try await server.send(.get, uri, as: nil, headers: [.authorization: "Bearer nonsense"]).expect(.ok)
            }
        }
    }
}

@Suite struct BearerTokenTests {
    @Test func theTokenIsWhatFollowsTheSchemeWithoutSurroundingSpaces() {
        #expect(Authentication.bearerToken("Bearer mreg_abc") == "mreg_abc")
        #expect(Authentication.bearerToken("bearer mreg_abc") == "mreg_abc")
        #expect(Authentication.bearerToken("BEARER   mreg_abc  ") == "mreg_abc")
        #expect(Authentication.bearerToken("Bearer mreg_ab c") == "mreg_ab c")
    }

    @Test func anotherSchemeOrNoTokenIsNone() {
        #expect(Authentication.bearerToken("Basic dXNlcjpwdw==") == nil)
        #expect(Authentication.bearerToken("Bearer") == nil)
        #expect(Authentication.bearerToken("Bearer ") == nil)
        #expect(Authentication.bearerToken("Bearer     ") == nil)
        #expect(Authentication.bearerToken("Bearermreg_abc") == nil)
        #expect(Authentication.bearerToken("") == nil)
    }
}
