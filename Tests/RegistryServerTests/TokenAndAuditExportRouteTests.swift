import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// API tokens over HTTP, the audit log's export and its verification against a signed
/// checkpoint, and the metrics a report upload adds through its query.
@Suite struct TokenAndAuditExportRouteTests {
    // MARK: Tokens

    @Test func anAdminListsEveryTokenButNoSecret() async throws {
        try await withTestServer { server in
            let list = try await server.send(.get, "/v1/tokens", as: .admin)
            list.expect(.ok)
            #expect(Set(list.items.compactMap { $0["name"] as? String }) == ["reed", "audrey", "eddie", "rita", "ada", "remy", "gone"])
            #expect(list.nextCursor == nil)
            for item in list.items {
                #expect((item["id"] as? String)?.hasPrefix("tok_") == true, "\(item)")
                #expect(item["created_by"] as? String == "operator", "\(item)")
                #expect(item["created_at"] is String, "\(item)")
                #expect(item["token"] == nil && item["hash"] == nil, "\(item)")
            }
            let gone = try #require(list.items.first { $0["name"] as? String == "gone" })
            #expect(gone["role"] as? String == "engineer")
            #expect(gone["revoked_at"] is String)
            let ada = try #require(list.items.first { $0["name"] as? String == "ada" })
            #expect(ada["role"] as? String == "admin")
            #expect(ada["revoked_at"] == nil || ada["revoked_at"] is NSNull)
            #expect(!list.text.contains(server.tokens[.admin]), "a listed token must not carry its secret")
        }
    }

