import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// Separate `Database` objects (as in separate processes) on one file: the busy timeout makes a
/// writer wait for another's lock instead of failing
/// (https://www.sqlite.org/c3ref/busy_timeout.html).
@Suite struct BusyTimeoutTests {
    @Test func twoDatabasesWritingConcurrentlyBothSucceed() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let first = try Database(path: path)
            let second = try Database(path: path)
            try await first.write { try $0.execute("CREATE TABLE t (database INTEGER NOT NULL, n INTEGER NOT NULL)") }

            let writesEach = 200
            try await concurrently(2) { index in
                let database = index == 0 ? first : second
                for n in 0..<writesEach {
                    try await database.write { connection in
                        try connection.execute("INSERT INTO t VALUES (?, ?)", [index, n])
                    }
                }
            }

            let counts = try second.read { try $0.query("SELECT database, count(*) FROM t GROUP BY database ORDER BY database") }
            #expect(counts.map(\.values) == [[0, .integer(Int64(writesEach))], [1, .integer(Int64(writesEach))]])
        }
    }

    @Test func manyDatabasesWritingAndReadingConcurrentlyAllSucceed() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            try await Database(path: path).write { try $0.execute("CREATE TABLE t (n INTEGER NOT NULL)") }
            try await concurrently(4) { _ in
                // Each task opens its own, as separate processes would.
                let database = try Database(path: path)
                for n in 0..<50 {
                    try await database.write { try $0.execute("INSERT INTO t VALUES (?)", [n]) }
                    _ = try database.read { try $0.queryFirst("SELECT count(*) FROM t") }
                }
            }
            #expect(try Database(path: path).read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) } == 200)
        }
    }

    @Test func aWriterWaitsForAnotherConnectionsLock() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path, options: Connection.Options(busyTimeoutMilliseconds: 10_000))
            try await database.write { try $0.execute("CREATE TABLE t (x)") }

            // Another connection (another process, say) holds the write lock for 300 ms.
            // Handed to the thread below, its only user from then on.
            nonisolated(unsafe) let holder = try Connection(path: path)
            try holder.execute("BEGIN IMMEDIATE")
            try holder.execute("INSERT INTO t VALUES (?)", ["holder"])
            let committed = Counter()
            Thread {
                Thread.sleep(forTimeInterval: 0.3)
                committed.increment()
                try? holder.execute("COMMIT")
            }.start()
            let clock = ContinuousClock()
            let start = clock.now
            try await database.write { connection in
                try connection.execute("INSERT INTO t VALUES (?)", ["waiter"])
            }
            #expect(committed.value == 1, "the write waited for the holder's commit")
            #expect(clock.now - start >= .milliseconds(250))
            #expect(try database.read { try $0.query("SELECT x FROM t ORDER BY rowid") }.map(\.values) == [["holder"], ["waiter"]])
        }
    }

    @Test func openingWaitsForAWriterBeforeSwitchingToWAL() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            // A file still in rollback-journal mode (as a fresh one is), with a write transaction
            // open on it, as another process switching it to WAL has for a moment. The switch
            // reads the header first, then asks for the write lock; SQLite answers that upgrade
            // BUSY without calling the busy handler (sqlite3BtreeBeginTrans on a read transaction).
            nonisolated(unsafe) let writer = try Connection(path: path)
            try writer.execute(script: "CREATE TABLE t (x); PRAGMA journal_mode=DELETE;")
            try writer.execute("BEGIN IMMEDIATE")
            try writer.execute("INSERT INTO t VALUES (?)", ["writer"])
            let committed = Counter()
            Thread {
                Thread.sleep(forTimeInterval: 0.3)
                committed.increment()
                try? writer.execute("COMMIT")
            }.start()

            let clock = ContinuousClock()
            let start = clock.now
            let connection = try Connection(path: path, options: Connection.Options(busyTimeoutMilliseconds: 10_000))
            #expect(committed.value == 1, "the open waited for the writer")
            #expect(clock.now - start >= .milliseconds(250))
            #expect(try connection.queryFirst("PRAGMA journal_mode")?.optionalString(0) == "wal")
            #expect(try connection.queryFirst("SELECT x FROM t")?.optionalString(0) == "writer")
        }
    }

    @Test func withoutABusyTimeoutALockedWriteFailsWithBusy() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path, options: Connection.Options(busyTimeoutMilliseconds: 0))
            try await database.write { try $0.execute("CREATE TABLE t (x)") }
            let holder = try Connection(path: path)
            try holder.execute("BEGIN IMMEDIATE")

            let error = await #expect(throws: SQLiteError.self) {
                try await database.write { try $0.execute("INSERT INTO t VALUES (1)") }
            }
            #expect(error?.isBusy == true)
            #expect(error?.code == 5)  // SQLITE_BUSY
            try holder.execute("COMMIT")
            try await database.write { try $0.execute("INSERT INTO t VALUES (1)") }
            #expect(try database.read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) } == 1)
        }
    }
}
