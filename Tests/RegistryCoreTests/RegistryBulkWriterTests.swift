import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// `RegistryBulkWriter` writes what the registry's operations write: the same changes at the
/// same times leave the same rows in every table, audit chain included.
@Suite struct RegistryBulkWriterTests {
    private static let tables = ["models", "branches", "versions", "transitions", "audit_log"]

    /// Every row of the registry's tables, in key order, as text.
    private static func rows(_ path: String) throws -> [String: [[String]]] {
        let connection = try Connection(path: path)
        var all: [String: [[String]]] = [:]
        for table in tables {
            all[table] = try connection.query("SELECT * FROM \(table) ORDER BY 1, 2").map { row in
                (0..<row.count).map { "\(row[$0])" }
            }
        }
        return all
    }

    @Test func theBulkWriterLeavesTheRowsTheOperationsLeave() async throws {
        try await withTemporaryDirectory { directory in
            let request = { (n: Int) in
                RegisterRequest(
                    artifactURI: "s3://m/\(n)", digest: "sha256:" + String(repeating: String(n), count: 64), params: ["lr": "0.\(n)"],
                    metrics: ["accuracy": 0.9 + Double(n) / 100], tags: ["team": "t"], parent: n > 1 ? n - 1 : nil, description: "v\(n)")
            }
            let start = TestClock.time("2026-11-22T10:00:00Z").millisecondsSinceEpoch
            let at = { (step: Int) in Timestamp(millisecondsSinceEpoch: start + Int64(step) * 1000) }

            // Through the registry, one operation at a time (no policy: every gate passes).
            let clock = TestClock(at(0))
            let viaRegistry = directory.file("registry.db")
            let registry = try Registry(path: viaRegistry, clock: { clock() })
            _ = try await registry.createModel(name: "m", by: Caller(name: "ci", role: .admin))
            var step = 1
            for n in 1...3 {
                clock.set(at(step))
                _ = try await registry.register(model: "m", request(n), by: Caller(name: "ci", role: .engineer))
                clock.set(at(step + 1))
                _ = try await registry.promote(model: "m", PromoteRequest(to: .release, version: n), by: Caller(name: "rm", role: .releaseManager))
                step += 2
            }

            // The same changes in one transaction through the bulk writer.
            let viaBulk = directory.file("bulk.db")
            _ = try Registry(path: viaBulk)
            let connection = try Connection(path: viaBulk)
            try connection.transaction(.immediate) { connection in
                let writer = RegistryBulkWriter(connection: connection)
                try writer.createModel("m", actor: "ci", at: at(0))
                var step = 1
                for n in 1...3 {
                    #expect(try writer.register(model: "m", request(n), actor: "ci", at: at(step)) == n)
                    try writer.promote(model: "m", to: .release, version: n, actor: "rm", at: at(step + 1))
                    step += 2
                }
            }

            let expected = try Self.rows(viaRegistry)
            #expect(expected["audit_log"]?.count == 7)
            #expect(try Self.rows(viaBulk) == expected)
            #expect(try Registry(path: viaBulk).verifyAudit().ok)
        }
    }
}
