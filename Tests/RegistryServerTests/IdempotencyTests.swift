import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import SQLite
import Testing

@testable import RegistryServer

/// `Idempotency-Key` on the POSTs that create: a replay answers the first response and
/// writes nothing; the same key with another request is a conflict.
@Suite struct IdempotencyTests {
    /// A creating POST and, for the reuse check, a different body for the same target.
    struct Creation: Sendable, CustomTestStringConvertible {
        let uri: String
        let role: Role
        let body: String
        let otherBody: String
        /// What must exist before the POST can create (version 1 of `m` always does).
        var prepare: @Sendable (TestServer) async throws -> Void = { _ in }
        var testDescription: String { "POST \(uri)" }
    }

    static let creations: [Creation] = [
        Creation(uri: "/v1/models", role: .engineer, body: #"{"name":"idem"}"#, otherBody: #"{"name":"idem-2"}"#),
        Creation(uri: "/v1/models/m/versions", role: .engineer, body: #"{"artifact_uri":"s3://a"}"#, otherBody: #"{"artifact_uri":"s3://b"}"#),
        Creation(
            uri: "/v1/models/m/versions/1/reports", role: .engineer, body: #"{"suite":"unit","status":"passed","tests":3}"#,
            otherBody: #"{"suite":"unit","status":"failed","tests":3,"failures":1}"#),
        Creation(uri: "/v1/models/m/versions/1/approvals", role: .releaseManager, body: #"{"to":"master"}"#, otherBody: #"{"to":"release"}"#),
        Creation(
            uri: "/v1/models/m/rollout", role: .releaseManager, body: #"{"version":3,"steps":[50,100]}"#, otherBody: #"{"version":3}"#,
            prepare: { server in
                try await server.promote(to: .release)
                try await server.promote(to: .master)
                try await server.registerVersion()
                try await server.registerVersion()
                try await server.promote(to: .release, version: 3)
            }),
    ]

    @Test(arguments: creations)
    func aReplayAnswersTheFirstResponseAndWritesNothing(_ creation: Creation) async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await creation.prepare(server)
            let key: HTTPFields = [.idempotencyKey: "key-\(UUID().uuidString)"]
            let first = try await server.send(.post, creation.uri, as: creation.role, json: creation.body, headers: key)
            first.expect(.created)
            #expect(first.headers[.idempotentReplayed] == nil)
            let audit = try server.auditCount()
            let versions = try server.versionCount()
            let models = try server.registry.counts().models
            let reports = try server.registry.reports(model: "m", version: 1).count

            let replay = try await server.send(.post, creation.uri, as: creation.role, json: creation.body, headers: key)
            #expect(replay.status == first.status)
            #expect(replay.bytes == first.bytes, "replay: \(replay)\nfirst: \(first)")
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(replay.headers[.contentType] == first.headers[.contentType])
            #expect(replay.headers[.location] == first.headers[.location], "a replay answers the first response, Location included")
            #expect(try server.auditCount() == audit)
            #expect(try server.versionCount() == versions)
            #expect(try server.registry.counts().models == models)
            #expect(try server.registry.reports(model: "m", version: 1).count == reports)

            let reused = try await server.send(.post, creation.uri, as: creation.role, json: creation.otherBody, headers: key)
            reused.expect(.conflict, code: "CONFLICT", detailMentions: "Idempotency-Key")
            #expect(try server.auditCount() == audit)
        }
    }

    /// A client that lost the first answer asks again while the first request still runs:
    /// the copies wait for one another on the write lock, one makes the change, and every one
    /// gets its answer.
    @Test func copiesSentTogetherMakeOneChangeAndGetOneAnswer() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let versions = try server.versionCount()
            let key: HTTPFields = [.idempotencyKey: "together"]
            let answers = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 1...8 {
                    group.addTask {
                        try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://a"}"#, headers: key)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.status == .created }, "\(answers)")
            #expect(Set(answers.map(\.bytes)).count == 1, "every copy gets the first answer: \(answers)")
            #expect(answers.filter { $0.headers[.idempotentReplayed] == nil }.count == 1, "one copy made the change")
            #expect(try server.versionCount() == versions + 1)
        }
    }

    /// The key's record and the answer are written in the change's own transaction: one
    /// commit for a keyed registration, as for one without a key.
    @Test func aKeyedChangeIsOneCommit() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let before = server.registry.writeTotals
            try await server.send(
                .post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://a"}"#, headers: [.idempotencyKey: "one-commit"]
            ).expect(.created)
            #expect(server.registry.writeTotals == WriteTotals(commits: before.commits + 1, writes: before.writes + 1))
        }
    }