    @Test func aCreatedTokenAuthenticatesAsItsNameWithItsRole() async throws {
        try await withTestServer { server in
            let created = try await server.send(.post, "/v1/tokens", as: .admin, json: #"{"name":"ci-bot","role":"engineer"}"#)
            created.expect(.created)
            #expect(created["name"] as? String == "ci-bot")
            #expect(created["role"] as? String == "engineer")
            let id = try #require(created["id"] as? String)
            #expect(id.hasPrefix("tok_"))
            let secret = try #require(created["token"] as? String)
            #expect(secret.hasPrefix("mreg_"))
            let issuance = try server.newestAudit()
            #expect(issuance?.action == "token.create")
            #expect(issuance?.actor == "ada")

            let bearer: HTTPFields = [.authorization: "Bearer \(secret)"]
            try await server.send(.post, "/v1/models", as: nil, json: #"{"name":"made-by-bot"}"#, headers: bearer).expect(.created)
            #expect(try server.newestAudit()?.actor == "ci-bot")
            try await server.send(.get, "/v1/tokens", as: nil, headers: bearer).expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")

            let listed = try await server.send(.get, "/v1/tokens", as: .admin)
            let entry = try #require(listed.items.first { $0["id"] as? String == id })
            #expect(entry["created_by"] as? String == "ada")
            #expect(!listed.text.contains(secret))
        }
    }

    @Test func aTokenRequestWithAnUnknownKeyABadRoleOrNoNameIsRefused() async throws {
        try await withTestServer { server in
            let before = try server.registry.tokens().count
            let audit = try server.auditCount()
            try await server.send(.post, "/v1/tokens", as: .admin, json: #"{"name":"n","role":"reader","expires":"never"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "expires")
            try await server.send(.post, "/v1/tokens", as: .admin, json: #"{"name":"n","role":"root"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "role")
            try await server.send(.post, "/v1/tokens", as: .admin, json: #"{"name":"","role":"reader"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "name")
            try await server.send(.post, "/v1/tokens", as: .admin, json: #"{"role":"reader"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "name")
            #expect(try server.registry.tokens().count == before)
            #expect(try server.auditCount() == audit)
        }
    }

    @Test func aRevokedTokenIsUnauthenticatedFromThenOn() async throws {
        try await withTestServer { server in
            let issued = try await server.registry.createToken(name: "short-lived", role: .reader, by: TestServer.setup)
            let bearer: HTTPFields = [.authorization: "Bearer \(issued.token)"]
            try await server.send(.get, "/v1/models", as: nil, headers: bearer).expect(.ok)

            let revoked = try await server.send(.post, "/v1/tokens/\(issued.id)/revoke", as: .admin)
            revoked.expect(.ok)
            #expect(revoked["id"] as? String == issued.id)
            #expect(revoked["name"] as? String == "short-lived")
            #expect(revoked["revoked_at"] is String)
            #expect(try server.newestAudit()?.action == "token.revoke")
            try await server.send(.get, "/v1/models", as: nil, headers: bearer).expect(.unauthorized, code: "UNAUTHENTICATED")

            try await server.send(.post, "/v1/tokens/\(issued.id)/revoke", as: .admin).expect(.conflict, code: "CONFLICT", detailMentions: "revoked")
        }
    }

    @Test func revokingAnUnknownTokenIsNotFound() async throws {
        try await withTestServer { server in
            let audit = try server.auditCount()
            try await server.send(.post, "/v1/tokens/tok_000000000000/revoke", as: .admin)
                .expect(.notFound, code: "NOT_FOUND", detailMentions: "tok_000000000000")
            #expect(try server.auditCount() == audit)
            #expect(try server.registry.tokens().filter { $0.revokedAt != nil }.count == 1)
        }
    }

    @Test func belowAdminTheTokenRoutesAreDeniedAndEachRefusalIsAudited() async throws {
        try await withTestServer { server in
            let target = try #require(try server.registry.tokens().first { $0.name == "reed" })
            let tokens = try server.registry.tokens()
            let audit = try server.auditCount()
            try await server.send(.get, "/v1/tokens", as: .engineer).expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
            try await server.send(.post, "/v1/tokens", as: .releaseManager, json: #"{"name":"mine","role":"admin"}"#)
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
            try await server.send(.post, "/v1/tokens/\(target.id)/revoke", as: .releaseManager)
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
            #expect(try server.registry.tokens() == tokens, "a refused request changes no token")
            #expect(try server.auditCount() == audit + 3)
            let denied = try server.registry.auditLog(AuditQuery(action: "denied")).items
            #expect(denied.map(\.actor) == ["rita", "rita", "eddie"])
        }
    }

    // MARK: Audit export

    @Test func theJSONLinesExportIsEveryEntryOfTheLogOldestFirst() async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.registerVersion("other")
            let log = try await server.send(.get, "/v1/audit?limit=1000", as: .auditor)
            #expect(log.nextCursor == nil)

            let export = try await server.send(.get, "/v1/audit/export", as: .auditor)
            export.expect(.ok)
            #expect(export.headers[.contentType] == "application/x-ndjson")
            #expect(export.text.hasSuffix("\n"))
            let lines = try export.text.split(separator: "\n").map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
            }
            #expect(lines.count == (try server.auditCount()))
            #expect(lines.compactMap { $0["seq"] as? Int } == Array(1...lines.count))
            // The log's fields, as stored: `at` in milliseconds beside `at_iso`, `details` as
            // the stored text.
            for (line, item) in zip(lines, log.items.reversed()) {
                for key in ["seq", "actor", "action", "model", "version", "branch", "prev_hash", "hash"] {
                    #expect(try canonicalJSON(line[key] ?? NSNull()) == canonicalJSON(item[key] ?? NSNull()), "\(key): \(line)")
                }
                #expect(line["at_iso"] as? String == item["at"] as? String, "\(line)")
                let at = try #require(line["at"] as? Int, "\(line)")
                #expect(Timestamp(millisecondsSinceEpoch: Int64(at)).description == item["at"] as? String)
                let details = try #require(line["details"] as? String, "details is the stored text: \(line)")
                #expect(try canonicalJSON(JSONSerialization.jsonObject(with: Data(details.utf8))) == canonicalJSON(item["details"] ?? NSNull()))
            }

            let explicit = try await server.send(.get, "/v1/audit/export?format=jsonl", as: .auditor)
            #expect(explicit.bytes == export.bytes)
        }
    }

    @Test func theCSVExportHasAHeaderAndOneRowPerEntry() async throws {
        try await withTestServer { server in
            try await server.ship()
            let entries = try server.registry.auditLog(AuditQuery(limit: 1000)).items.reversed()

            let export = try await server.send(.get, "/v1/audit/export?format=csv", as: .auditor)
            export.expect(.ok)
            #expect(export.headers[.contentType] == "text/csv; charset=utf-8")
            let lines = export.text.split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.first == "seq,at,at_iso,actor,action,model,version,branch,details,prev_hash,hash,form")
            #expect(lines.last == "", "the last row ends with a line end")
            let rows = lines.dropFirst().dropLast()
            #expect(rows.count == entries.count)
            for (row, entry) in zip(rows, entries) {
                #expect(row.hasPrefix("\(entry.seq),\(entry.at.millisecondsSinceEpoch),\(entry.at),"), "\(row)")
                #expect(row.hasSuffix(",\(entry.prevHash),\(entry.hash),\(entry.form)"), "\(row)")
            }
            // The details hold commas and quotes: RFC 4180 quotes the cell and doubles its quotes.
            let first = try #require(rows.first)
            #expect(first.contains(#","{""name"":""reed"",""role"":""reader"","#), "\(first)")
        }
    }

    @Test func anExportInAnUnknownFormatIsRefused() async throws {
        try await withTestServer { server in
            try await server.send(.get, "/v1/audit/export?format=xml", as: .auditor)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "xml")
            try await server.send(.get, "/v1/audit/export?format=", as: .auditor).expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    @Test func aReaderMayNotExportTheLogAndTheRefusalIsAudited() async throws {
        try await withTestServer { server in
            let audit = try server.auditCount()
            let refused = try await server.send(.get, "/v1/audit/export?format=csv", as: .reader)
            refused.expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "auditor")
            #expect(!refused.text.contains("prev_hash"))
            #expect(try server.auditCount() == audit + 1)
            #expect(try server.newestAudit()?.action == "denied")
            #expect(try server.newestAudit()?.actor == "reed")
        }
    }

    // MARK: Verifying against a checkpoint

    @Test func theLogVerifiesAgainstACheckpointItStillHolds() async throws {
        let keys = CheckpointKeys.generate()
        try await withTestServer(checkpointKey: keys.privateKey) { server in
            try await server.registerVersion()
            let checkpoint = try await server.send(.post, "/v1/audit/checkpoint", as: .auditor)
            checkpoint.expect(.created)
            try await server.registerVersion()

            let verified = try await server.send(
                .post, "/v1/audit/verify", as: .auditor, json: try verificationBody(checkpoint.object, publicKey: keys.publicKey))
            verified.expect(.ok)
            #expect(verified["ok"] as? Bool == true, "\(verified)")
            #expect(verified["entries"] as? Int == (try server.auditCount()))
            #expect(verified["head"] as? String == (try server.registry.verifyAudit().head))
            #expect(verified["first_bad_seq"] == nil)
        }
    }

    /// A checkpoint that is not one the key signed is a verification that fails, answered as
    /// a failed chain is: `ok` false and the problem.
    @Test func aTamperedCheckpointOrAnotherKeyDoesNotVerify() async throws {
        let keys = CheckpointKeys.generate()
        try await withTestServer(checkpointKey: keys.privateKey) { server in
            try await server.registerVersion()
            let signed = try await server.send(.post, "/v1/audit/checkpoint", as: .auditor).object
            let size = try #require(signed["size"] as? Int)
            var shrunk = signed
            shrunk["size"] = size - 1
            var forged = signed
            forged["signature"] = Data(repeating: 0, count: 64).base64EncodedString()
            var zeroedKey = signed
            zeroedKey["key_id"] = String(repeating: "0", count: 64)
            let refusals: [(String, String, String)] = [
                ("a changed size", try verificationBody(shrunk, publicKey: keys.publicKey), "signature"),
                ("a forged signature", try verificationBody(forged, publicKey: keys.publicKey), "signature"),
                ("a zeroed key id", try verificationBody(zeroedKey, publicKey: keys.publicKey), "names key"),
                ("another key", try verificationBody(signed, publicKey: CheckpointKeys.generate().publicKey), "names key"),
            ]
            for (what, body, words) in refusals {
                let reply = try await server.send(.post, "/v1/audit/verify", as: .auditor, json: body)
                reply.expect(.ok)
                #expect(reply["ok"] as? Bool == false, "\(what): \(reply)")
                #expect((reply["problem"] as? String)?.contains(words) == true, "\(what): \(reply)")
            }
            try await server.send(.post, "/v1/audit/verify", as: .auditor, json: try verificationBody(signed, publicKey: "not a key"))
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "public key")
            try await server.send(.post, "/v1/audit/verify", as: .auditor, json: #"{"checkpoint":{},"public_key":"k","pubkey":"k"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "pubkey")
            try await server.send(.post, "/v1/audit/verify", as: .reader, json: try verificationBody(signed, publicKey: keys.publicKey))
                .expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "auditor")
        }
    }

    // MARK: Metrics in a report's query

    @Test func metricQueryParametersAreAddedToTheReportOverridingTheDocument() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let report = try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=unit&metric=p99_ms=41&metric=auc=0.9", as: .engineer,
                json: #"{"status":"passed","tests":3,"metrics":{"auc":0.5,"f1":0.7}}"#)
            report.expect(.created)
            #expect(report["suite"] as? String == "unit")
            let metrics = try #require(report["metrics"] as? [String: Any])
            #expect(metrics.mapValues { ($0 as? NSNumber)?.doubleValue } == ["p99_ms": 41, "auc": 0.9, "f1": 0.7])
            #expect(try server.registry.reports(model: "m", version: 1).first?.metrics == ["p99_ms": 41, "auc": 0.9, "f1": 0.7])
        }
    }

    @Test(arguments: ["metric=p99_ms", "metric==41", "metric=auc=high", "metric=auc=inf", "metric=auc=1&metric=auc=2"])
    func aMalformedMetricQueryParameterIsRefusedAndNothingIsWritten(_ query: String) async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let audit = try server.auditCount()
            try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=unit&\(query)", as: .engineer, json: #"{"status":"passed","tests":3}"#
            ).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "metric")
            #expect(try server.registry.reports(model: "m", version: 1).isEmpty)
            #expect(try server.auditCount() == audit)
        }
    }
}

/// The body of `POST /v1/audit/verify` for a checkpoint as the server answered it (or altered).
private func verificationBody(_ checkpoint: [String: Any], publicKey: String) throws -> String {
    let body: [String: Any] = ["checkpoint": checkpoint, "public_key": publicKey]
    return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
}

/// A JSON object with sorted keys: two objects are equal when these bytes are.
private func canonicalJSON(_ value: Any) throws -> Data {
    try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
}
