import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// `Database`: reads from pooled connections under WAL, writes serialized through one writer.
@Suite struct DatabaseTests {
    private static func count(_ connection: Connection, _ table: String = "t") throws -> Int {
        try #require(try connection.queryFirst("SELECT count(*) FROM \(table)")).int(0)
    }

    @Test func aLongRunningDatabaseReadsWithoutMemoryMapping() async throws {
        try await withTemporaryDirectory { directory in
            func mapSize(_ database: Database) throws -> Int? { try database.read { try $0.queryFirst("PRAGMA mmap_size")?.int(0) } }
            let tool = try Database(path: directory.file("tool.sqlite"))
            let server = try Database(path: directory.file("server.sqlite"), backgroundCheckpoint: .init(interval: .seconds(1)))
            #expect(try mapSize(tool) == 256 << 20)
            // Every commit would make each reader unmap and map the file again.
            #expect(try mapSize(server) == 0)
        }
    }

    @Test func theCheckpointThreadCarriesItsName() async throws {
        try await withTemporaryDirectory { directory in
            let server = try Database(path: directory.file("server.sqlite"), backgroundCheckpoint: .init(interval: .milliseconds(10)))
            // The thread names itself once it runs, which may be a moment after `init` returns.
            let deadline = ContinuousClock.now + .seconds(5)
            var names = try processThreadNames()
            while !names.contains(WALCheckpointer.threadName), ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.005)
                names = try processThreadNames()
            }
            #expect(names.contains(WALCheckpointer.threadName))
            withExtendedLifetime(server) {}
        }
    }

    @Test func closingStopsTheCheckpointThreadWithoutWaitingOutItsInterval() async throws {
        try await withTemporaryDirectory { directory in
            var server: Database? = try Database(path: directory.file("server.sqlite"), backgroundCheckpoint: .init(interval: .seconds(600)))
            try await server?.write { try $0.execute("CREATE TABLE t (x)") }
            let clock = ContinuousClock()
            let start = clock.now
            server = nil  // its deinit stops the thread and waits for it
            #expect(clock.now - start < .seconds(60), "the thread slept on instead of being woken")
        }
    }

    @Test func readSeesCommittedData() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { connection in
                try connection.execute("CREATE TABLE t (x)")
                try connection.execute("INSERT INTO t VALUES (?)", ["committed"])
            }
            #expect(try database.read { try $0.query("SELECT x FROM t") }.map(\.values) == [["committed"]])
            try await database.write { try $0.execute("INSERT INTO t VALUES (?)", ["second"]) }
            // A pooled reader that read before must not stay on its old snapshot.
            #expect(try database.read { try Self.count($0) } == 2)
        }
    }

    @Test func readDoesNotSeeNorWaitForAWriteInProgressElsewhere() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path)
            try await database.write { connection in
                try connection.execute("CREATE TABLE t (x)")
                try connection.execute("INSERT INTO t VALUES (?)", ["old"])
            }

            let other = try Connection(path: path)
            try other.execute("BEGIN IMMEDIATE")
            try other.execute("INSERT INTO t VALUES (?)", ["uncommitted"])

            // The busy timeout is 10 s: a reader that waited for the write lock would take that long.
            let clock = ContinuousClock()
            let start = clock.now
            let rows = try database.read { try $0.query("SELECT x FROM t ORDER BY rowid") }
            let elapsed = clock.now - start
            #expect(rows.map(\.values) == [["old"]])
            #expect(elapsed < .seconds(2))

            try other.execute("COMMIT")
            #expect(try database.read { try $0.query("SELECT x FROM t ORDER BY rowid") }.map(\.values) == [["old"], ["uncommitted"]])
        }
    }

    @Test func everyQueryInOneReadSeesTheSameSnapshot() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path)
            try await database.write { connection in
                try connection.execute("CREATE TABLE t (x)")
                try connection.execute("INSERT INTO t VALUES (1)")
            }
            let other = try Connection(path: path)
            let (before, after) = try database.read { connection in
                let before = try Self.count(connection)
                try other.execute("INSERT INTO t VALUES (2)")  // commits at once, outside the read
                return (before, try Self.count(connection))
            }
            #expect(before == 1)
            #expect(after == 1)
            #expect(try database.read { try Self.count($0) } == 2)
        }
    }

    @Test func concurrentWritesThroughOneDatabaseAllLand() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try $0.execute("CREATE TABLE t (writer INTEGER NOT NULL, n INTEGER NOT NULL, UNIQUE (writer, n))") }

            let writers = 8
            let writesEach = 100
            try await concurrently(writers) { writer in
                for n in 0..<writesEach {
                    try await database.write { connection in
                        try connection.execute("INSERT INTO t VALUES (?, ?)", [writer, n])
                    }
                }
            }

            #expect(try database.read { try Self.count($0) } == writers * writesEach)
            let perWriter = try database.read { try $0.query("SELECT writer, count(*) FROM t GROUP BY writer ORDER BY writer") }
            #expect(perWriter.map(\.values) == (0..<writers).map { [.integer(Int64($0)), .integer(Int64(writesEach))] })
        }
    }

    @Test func concurrentTasksWritingThroughOneDatabaseAllLand() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try $0.execute("CREATE TABLE t (n INTEGER NOT NULL)") }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for n in 0..<100 {
                            try await database.write { try $0.execute("INSERT INTO t VALUES (?)", [task * 100 + n]) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(try database.read { try Self.count($0) } == 800)
            #expect(try database.read { try $0.queryFirst("SELECT count(DISTINCT n), min(n), max(n) FROM t")?.values } == [800, 0, 799])
        }
    }

    @Test func readersRunningDuringWritesOnlySeeWholeTransactions() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try $0.execute("CREATE TABLE t (n INTEGER NOT NULL)") }
            let oddCounts = Counter()
            let reads = Counter()
            try await concurrently(4) { task in
                for n in 0..<100 {
                    if task == 0 {
                        // Every write adds two rows in one transaction.
                        try await database.write { connection in
                            try connection.execute("INSERT INTO t VALUES (?)", [n])
                            try connection.execute("INSERT INTO t VALUES (?)", [n])
                        }
                    } else {
                        let count = try database.read { try Self.count($0) }
                        if !count.isMultiple(of: 2) { oddCounts.increment() }
                        reads.increment()
                    }
                }
            }
            #expect(reads.value == 300)
            #expect(oddCounts.value == 0)
            #expect(try database.read { try Self.count($0) } == 200)
        }
    }

    @Test func aFailedReadLeavesItsConnectionUsable() async throws {
        struct Abort: Error {}
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"), maxIdleReaders: 1)
            try await database.write { try $0.execute("CREATE TABLE t (x)") }
            #expect(throws: Abort.self) {
                try database.read { connection in
                    _ = try connection.query("SELECT x FROM t")
                    throw Abort()
                }
            }
            #expect(throws: SQLiteError.self) { try database.read { try $0.query("SELECT nope FROM t") } }
            // The single pooled reader is borrowed again: it must not be left inside a transaction.
            try await database.write { try $0.execute("INSERT INTO t VALUES (1)") }
            #expect(try database.read { connection in (connection.isInTransaction, try Self.count(connection)) } == (true, 1))
            #expect(try database.read { try Self.count($0) } == 1)
        }
    }
}
