import Dispatch
import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// `GroupCommitWriter`: writes queued together share one commit, each stays all or nothing, and
/// nobody hears "done" before the commit.
///
/// To queue writes deterministically, the test holds the queue (as a busy leader would) until it
/// has seen the writes waiting in it, in order; no thread is blocked to do so.
@Suite struct GroupCommitTests {
    /// A writer on a database with table `t (x)` (and `child`, whose deferred foreign key fails
    /// only at COMMIT), and the file's path, in a directory removed afterwards.
    private static func withWriter(
        maxGroupSize: Int = 32, _ body: @Sendable (GroupCommitWriter, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let connection = try Connection(path: path)
            try connection.execute(
                script: """
                    CREATE TABLE t (x TEXT NOT NULL UNIQUE);
                    CREATE TABLE child (parent TEXT REFERENCES t(x) DEFERRABLE INITIALLY DEFERRED);
                    """)
            try await body(GroupCommitWriter(connection: connection, maxGroupSize: maxGroupSize), path)
        }
    }

    /// What is committed in `t`, read as another process would.
    private static func values(_ path: String) throws -> [String] {
        try Connection(path: path).query("SELECT x FROM t ORDER BY x").map { try $0.string(0) }
    }

    private static func insert(_ value: String) -> @Sendable (Connection) throws -> Void {
        { try $0.execute("INSERT INTO t VALUES (?)", [value]) }
    }

