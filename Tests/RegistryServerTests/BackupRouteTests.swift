import Foundation
import MregTestSupport
import RegistryCore
import Testing

/// `GET /v1/backup`: the whole database, for admins.
@Suite struct BackupRouteTests {
    @Test func anAdminGetsADatabaseThatOpensAsARegistryOfItsOwn() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/models/fraud/versions", as: .engineer, json: #"{"artifact_uri": "s3://m/1"}"#).expect(.created)
            let reply = try await server.send(.get, "/v1/backup", as: .admin)
            reply.expect(.ok)
            #expect(reply.headers[.contentType] == "application/vnd.sqlite3")
            #expect(reply.bytes.starts(with: Array("SQLite format 3\0".utf8)), "\(reply.bytes.prefix(16))")

            try withTemporaryDirectory { directory in
                let copy = directory.file("copy.db")
                try Data(reply.bytes).write(to: URL(fileURLWithPath: copy))
                let restored = try Registry(path: copy, workload: .oneShot)
                #expect(try restored.version(model: "fraud", .number(1)).artifactURI == "s3://m/1")
                #expect(try restored.verifyAudit().ok)
                #expect(try restored.verifyAudit().entries == (try server.registry.verifyAudit().entries))
            }
        }
    }

    @Test(arguments: [Role.reader, .auditor, .engineer, .releaseManager])
    func belowAdminTheBackupIsRefused(role: Role) async throws {
        try await withTestServer { server in
            try await server.send(.get, "/v1/backup", as: role).expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "admin")
        }
    }
}
