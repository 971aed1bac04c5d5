import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Changing requests through the router share commits (`Registry.withGroupCommit`); a report
/// upload, which may parse 10 MiB before it writes, and the checkpoint, which writes nothing,
/// stay off the write thread.
@Suite struct GroupCommitRouteTests {
    @Test func concurrentRegistrationsAllLandThroughTheWriteThread() async throws {
        try await withTestServer { server in
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
            #expect(server.registry.groupCommitTotals.writes == 16)
            #expect(try server.registry.verifyAudit().ok)
        }
    }

    @Test func reportUploadsStayOffTheWriteThread() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://m/1"}"#).expect(.created)
            #expect(server.registry.groupCommitTotals.writes == 1)
            try await server.send(
                .post, "/v1/models/m/versions/1/reports", as: .engineer,
                json: #"{"suite":"unit","status":"passed","tests":1,"failures":0}"#
            ).expect(.created)
            #expect(server.registry.groupCommitTotals.writes == 1, "the report committed on its own")
            #expect(try server.registry.reports(model: "m", version: 1).count == 1)
        }
    }
}