    /// Waits until `count` writes wait in the held queue.
    private static func waitUntilQueued(_ writer: GroupCommitWriter, _ count: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while writer.queued < count {
            guard ContinuousClock.now < deadline else {
                Issue.record("only \(writer.queued) of \(count) writes queued")
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Runs `first` and then `writes` queued together (`first` at the head of the queue, so it
    /// leads), and the outcome of each.
    private static func queuedTogether<T: Sendable>(
        _ writer: GroupCommitWriter, first: @escaping @Sendable (Connection) throws -> Void = { _ in },
        _ writes: [@Sendable (Connection) throws -> T]
    ) async throws -> (first: Result<Void, any Error>, rest: [Result<T, any Error>]) {
        writer.holdQueue()
        let head = Task { try await writer.write(first) }
        try await waitUntilQueued(writer, 1)
        let tasks = writes.map { write in Task { try await writer.write(write) } }
        try await waitUntilQueued(writer, 1 + writes.count)
        writer.releaseQueue()
        var rest: [Result<T, any Error>] = []
        for task in tasks { rest.append(await task.result) }
        return (await head.result, rest)
    }

    @Test func writesQueuedTogetherShareOneCommitAndAllLand() async throws {
        try await Self.withWriter { writer, path in
            let outcome = try await Self.queuedTogether(writer, first: Self.insert("w0"), (1...20).map { Self.insert("w\($0)") })
            try outcome.first.get()
            for result in outcome.rest { try result.get() }
            #expect(try Self.values(path).count == 21)
            #expect(writer.totals == WriteTotals(commits: 1, writes: 21), "the first write and the twenty behind it")
        }
    }

    @Test func aFailingWriteRollsBackAloneAndItsNeighboursCommit() async throws {
        try await Self.withWriter { writer, path in
            let outcome = try await Self.queuedTogether(
                writer, first: Self.insert("a"),
                [
                    { @Sendable connection in
                        try connection.execute("INSERT INTO t VALUES ('b-half')")
                        try connection.execute("INSERT INTO t VALUES ('a')")  // UNIQUE: fails
                    },
                    Self.insert("c"),
                ])
            try outcome.first.get()
            #expect(throws: SQLiteError.self) { try outcome.rest[0].get() }
            if case .failure(let error as SQLiteError) = outcome.rest[0] { #expect(error.extendedCode == SQLiteError.constraintUnique) }
            try outcome.rest[1].get()
            #expect(try Self.values(path) == ["a", "c"])
            #expect(writer.totals == WriteTotals(commits: 1, writes: 2), "the three shared one commit; the failed one is not counted")
        }
    }

    @Test func aWriteReturnsOnlyOnceItIsCommitted() async throws {
        try await Self.withWriter { writer, path in
            for n in 0..<50 {
                try await writer.write(Self.insert("v\(n)"))
                // Another connection, as another process would, sees it the moment the write returns.
                #expect(try Self.values(path).contains("v\(n)"))
            }
            #expect(writer.totals == WriteTotals(commits: 50, writes: 50), "nobody to share with: a group of one each")
        }
    }

    @Test func aFailedCommitFailsEveryWriteInTheGroupAndLeavesNothing() async throws {
        try await Self.withWriter { writer, path in
            let outcome = try await Self.queuedTogether(
                writer, first: Self.insert("innocent"),
                [{ @Sendable in try $0.execute("INSERT INTO child VALUES ('nobody')") }])  // the deferred key fails at COMMIT
            for result in [outcome.first] + outcome.rest {
                #expect(throws: SQLiteError.self) { try result.get() }
                if case .failure(let error as SQLiteError) = result { #expect(error.extendedCode == SQLiteError.constraintForeignKey) }
            }
            #expect(try Self.values(path) == [])
            // The writer is free again: the next write commits on its own.
            try await writer.write(Self.insert("after"))
            #expect(try Self.values(path) == ["after"])
        }
    }

    /// A refusal may rest on state the group has not committed yet (here: "taken" was inserted by
    /// the held write); if that state rolls back, the refusal was not true either.
    @Test func aRefusalDrawnFromTheGroupsStateFailsWithItsCommit() async throws {
        try await Self.withWriter { writer, path in
            let outcome = try await Self.queuedTogether(
                writer, first: Self.insert("taken"),
                [
                    Self.insert("taken"),  // UNIQUE, against the uncommitted row
                    { @Sendable in try $0.execute("INSERT INTO child VALUES ('nobody')") },  // fails the whole group at COMMIT
                ])
            for result in outcome.rest {
                #expect(throws: SQLiteError.self) { try result.get() }
                if case .failure(let error as SQLiteError) = result {
                    #expect(error.extendedCode == SQLiteError.constraintForeignKey, "answered with the commit's failure")
                }
            }
            #expect(try Self.values(path) == [])
        }
    }

    /// A write that ends the group's transaction (SQLite does so itself after SQLITE_FULL or an
    /// I/O error; here the write runs ROLLBACK) takes the group's earlier writes with it: their
    /// callers hear that their group was rolled back, not the failing write's own error.
    @Test func aWriteThatEndsTheTransactionFailsItsGroupEachWithItsOwnError() async throws {
        try await Self.withWriter { writer, path in
            let outcome = try await Self.queuedTogether(
                writer, first: Self.insert("earlier"),
                [
                    { @Sendable in try $0.execute("ROLLBACK") },
                    Self.insert("later"),  // runs in a new group
                ])
            let earlier = #expect(throws: SQLiteError.self) { try outcome.first.get() }
            #expect(earlier?.code == 4, "SQLITE_ABORT: rolled back with its group")
            #expect(earlier?.message.contains("rolled back with its group") == true)
            let rogue = #expect(throws: SQLiteError.self) { try outcome.rest[0].get() }
            #expect(rogue?.message.contains("rolled back with its group") == false)
            try outcome.rest[1].get()
            #expect(try Self.values(path) == ["later"])
        }
    }

    @Test func aGroupSpansAtMostMaxGroupSizeWrites() async throws {
        try await Self.withWriter(maxGroupSize: 2) { writer, path in
            let outcome = try await Self.queuedTogether(writer, first: Self.insert("w0"), (1...5).map { Self.insert("w\($0)") })
            for result in outcome.rest { try result.get() }
            #expect(try Self.values(path).count == 6)
            #expect(writer.totals == WriteTotals(commits: 3, writes: 6), "six queued writes, two per group")
            #expect(writer.queued == 0)
        }
    }

    /// A pause (the WAL checkpointer's last step) waits for the group before it, runs alone with
    /// no write in between, and the writes queued behind it run once it is done.
    @Test func aPauseRunsAloneBetweenTwoGroups() async throws {
        try await Self.withWriter { writer, path in
            writer.holdQueue()
            let before = (0..<3).map { n in Task { try await writer.write(Self.insert("before\(n)")) } }
            try await Self.waitUntilQueued(writer, 3)
            // On a thread of its own, as the checkpointer calls it.
            let seen = SharedList<[String]>()
            let pause = Task { try await onThreads(1) { _ in seen.append(try writer.pausingWrites { try Self.values(path) }) } }
            try await Self.waitUntilQueued(writer, 4)
            let after = Task { try await writer.write(Self.insert("after")) }
            try await Self.waitUntilQueued(writer, 5)
            writer.releaseQueue()
            try await pause.value
            #expect(seen.elements == [["before0", "before1", "before2"]], "the group ahead committed; the write behind had not run")
            for task in before + [after] { try await task.value }
            #expect(try Self.values(path).count == 4)
            #expect(writer.totals == WriteTotals(commits: 2, writes: 4), "the pause split the queue into two groups")
            #expect(writer.queued == 0)
        }
    }

    /// A pause when nothing is writing runs at once, and writes go on after it.
    @Test func aPauseOnAnIdleWriterRunsAtOnce() async throws {
        try await Self.withWriter { writer, path in
            #expect(try writer.pausingWrites { try Self.values(path) } == [])
            try await writer.write(Self.insert("x"))
            #expect(try Self.values(path) == ["x"])
        }
    }

    /// A lone write runs on its caller's thread: no hop to another thread and back.
    @Test func aLoneWriteRunsOnItsCallersThread() async throws {
        try await Self.withWriter { writer, _ in
            for _ in 0..<20 {
                let caller = pthread_self()
                let inside = try await writer.write { _ in pthread_self() }
                #expect(pthread_equal(caller, inside) != 0)
            }
        }
    }

    /// Writes from many tasks at once all land, in groups, and leave nothing queued.
    @Test func concurrentWritesAllLandInGroups() async throws {
        try await Self.withWriter(maxGroupSize: 8) { writer, path in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for n in 0..<400 { tasks.addTask { try await writer.write(Self.insert("c\(n)")) } }
                try await tasks.waitForAll()
            }
            #expect(try Self.values(path).count == 400)
            #expect(writer.totals.writes == 400)
            #expect(writer.totals.commits <= 400)
            #expect(writer.queued == 0)
        }
    }

    /// The writer owns the write connection; a `Database` that is gone has closed it (and with it
    /// the file).
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd")))
    func aDatabaseThatIsGoneHasClosedItsWriteConnection() async throws {
        try await withTemporaryDirectory { directory in
            var database: Database? = try Database(
                path: directory.file("db.sqlite"), writes: .groupCommit(),
                prepare: { try $0.execute("CREATE TABLE t (x TEXT NOT NULL)") })
            try await database?.write { try $0.execute("INSERT INTO t VALUES ('x')") }
            #expect(try !openFiles(in: directory).isEmpty)
            database = nil
            #expect(try openFiles(in: directory) == [])
        }
    }

    @Test func aDatabaseWithGroupCommitCountsItsGroups() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(
                path: directory.file("db.sqlite"), writes: .groupCommit(),
                prepare: { try $0.execute("CREATE TABLE t (x TEXT NOT NULL)") })
            try await database.write { connection in try connection.execute("INSERT INTO t VALUES ('x')") }
            #expect(database.writeTotals == WriteTotals(commits: 1, writes: 1))
            #expect(try database.read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) } == 1)
        }
    }
}
