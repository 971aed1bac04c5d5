import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Models, versions, reports and branches over HTTP.
@Suite struct ModelRouteTests {
    // MARK: Models

    @Test func createAModelAndReadItBack() async throws {
        try await withTestServer { server in
            let created = try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"fraud-scorer","description":"cards"}"#)
            created.expect(.created)
            #expect(created.headers[.location] == "/v1/models/fraud-scorer")
            #expect(created["name"] as? String == "fraud-scorer")
            #expect(created["created_by"] as? String == "eddie")

            let shown = try await server.send(.get, "/v1/models/fraud-scorer", as: .reader)
            shown.expect(.ok)
            #expect(shown["description"] as? String == "cards")
            #expect(shown["version_count"] as? Int == 0)
            #expect(shown["branches"] as? [String: Any] != nil)

            let listed = try await server.send(.get, "/v1/models", as: .reader)
            listed.expect(.ok)
            #expect(listed.items.map { $0["name"] as? String } == ["fraud-scorer"])
            #expect(listed.object["next_cursor"] is NSNull)
        }
    }

    @Test func aDuplicateModelIsAConflictAndAnUnknownOneIsNotFound() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"m"}"#).expect(.created)
            let audit = try server.auditCount()
            try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"m"}"#).expect(.conflict, code: "ALREADY_EXISTS")
            #expect(try server.auditCount() == audit)
            try await server.send(.get, "/v1/models/unknown", as: .reader).expect(.notFound, code: "NOT_FOUND", detailMentions: "unknown")
        }
    }

    @Test func anInvalidModelNameIsRefused() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"Not Valid"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "Not Valid")
            #expect(try server.registry.models().items.isEmpty)
        }
    }

    @Test func modelsPageThroughACursor() async throws {
        try await withTestServer { server in
            let names = (1...5).map { "model-\($0)" }
            for name in names { _ = try await server.registry.createModel(name: name, by: TestServer.setup) }
            let pages = try await collectPages(server, "/v1/models?limit=2")
            #expect(pages.map(\.count) == [2, 2, 1])
            #expect(Set(pages.joined().compactMap { $0["name"] as? String }) == Set(names))
            #expect(pages.joined().count == 5)
        }
    }

    // MARK: Versions

    @Test func registerAVersionAndReadItBackByNumberAndBranch() async throws {
        try await withTestServer { server in
            let body = #"""
                {"artifact_uri":"s3://b/m/1","digest":"\#(digest(1))","params":{"lr":"0.1"},"metrics":{"auc":0.91},
                 "tags":{"team":"risk"},"description":"first"}
                """#
            let created = try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: body)
            created.expect(.created)
            #expect(created.headers[.location] == "/v1/models/m/versions/1")
            #expect(created["version"] as? Int == 1)
            #expect(created["created_by"] as? String == "eddie")
            #expect((created["metrics"] as? [String: Any])?["auc"] as? Double == 0.91)
            #expect(try server.head("m", .develop) == 1)

            for ref in ["1", "develop"] {
                let shown = try await server.send(.get, "/v1/models/m/versions/\(ref)", as: .reader)
                shown.expect(.ok)
                #expect(shown["artifact_uri"] as? String == "s3://b/m/1", "ref \(ref)")
                #expect(shown["digest"] as? String == digest(1), "ref \(ref)")
            }
        }
    }

    @Test func unknownVersionsAndModelsAreNotFound() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.send(.get, "/v1/models/m/versions/9", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/x/versions/1", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/x/versions", as: .reader).expect(.notFound, code: "NOT_FOUND")
            // master holds nothing yet.
            try await server.send(.get, "/v1/models/m/versions/master", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/versions/zero", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    @Test func aDuplicateDigestIsAConflict() async throws {
        try await withTestServer { server in
            try await server.registerVersion(digest: digest(7))
            let versions = try server.versionCount()
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://x","digest":"\#(digest(7))"}"#)
                .expect(.conflict, code: "ALREADY_EXISTS", detailMentions: digest(7))
            #expect(try server.versionCount() == versions)
        }
    }

    @Test func versionsPageThroughACursorStableWhileVersionsAreAdded() async throws {
        try await withTestServer { server in
            for _ in 1...5 { try await server.registerVersion() }
            let first = try await server.send(.get, "/v1/models/m/versions?limit=2", as: .reader)
            first.expect(.ok)
            #expect(first.items.map { $0["version"] as? Int } == [5, 4])
            let cursor = try #require(first.nextCursor)
            // A version registered between two pages does not shift the next page.
            try await server.registerVersion()
            let second = try await server.send(.get, "/v1/models/m/versions?limit=2&cursor=\(cursor)", as: .reader)
            second.expect(.ok)
            #expect(second.items.map { $0["version"] as? Int } == [3, 2])
            let third = try await server.send(.get, "/v1/models/m/versions?limit=2&cursor=\(try #require(second.nextCursor))", as: .reader)
            #expect(third.items.map { $0["version"] as? Int } == [1])
            #expect(third.object["next_cursor"] is NSNull)

            try await server.send(.get, "/v1/models/m/versions?cursor=bogus", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT")
            for limit in ["many", "0", "-1", "1001", "-69856282070200920"] {
                try await server.send(.get, "/v1/models/m/versions?limit=\(limit)", as: .reader)
                    .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "limit")
            }
        }
    }

    @Test func deprecateAVersion() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let deprecated = try await server.send(.post, "/v1/models/m/versions/1/deprecate", as: .engineer, json: #"{"reason":"leaks"}"#)
            deprecated.expect(.ok)
            #expect(deprecated["status"] as? String == "deprecated")
            try await server.send(.post, "/v1/models/m/versions/1/deprecate", as: .engineer, json: #"{"reason":"again"}"#)
                .expect(.conflict, code: "CONFLICT")
            try await server.send(.post, "/v1/models/m/versions/2/deprecate", as: .engineer, json: #"{"reason":"x"}"#)
                .expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/x/versions/1/deprecate", as: .engineer, json: #"{"reason":"x"}"#)
                .expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/versions/1/deprecate", as: .engineer, json: #"{}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "reason")
            // A deprecated version cannot be promoted.
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release"}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "deprecated")
        }
    }

    // MARK: Reports

    @Test func attachAJSONReportAndAJUnitReportAndListThem() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let json = try await server.send(
                .post, "/v1/models/m/versions/1/reports", as: .engineer,
                json: #"{"suite":"unit","status":"passed","tests":12,"failures":0,"metrics":{"auc":0.93},"duration_s":1.5}"#)
            json.expect(.created)
            #expect(json["suite"] as? String == "unit")
            #expect(json["tests"] as? Int == 12)
            #expect((json["sha256"] as? String)?.count == 64)

            let junit = """
                <?xml version="1.0"?>
                <testsuite name="integration" tests="3" failures="1" errors="0" skipped="0" time="2.0">
                  <testcase name="a"/><testcase name="b"/><testcase name="c"><failure message="boom"/></testcase>
                </testsuite>
                """
            let xml = try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=e2e", as: .engineer, body: Array(junit.utf8),
                headers: [.contentType: "application/xml"])
            xml.expect(.created)
            #expect(xml["suite"] as? String == "e2e")
            #expect(xml["status"] as? String == "failed")
            #expect(xml["failures"] as? Int == 1)

            let listed = try await server.send(.get, "/v1/models/m/versions/1/reports", as: .reader)
            listed.expect(.ok)
            #expect(Set(listed.items.compactMap { $0["suite"] as? String }) == ["unit", "e2e"])
        }
    }

    @Test func reportsOfUnknownVersionsAreNotFoundAndBadDocumentsAreRefused() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let report = #"{"suite":"unit","status":"passed","tests":1}"#
            try await server.send(.post, "/v1/models/m/versions/4/reports", as: .engineer, json: report).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/x/versions/1/reports", as: .engineer, json: report).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/versions/4/reports", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(
                .post, "/v1/models/m/versions/1/reports?suite=unit", as: .engineer, body: Array("<testsuite name='x'>".utf8),
                headers: [.contentType: "application/xml"]
            ).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "XML")
            try await server.send(.post, "/v1/models/m/versions/1/reports", as: .engineer, json: #"{"suite":"unit","status":"maybe","tests":1}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "status")
            try await server.send(.post, "/v1/models/m/versions/one/reports", as: .engineer, json: report)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "one")
            #expect(try server.registry.reports(model: "m", version: 1).isEmpty)
        }
    }

    // MARK: Branches

    @Test func branchesAndABranchWithItsETag() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.promote(to: .release)
            let all = try await server.send(.get, "/v1/models/m/branches", as: .reader)
            all.expect(.ok)
            #expect(all.items.map { $0["branch"] as? String } == ["develop", "release", "master"])
            #expect(all.items.map { $0["version"] as? Int } == [1, 1, nil])

            let release = try await server.send(.get, "/v1/models/m/branches/release", as: .reader)
            release.expect(.ok)
            #expect(release["version"] as? Int == 1)
            let etag = try #require(release.headers[.eTag])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""), "an entity tag is quoted: \(etag)")
            // Another move, even back to the same version, makes a new tag.
            try await server.registerVersion()
            try await server.promote(to: .release, version: 2)
            let moved = try await server.send(.get, "/v1/models/m/branches/release", as: .reader)
            #expect(moved.headers[.eTag] != etag)

            try await server.send(.get, "/v1/models/m/branches/prod", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "prod")
            try await server.send(.get, "/v1/models/x/branches/master", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/x/branches", as: .reader).expect(.notFound, code: "NOT_FOUND")
        }
    }
}

/// Follows `next_cursor` from `uri` to the last page and returns every page's items.
func collectPages(
    _ server: TestServer, _ uri: String, itemsKey: String = "items", role: Role = .admin, sourceLocation: SourceLocation = #_sourceLocation
) async throws -> [[[String: Any]]] {
    var pages: [[[String: Any]]] = []
    var cursor: String?
    repeat {
        let separator = uri.contains("?") ? "&" : "?"
        let page = try await server.send(.get, uri + (cursor.map { "\(separator)cursor=\($0)" } ?? ""), as: role, sourceLocation: sourceLocation)
        page.expect(.ok, sourceLocation: sourceLocation)
        pages.append(page.object[itemsKey] as? [[String: Any]] ?? [])
        #expect(page.object.keys.contains("next_cursor"), "\(page)", sourceLocation: sourceLocation)
        cursor = page.nextCursor
        if pages.count > 100 { break }
    } while cursor != nil
    return pages
}
