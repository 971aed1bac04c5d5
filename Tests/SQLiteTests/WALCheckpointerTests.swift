import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// `WALCheckpointer`: writes that never stop, read all the while, do not make the WAL grow
/// without bound, and a reader that holds an old snapshot delays the restart only while it does.
@Suite struct WALCheckpointerTests {
    private static let restartFrames = 128

    /// A server-style database (group commit, background checkpoint) on table `t`. Its
    /// checkpointer wakes for a long log at once, and otherwise every 100 ms.
    private static func withServerDatabase(_ body: @Sendable (Database, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(
                path: path, writes: .groupCommit(),
                backgroundCheckpoint: .init(interval: .milliseconds(100), restartFrames: restartFrames),
                prepare: { try $0.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)") })
            try await body(database, path)
        }
    }

    /// Frames the WAL file has room for (its size, not what is live in it).
    private static func walFileFrames(_ path: String) throws -> Int {
        let bytes = (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
        return max(0, bytes - 32) / (4096 + 24)
    }

    /// Writes of a 6 KiB payload (two pages each), `count` from each of `writers` tasks.
    private static func write(_ database: Database, writers: Int, count: Int) async throws {
        try await concurrently(writers) { _ in
            for _ in 0..<count {
                let payload = [UInt8](repeating: UInt8.random(in: 0...255), count: 6_000)
                try await database.write { try $0.execute("INSERT INTO t (payload) VALUES (?)", [payload]) }
            }
        }
    }

    @Test func theLogStaysBoundedUnderWritesThatNeverStopWhileReadersRead() async throws {
        try await Self.withServerDatabase { database, path in
            let done = Counter()
            let writing = Task {
                defer { done.increment() }
                try await Self.write(database, writers: 4, count: 400)
            }
            var largest = 0
            var reads = 0
            while done.value == 0 {
                _ = try database.read { try $0.queryFirst("SELECT count(*), max(id) FROM t") }
                largest = max(largest, try Self.walFileFrames(path))
                reads += 1
                try await Task.sleep(for: .milliseconds(1))
            }
            try await writing.value
            largest = max(largest, try Self.walFileFrames(path))
            #expect(try database.read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) } == 1_600)
            let totals = try #require(database.checkpointTotals)
            // 1,600 writes of two pages or more wrote 25 times `restartFrames`: without restarts the
            // file would hold them all. It overshoots `restartFrames` by what the writers add while
            // the checkpointer catches up (a few hundred frames here; BENCHMARKS.md has a server's).
            #expect(totals.restarts >= 3, "the log seldom started over: \(totals)")
            #expect(largest <= 8 * Self.restartFrames, "the WAL file reached \(largest) frames")
            #expect(reads > 0)
        }
    }

    /// After a restart the log's header still counts the old frames until the next write; an
    /// idle database must not pause writes to restart it again and again.
    @Test func anIdleDatabaseIsNotPausedAgainAfterItsLogRestarted() async throws {
        try await Self.withServerDatabase { database, _ in
            // One commit of ~300 pages: the log ends past `restartFrames`, with nothing after it.
            try await database.write { connection in
                for _ in 0..<150 {
                    try connection.execute("INSERT INTO t (payload) VALUES (?)", [[UInt8](repeating: 7, count: 6_000)])
                }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while try #require(database.checkpointTotals).restarts == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(300))  // any round already under way ends
            let settled = try #require(database.checkpointTotals)
            #expect(settled.restarts >= 1)
            try await Task.sleep(for: .milliseconds(600))  // six intervals with no write
            #expect(try #require(database.checkpointTotals).pauses == settled.pauses)
        }
    }

    @Test func aReaderHoldingAnOldSnapshotDelaysTheRestartOnlyWhileItReads() async throws {
        try await Self.withServerDatabase { database, path in
            try await Self.write(database, writers: 1, count: 10)
            let reader = try Connection(path: path)
            try reader.execute("BEGIN")
            _ = try reader.queryFirst("SELECT count(*) FROM t")  // holds this snapshot until COMMIT
            try await Self.write(database, writers: 2, count: 100)
            let held = try Self.walFileFrames(path)
            #expect(held > 2 * Self.restartFrames, "with the old snapshot held, no frame after it could be copied")
            try reader.execute("COMMIT")

            let restarts = try #require(database.checkpointTotals).restarts
            try await Self.write(database, writers: 2, count: 100)
            #expect(try #require(database.checkpointTotals).restarts > restarts, "the log started over once the reader left")
            #expect(try database.read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) } == 410)
        }
    }
}
