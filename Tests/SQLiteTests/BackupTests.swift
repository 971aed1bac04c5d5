import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// `Database.backup(to:)`: a consistent copy that opens as a database of its own.
@Suite struct BackupTests {
    private static func fill(_ database: Database) async throws {
        try await database.write { connection in
            try connection.execute(script: """
                CREATE TABLE models (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, weights BLOB, score REAL);
                CREATE INDEX models_score ON models (score);
                CREATE VIEW best AS SELECT name FROM models WHERE score > 0.9;
                """)
            for n in 0..<500 {
                try connection.execute(
                    "INSERT INTO models (name, weights, score) VALUES (?, ?, ?)",
                    ["model-\(n) 🧠", (0..<(n % 64)).map { UInt8(truncatingIfNeeded: $0 &* n) }, Double(n) / 500])
            }
        }
    }

    @Test func backupOpensWithTheSameSchemaAndRows() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await Self.fill(database)
            let copyPath = directory.file("copy.sqlite")

            try database.backup(to: copyPath)

            let original = try database.read { try DatabaseSnapshot($0) }
            let copy = try Connection(path: copyPath)
            #expect(try DatabaseSnapshot(copy) == original)
            #expect(original.contents["models"]?.count == 500)
            #expect(try copy.query("PRAGMA integrity_check").map(\.values) == [["ok"]])
            #expect(try copy.queryFirst("SELECT count(*) FROM best")?.int(0) == 49)
        }
    }

    @Test func backupHoldsOnlyCommittedDataAndDoesNotWaitForAWriter() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path)
            try await Self.fill(database)
            let other = try Connection(path: path)
            try other.execute("BEGIN IMMEDIATE")
            try other.execute("INSERT INTO models (name) VALUES (?)", ["uncommitted"])

            let clock = ContinuousClock()
            let start = clock.now
            try database.backup(to: directory.file("copy.sqlite"))
            #expect(clock.now - start < .seconds(5))
            try other.execute("ROLLBACK")

            let copy = try Connection(path: directory.file("copy.sqlite"))
            #expect(try copy.queryFirst("SELECT count(*) FROM models")?.int(0) == 500)
            #expect(try copy.queryFirst("SELECT count(*) FROM models WHERE name = 'uncommitted'")?.int(0) == 0)
        }
    }

    @Test func backupOfTheLatestCommitIncludesDataStillInTheWAL() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await Self.fill(database)
            // Recent commits live in the -wal file until a checkpoint; the copy must have them.
            try await database.write { try $0.execute("DELETE FROM models WHERE id > 100") }
            try database.backup(to: directory.file("copy.sqlite"))
            let copy = try Connection(path: directory.file("copy.sqlite"))
            #expect(try copy.queryFirst("SELECT count(*), max(id) FROM models")?.values == [100, 100])
            #expect(try copy.query("PRAGMA integrity_check").map(\.values) == [["ok"]])
        }
    }

    @Test func backupToADirectoryFails() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await Self.fill(database)
            let target = directory.file("subdirectory")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            let error = #expect(throws: SQLiteError.self) { try database.backup(to: target) }
            #expect(error?.isCannotOpen == true)
        }
    }
}
