import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Changing requests through the router write through the group-committing writer, each
/// answered once committed. Only the write itself runs in the group: a report upload parses its
/// document (up to 10 MiB) before it writes, and the write takes the parsed report.
@Suite struct GroupCommitRouteTests {
    @Test func concurrentRegistrationsAllLandThroughTheGroupWriter() async throws {
        try await withTestServer { server in
            let before = server.registry.writeTotals
            try await withThrowingTaskGroup(of: Int.self) { requests in
                for n in 0..<16 {
                    requests.addTask {
                        let reply = try await server.send(
                            .post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://m/\#(n)"}"#)
                        reply.expect(.created)
                        return reply["version"] as? Int ?? 0
                    }
                }
                var versions: [Int] = []
                for try await version in requests { versions.append(version) }
                #expect(versions.sorted() == Array(1...16))
            }
            #expect(server.registry.writeTotals.writes - before.writes == 16)
            #expect(try server.registry.verifyAudit().ok)
        }
    }

    @Test func aReportUploadIsOneWrite() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://m/1"}"#).expect(.created)
            let before = server.registry.writeTotals
            try await server.send(
                .post, "/v1/models/m/versions/1/reports", as: .engineer,
                json: #"{"suite":"unit","status":"passed","tests":1,"failures":0}"#
            ).expect(.created)
            #expect(server.registry.writeTotals.writes - before.writes == 1, "the report's insert, committed before the answer")
            #expect(try server.registry.reports(model: "m", version: 1).count == 1)
        }
    }
}