    /// A server before this one claimed a key in a transaction of its own and stored the
    /// answer in another; a claim it left without an answer (it stopped in between) does not
    /// block the key: the request runs, and its answer is kept.
    @Test func aClaimAnEarlierServerLeftUnansweredRunsTheRequest() async throws {
        let body = #"{"artifact_uri":"s3://after-a-crash"}"#
        let target = "POST /v1/models/m/versions\napplication/json\n"
        try await withTestServer(prepare: { path in
            let connection = try Connection(path: path)
            try Migrator(migrations: Registry.migrations).migrate(connection)
            try connection.execute(
                """
                INSERT INTO idempotency_keys (actor, key, method, path, request_hash, created_at)
                VALUES (?, 'claimed', 'POST', '/v1/models/m/versions', ?, 1)
                """, [Tokens.names[.engineer] ?? "", AuditChain.sha256(Array(target.utf8) + Array(body.utf8))])
        }) { server in
            let key: HTTPFields = [.idempotencyKey: "claimed"]
            let first = try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: body, headers: key)
            first.expect(.created)
            #expect(first.headers[.idempotentReplayed] == nil)
            let replay = try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: body, headers: key)
            #expect(replay.bytes == first.bytes)
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(try server.versionCount() == 1)
        }
    }

    /// Answers stored before migration 5 (status, content type, headers and body in columns of
    /// their own) were rewritten by it: a retry after the upgrade still gets its first answer.
    @Test func anAnswerStoredBeforeMigration5IsStillReplayed() async throws {
        let body = #"{"artifact_uri":"s3://before-the-upgrade"}"#
        let target = "POST /v1/models/m/versions\napplication/json\n"
        let stored = #"{"artifact_uri":"s3://before-the-upgrade","model":"m","version":7}"#
        try await withTestServer(prepare: { path in
            let connection = try Connection(path: path)
            try Migrator(migrations: Array(Registry.migrations.prefix(4))).migrate(connection)
            try connection.execute(
                """
                INSERT INTO idempotency_keys (actor, key, method, path, request_hash, status, content_type, headers, body, created_at)
                VALUES (?, 'old-key', 'POST', '/v1/models/m/versions', ?, 201, 'application/json', '{"Location":"/v1/models/m/versions/7"}', ?, 1)
                """, [Tokens.names[.engineer] ?? "", AuditChain.sha256(Array(target.utf8) + Array(body.utf8)), Array(stored.utf8)])
        }) { server in
            let replay = try await server.send(
                .post, "/v1/models/m/versions", as: .engineer, json: body, headers: [.idempotencyKey: "old-key"])
            replay.expect(.created)
            #expect(replay.text == stored)
            #expect(replay.headers[.location] == "/v1/models/m/versions/7")
            #expect(replay.headers[.contentType] == "application/json")
            #expect(replay.headers[.idempotentReplayed] == "true")
            #expect(try server.versionCount() == 0, "a replay writes nothing")
        }
    }

    @Test func withoutAKeyEveryPostCreates() async throws {
        try await withTestServer { server in
            for _ in 1...2 {
                try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://a"}"#).expect(.created)
            }
            #expect(try server.versionCount() == 2)
        }
    }

    @Test func keysBelongToTheirCaller() async throws {
        try await withTestServer { server in
            let key: HTTPFields = [.idempotencyKey: "shared"]
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://a"}"#, headers: key).expect(.created)
            let other = try await server.send(.post, "/v1/models/m/versions", as: .admin, json: #"{"artifact_uri":"s3://a"}"#, headers: key)
            other.expect(.created)
            #expect(other.headers[.idempotentReplayed] == nil)
            #expect(try server.versionCount() == 2)
        }
    }

    @Test func theSameKeyOnAnotherTargetIsAConflict() async throws {
        try await withTestServer { server in
            try await server.registerVersion("a")
            try await server.registerVersion("b")
            let key: HTTPFields = [.idempotencyKey: "k"]
            try await server.send(.post, "/v1/models/a/versions", as: .engineer, json: #"{"artifact_uri":"s3://x"}"#, headers: key).expect(.created)
            try await server.send(.post, "/v1/models/b/versions", as: .engineer, json: #"{"artifact_uri":"s3://x"}"#, headers: key)
                .expect(.conflict, code: "CONFLICT")
            #expect(try server.versionCount() == 3)
        }
    }

    @Test func aRefusedFirstRequestIsReplayedAsRefused() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let key: HTTPFields = [.idempotencyKey: "dup"]
            try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"m"}"#, headers: key).expect(.conflict, code: "ALREADY_EXISTS")
            let again = try await server.send(.post, "/v1/models", as: .engineer, json: #"{"name":"m"}"#, headers: key)
            again.expect(.conflict, code: "ALREADY_EXISTS")
        }
    }

    @Test func anOverlongKeyIsRefused() async throws {
        try await withTestServer { server in
            let key: HTTPFields = [.idempotencyKey: String(repeating: "k", count: 256)]
            try await server.send(.post, "/v1/models/m/versions", as: .engineer, json: #"{"artifact_uri":"s3://a"}"#, headers: key)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "Idempotency-Key")
            #expect(try server.versionCount() == 0)
        }
    }
}

/// The form the server stores an answer in for replays.
@Suite struct StoredAnswerTests {
    @Test func anAnswerReadsBackAsItWasStored() throws {
        var response = APIResponse(status: .created, contentType: "application/json", body: Array(#"{"version":7}"#.utf8))
        response.headers[.location] = "/v1/models/m/versions/7"
        let stored = StoredAnswer.encode(response)
        let replay = try StoredAnswer.decode(stored)
        #expect(replay.status == .created)
        #expect(replay.contentType == "application/json")
        #expect(replay.body == response.body)
        #expect(replay.headers[.location] == "/v1/models/m/versions/7")
    }

    /// A damaged row is an error, never a made-up answer.
    @Test func bytesWithoutAHeadLineAreRefused() {
        #expect(throws: RegistryError.self) { try StoredAnswer.decode(Array(#"{"version":7}"#.utf8)) }
        #expect(throws: (any Error).self) { try StoredAnswer.decode(Array("not json\n{}".utf8)) }
    }
}
