import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Body limits and malformed bodies: refused as problems that name what is wrong, never a 500,
/// and nothing written.
@Suite struct RequestBodyTests {
    // MARK: Size limits

    @Test func aRegisterBodyOverOneMebibyteIsTooLarge() async throws {
        try await withTestServer { server in
            let audit = try server.auditCount()
            let padding = String(repeating: "a", count: 1 << 20)
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://x","description":"\#(padding)"}"#)
                .expect(.contentTooLarge, code: "PAYLOAD_TOO_LARGE")
            #expect(try server.versionCount() == 0)
            #expect(try server.auditCount() == audit)
        }
    }

    @Test func aBodyJustUnderTheLimitIsRead() async throws {
        try await withTestServer { server in
            // Under 1 MiB in all: the limit is on the body, not on one field.
            let description = String(repeating: "d", count: (1 << 20) - 100)
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://x","description":"\#(description)"}"#)
                .expect(.created)
        }
    }

    @Test func aTwoMebibyteJUnitReportIsAccepted() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            var xml = #"<?xml version="1.0"?>"# + "\n" + #"<testsuite name="big" tests="1" failures="0">"# + "\n"
            xml += #"<testcase name="only"><system-out>"#
            xml += String(repeating: "log line of a chatty test\n", count: (2 << 20) / 26)
            xml += "</system-out></testcase>\n</testsuite>\n"
            #expect(xml.utf8.count > 2 << 20 - 100)
            let reply = try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=big", as: .engineer, body: Array(xml.utf8),
                headers: [.contentType: "application/xml"])
            reply.expect(.created)
            #expect(try server.registry.reports(model: "m", version: 1).count == 1)
        }
    }

    @Test func aReportOverTenMebibytesIsTooLarge() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let body = [UInt8](repeating: UInt8(ascii: " "), count: (10 << 20) + 1)
            try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=unit", as: .engineer, body: body, headers: [.contentType: "application/xml"]
            ).expect(.contentTooLarge, code: "PAYLOAD_TOO_LARGE")
            #expect(try server.registry.reports(model: "m", version: 1).isEmpty)
        }
    }

    // MARK: Malformed JSON

    /// A route that takes a JSON body, and bodies it must refuse with words the detail must name.
    struct MalformedBody: Sendable, CustomTestStringConvertible {
        let uri: String
        let role: Role
        let body: String
        let mentions: String
        let why: String
        var testDescription: String { "\(uri): \(why)" }
    }

    static let malformedBodies: [MalformedBody] = [
        // Not JSON at all.
        MalformedBody(uri: "/v1/models", role: .engineer, body: #"{"name": "#, mentions: "JSON", why: "truncated"),
        MalformedBody(uri: "/v1/models/m/versions", role: .engineer, body: "artifact_uri=s3://x", mentions: "JSON", why: "form encoded"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: "", mentions: "JSON", why: "empty"),
        MalformedBody(uri: "/v1/models/m/rollback", role: .releaseManager, body: "[1,2]", mentions: "object", why: "an array"),
        // Wrong types.
        MalformedBody(uri: "/v1/models", role: .engineer, body: #"{"name":42}"#, mentions: "name", why: "number for a string"),
        MalformedBody(uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact_uri":["s3://x"]}"#, mentions: "artifact_uri", why: "array for a string"),
        MalformedBody(
            uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact_uri":"s3://x","metrics":{"auc":"high"}}"#, mentions: "metrics",
            why: "string for a metric"),
        MalformedBody(
            uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact_uri":"s3://x","parent":"one"}"#, mentions: "parent",
            why: "string for a version"),
        MalformedBody(uri: "/v1/models/m/versions/1/deprecate", role: .engineer, body: #"{"reason":false}"#, mentions: "reason", why: "bool for a string"),
        MalformedBody(
            uri: "/v1/models/m/versions/1/reports", role: .engineer, body: #"{"suite":"unit","status":"passed","tests":"many"}"#, mentions: "tests",
            why: "string for a count"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"to":"release","version":"1"}"#, mentions: "version", why: "string for a version"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"to":"production"}"#, mentions: "to", why: "unknown branch"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"to":"release","dry_run":"yes"}"#, mentions: "dry_run", why: "string for a bool"),
        MalformedBody(uri: "/v1/models/m/rollback", role: .releaseManager, body: #"{"reason":"r","to":1.5}"#, mentions: "to", why: "fraction for a version"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"to":"release","version":1.5}"#, mentions: "version", why: "fraction for a version"),
        MalformedBody(
            uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact_uri":"s3://x","parent":1.5}"#, mentions: "parent",
            why: "fraction for a version"),
        MalformedBody(
            uri: "/v1/models/m/versions/1/reports", role: .engineer, body: #"{"suite":"unit","status":"passed","tests":2.5}"#, mentions: "tests",
            why: "fraction for a count"),
        MalformedBody(uri: "/v1/models/m/versions/1/approvals", role: .releaseManager, body: #"{"comment":7}"#, mentions: "comment", why: "number for a string"),
        // Missing required fields.
        MalformedBody(uri: "/v1/models", role: .engineer, body: #"{"description":"d"}"#, mentions: "name", why: "no name"),
        MalformedBody(uri: "/v1/models/m/versions", role: .engineer, body: #"{}"#, mentions: "artifact_uri", why: "no artifact_uri"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"reason":"r"}"#, mentions: "to", why: "no target"),
        // Unknown fields: a typo is not silently ignored.
        MalformedBody(uri: "/v1/models", role: .engineer, body: #"{"name":"n","colour":"red"}"#, mentions: "colour", why: "unknown field"),
        MalformedBody(uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact":"s3://x"}"#, mentions: "artifact", why: "typo of artifact_uri"),
        MalformedBody(uri: "/v1/models/m/versions/1/deprecate", role: .engineer, body: #"{"reason":"r","why":"w"}"#, mentions: "why", why: "unknown field"),
        MalformedBody(
            uri: "/v1/models/m/versions/1/reports", role: .engineer, body: #"{"suite":"unit","status":"passed","tests":1,"flaky":2}"#, mentions: "flaky",
            why: "unknown field"),
        MalformedBody(uri: "/v1/models/m/promote", role: .engineer, body: #"{"to":"release","dryrun":true}"#, mentions: "dryrun", why: "typo of dry_run"),
        MalformedBody(uri: "/v1/models/m/rollback", role: .releaseManager, body: #"{"reason":"r","version":1}"#, mentions: "version", why: "unknown field"),
        MalformedBody(uri: "/v1/models/m/versions/1/approvals", role: .releaseManager, body: #"{"to":"master","by":"me"}"#, mentions: "by", why: "unknown field"),
    ]

    @Test(arguments: malformedBodies)
    func aMalformedBodyIsAnInvalidArgumentNamingTheField(_ malformed: MalformedBody) async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.ship()
            let audit = try server.auditCount()
            let reply = try await server.send(.post, malformed.uri, as: malformed.role, json: malformed.body)
            reply.expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: malformed.mentions)
            #expect(try server.auditCount() == audit)
        }
    }

    @Test func aMalformedPolicyNamesTheKey() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let cases = [
                ("release:\n  thresholds:\n    auc: \"about 0.9\"\n", "auc"),
                ("staging:\n  require_reports: [unit]\n", "staging"),
                ("master:\n  approvals:\n    count: lots\n", "count"),
                ("", "empty"),
            ]
            for (document, mentions) in cases {
                try await server.send(.put, "/v1/models/m/policy", as: .admin, body: Array(document.utf8), headers: [.contentType: "application/yaml"])
                    .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: mentions)
            }
            #expect(throws: RegistryError.self) { try server.registry.policy(model: "m") }
        }
    }
}
