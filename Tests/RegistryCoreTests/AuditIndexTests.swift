import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// `AuditIndex`: lookups by model, actor, action and time answer exactly what reading the whole
/// log answers, across the entries already in `audit_index` and those after it, page by page.
@Suite struct AuditIndexTests {
    private static let models = ["fraud", "churn", "ranker"]
    private static let actors = ["alice", "bob", "ci-bot"]
    private static let start: Int64 = 1_767_225_600_000  // 2026-01-01

    /// A registry of 2.5 batches of entries: three models, three actors, registrations and
    /// promotions, with times that step back now and then as a clock may.
    private static func withFilledRegistry(_ body: (Registry, Connection) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            _ = try Registry(path: path)
            let connection = try Connection(path: path)
            let writer = RegistryBulkWriter(connection: connection)
            var tick: Int64 = 0
            func at() -> Timestamp {
                tick += 1
                return Timestamp(millisecondsSinceEpoch: start + tick * 1_000 - (tick % 40 == 0 ? 90_000 : 0))
            }
            try connection.transaction(.immediate) { _ in
                for model in models { try writer.createModel(model, actor: "alice", at: at()) }
                var entries = models.count
                var index = 0
                while entries < AuditIndex.batch * 5 / 2 {
                    let model = models[index % models.count]
                    let actor = actors[index / 2 % actors.count]
                    let version = try writer.register(model: model, RegisterRequest(artifactURI: "s3://m/\(index)"), actor: actor, at: at())
                    entries += 1
                    if index % 3 == 0 {
                        try writer.promote(model: model, to: .release, version: version, actor: actors[(index + 1) % actors.count], at: at())
                        entries += 1
                    }
                    index += 1
                }
            }
            try await body(try Registry(path: path), connection)
        }
    }

    /// Every page of `query`, in order.
    private static func allPages(_ registry: Registry, _ query: AuditQuery) throws -> [Int] {
        var query = query
        var seqs: [Int] = []
        repeat {
            let page = try registry.auditLog(query)
            seqs += page.items.map(\.seq)
            query.cursor = page.nextCursor
        } while query.cursor != nil
        return seqs
    }

    /// What reading every entry gives for `query`, newest first.
    private static func scanned(_ connection: Connection, _ query: AuditQuery) throws -> [Int] {
        try connection.query("SELECT seq, at, actor, action, model FROM audit_log ORDER BY seq DESC").filter { row in
            let at = try row.int64(1)
            return try (query.model == nil || row.optionalString(4) == query.model)
                && (query.actor == nil || row.string(2) == query.actor)
                && (query.action == nil || row.string(3) == query.action)
                && (query.since.map { at >= $0.millisecondsSinceEpoch } ?? true)
                && (query.until.map { at <= $0.millisecondsSinceEpoch } ?? true)
        }.map { try $0.int(0) }
    }

    @Test func lookupsAnswerWhatReadingTheWholeLogAnswers() async throws {
        try await Self.withFilledRegistry { registry, connection in
            let total = try #require(try connection.queryFirst("SELECT max(seq) FROM audit_log")).int(0)
            let indexed = try AuditIndex.indexedThrough(connection)
            #expect(indexed == 2 * AuditIndex.batch, "two batches indexed, the rest not yet")
            #expect(total > indexed)
            let window = (since: Timestamp(millisecondsSinceEpoch: Self.start + 100_000), until: Timestamp(millisecondsSinceEpoch: Self.start + 600_000))
            let queries = [
                AuditQuery(limit: 37),
                AuditQuery(model: "churn", limit: 37),
                AuditQuery(model: "no-such-model", limit: 10),
                AuditQuery(actor: "bob", limit: 50),
                AuditQuery(action: "branch.promote", limit: 23),
                AuditQuery(action: "model.create", limit: 2),
                AuditQuery(model: "ranker", actor: "ci-bot", action: "version.register", limit: 11),
                AuditQuery(since: window.since, until: window.until, limit: 41),
                AuditQuery(since: window.until, limit: 100),
                AuditQuery(until: window.since, limit: 7),
                AuditQuery(model: "fraud", since: window.since, until: window.until, limit: 9),
            ]
            for query in queries {
                let expected = try Self.scanned(connection, query)
                #expect(try Self.allPages(registry, query) == expected, "\(query)")
            }
            #expect(try Self.scanned(connection, queries[1]).contains { $0 <= indexed } && Self.scanned(connection, queries[1]).contains { $0 > indexed },
                    "the model's entries lie on both sides of the index's end")

            // Below the index's end a lookup by model, actor or action reads the index, not the
            // log: without its rows it finds only the entries after it. A lookup by time alone
            // and a listing read the log.
            try connection.execute("DELETE FROM audit_index")
            #expect(try Self.allPages(registry, AuditQuery(model: "churn", limit: 37)).allSatisfy { $0 > indexed })
            #expect(try Self.allPages(registry, AuditQuery(actor: "bob", action: "branch.promote", limit: 37)).allSatisfy { $0 > indexed })
            #expect(try Self.allPages(registry, AuditQuery(until: window.since, limit: 7)) == Self.scanned(connection, AuditQuery(until: window.since)))
            #expect(try Self.allPages(registry, AuditQuery(limit: 100)).count == total)
        }
    }

    /// The change that completes a batch adds it to the index, in its own transaction.
    @Test func theEntryThatCompletesABatchIndexesIt() async throws {
        try await withTemporaryRegistry { registry in
            let path = registry.database.path
            let connection = try Connection(path: path)
            func indexRows() throws -> Int { try connection.queryFirst("SELECT count(*) FROM audit_index")?.int(0) ?? -1 }
            while try connection.queryFirst("SELECT max(seq) FROM audit_log")?.optionalInt(0) ?? 0 < AuditIndex.batch - 1 {
                _ = try await registry.registerVersion("fraud")
            }
            #expect(try AuditIndex.indexedThrough(connection) == 0)
            #expect(try indexRows() == 0)
            _ = try await registry.registerVersion("fraud")
            #expect(try AuditIndex.indexedThrough(connection) == AuditIndex.batch)
            // Each entry by model, actor and action.
            #expect(try indexRows() == 3 * AuditIndex.batch)
            #expect(try registry.auditLog(AuditQuery(model: "fraud", limit: 500)).items.count == AuditIndex.batch)
        }
    }
}
