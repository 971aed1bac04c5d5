import MregTestSupport
import Dispatch
import Foundation
import Testing

@testable import SQLite

/// Group commit: concurrent writes on the `GroupCommitExecutor` share a transaction, each
/// stays all or nothing, and nobody hears "done" before the commit.
@Suite struct GroupCommitTests {
    /// A database with table `t (x)` (and `child`, whose deferred foreign key fails only at
    /// COMMIT), its group-commit executor, and a directory removed afterwards.
    private static func withGroupCommit(
        maxGroupSize: Int = 32, _ body: @Sendable (Database, GroupCommitExecutor, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let database = try Database(path: path)
            try database.write { connection in
                try connection.execute(
                    script: """
                        CREATE TABLE t (x TEXT NOT NULL UNIQUE);
                        CREATE TABLE child (parent TEXT REFERENCES t(x) DEFERRABLE INITIALLY DEFERRED);
                        """)
            }
            try await body(database, GroupCommitExecutor(database: database, maxGroupSize: maxGroupSize), path)
        }
    }

    /// Runs `write` as one request would: on the executor, with a ticket, answered after the commit.
    private static func request<T: Sendable>(
        _ executor: GroupCommitExecutor, _ write: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let ticket = CommitTicket()
        let result = try await CommitTicket.$current.withValue(ticket) {
            try await withTaskExecutorPreference(executor) { try write() }
        }
        try await ticket.waitUntilCommitted()
        return result
    }

    /// A gate the first write waits at, on the executor's thread, until the test has queued the
    /// others behind it: tasks added with `executorPreference` are queued on the executor as
    /// they are added, so once the gate opens every one of them is waiting, whatever the load.
    private final class Gate: Sendable {
        private let semaphore = DispatchSemaphore(value: 0)
        func open() { semaphore.signal() }
        func wait() { _ = semaphore.wait(timeout: .now() + 30) }
    }

    private static func values(_ path: String) throws -> [String] {
        try Connection(path: path).query("SELECT x FROM t ORDER BY x").map { try $0.string(0) }
    }

    /// Inserts `values` as one request each, all queued on the executor behind the first,
    /// which waits at a gate until the others are queued.
    private static func insertQueuedTogether(_ values: [String], _ database: Database, _ executor: GroupCommitExecutor) async throws {
        let gate = Gate()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (index, value) in values.enumerated() {
                tasks.addTask(executorPreference: executor) {
                    try await Self.request(executor) {
                        try database.write { connection in
                            if index == 0 { gate.wait() }
                            try connection.execute("INSERT INTO t VALUES (?)", [.text(value)])
                        }
                    }
                }
            }
            gate.open()
            try await tasks.waitForAll()
        }
    }

    @Test func writesQueuedTogetherShareOneCommitAndAllLand() async throws {
        try await Self.withGroupCommit { database, executor, path in
            try await Self.insertQueuedTogether((0...20).map { "w\($0)" }, database, executor)
            #expect(try Self.values(path).count == 21)
            let totals = database.groupCommitTotals
            #expect(totals.writes == 21)
            #expect(totals.commits < 21, "writes that queued together should have shared commits: \(totals)")
        }
    }

    @Test func aFailingWriteRollsBackAloneAndItsNeighboursCommit() async throws {
        try await Self.withGroupCommit { database, executor, path in
            let gate = Gate()
            try await withThrowingTaskGroup(of: Bool.self) { tasks in
                tasks.addTask(executorPreference: executor) {
                    try await Self.request(executor) {
                        try database.write { connection in
                            gate.wait()
                            try connection.execute("INSERT INTO t VALUES ('a')")
                        }
                    }
                    return true
                }
                tasks.addTask(executorPreference: executor) {
                    do {
                        try await Self.request(executor) {
                            try database.write { connection in
                                try connection.execute("INSERT INTO t VALUES ('b-half')")
                                try connection.execute("INSERT INTO t VALUES ('a')")  // UNIQUE: fails
                            }
                        }
                        return true
                    } catch let error as SQLiteError {
                        #expect(error.extendedCode == SQLiteError.constraintUnique)
                        return false
                    }
                }
                tasks.addTask(executorPreference: executor) {
                    try await Self.request(executor) { try database.write { try $0.execute("INSERT INTO t VALUES ('c')") } }
                    return true
                }
                gate.open()
                var outcomes: [Bool] = []
                for try await outcome in tasks { outcomes.append(outcome) }
                #expect(outcomes.filter { $0 }.count == 2 && outcomes.count == 3)
            }
            #expect(try Self.values(path) == ["a", "c"])
            #expect(database.groupCommitTotals.commits == 1, "the three writes queued together and shared one commit")
        }
    }

    @Test func aRequestIsAnsweredOnlyAfterItsWriteIsCommitted() async throws {
        try await Self.withGroupCommit { database, executor, path in
            for n in 0..<50 {
                try await Self.request(executor) { try database.write { try $0.execute("INSERT INTO t VALUES (?)", [.text("v\(n)")]) } }
                // Another connection, as another process would, sees it the moment the answer comes.
                #expect(try Self.values(path).contains("v\(n)"))
            }
        }
    }

    @Test func aRequestReadsItsOwnWritesBeforeTheCommit() async throws {
        try await Self.withGroupCommit { database, executor, _ in
            let seen = try await Self.request(executor) {
                try database.write { try $0.execute("INSERT INTO t VALUES ('mine')") }
                let viaRead = try database.read { try $0.queryFirst("SELECT count(*) FROM t WHERE x = 'mine'")?.int(0) }
                let viaSingle = try database.readSingleStatement { try $0.queryFirst("SELECT count(*) FROM t WHERE x = 'mine'")?.int(0) }
                return [viaRead, viaSingle]
            }
            #expect(seen == [1, 1])
        }
    }

    @Test func aFailedCommitFailsEveryRequestInTheGroupAndLeavesNothing() async throws {
        try await Self.withGroupCommit { database, executor, path in
            let gate = Gate()
            try await withThrowingTaskGroup(of: (any Error)?.self) { tasks in
                tasks.addTask(executorPreference: executor) {
                    do {
                        try await Self.request(executor) {
                            try database.write { connection in
                                gate.wait()
                                try connection.execute("INSERT INTO t VALUES ('innocent')")
                            }
                        }
                        return nil
                    } catch { return error }
                }
                tasks.addTask(executorPreference: executor) {
                    do {
                        // The deferred foreign key is checked at COMMIT, which then fails for the whole group.
                        try await Self.request(executor) { try database.write { try $0.execute("INSERT INTO child VALUES ('nobody')") } }
                        return nil
                    } catch { return error }
                }
                gate.open()
                var errors: [(any Error)?] = []
                for try await error in tasks { errors.append(error) }
                #expect(errors.count == 2)
                for error in errors {
                    #expect((error as? SQLiteError)?.extendedCode == SQLiteError.constraintForeignKey)
                }
            }
            #expect(try Self.values(path) == [])
            // The writer is free again: the next request commits on its own.
            try await Self.request(executor) { try database.write { try $0.execute("INSERT INTO t VALUES ('after')") } }
            #expect(try Self.values(path) == ["after"])
        }
    }

    @Test func writesOutsideTheExecutorWaitForTheOpenGroupThenCommitOnTheirOwn() async throws {
        try await Self.withGroupCommit { database, executor, path in
            let (inside, enter) = AsyncStream<Void>.makeStream()
            let release = Gate()
            // Queued on the executor as it is created: it needs no thread of the shared pool.
            let grouped = Task(executorPreference: executor) {
                try await Self.request(executor) {
                    try database.write { connection in
                        try connection.execute("INSERT INTO t VALUES ('grouped')")
                        enter.yield()
                        release.wait()
                    }
                }
            }
            for await _ in inside { break }
            // The group holds the writer: a plain write from another thread waits for it.
            let plain = Task.detached { try database.write { try $0.execute("INSERT INTO t VALUES ('plain')") } }
            try await Task.sleep(for: .milliseconds(100))
            #expect(try Self.values(path) == [], "nothing is committed while the group is open")
            release.open()
            try await grouped.value
            try await plain.value
            #expect(try Self.values(path) == ["grouped", "plain"])
        }
    }

    @Test func aRequestThatOnlyReadsTheGroupsStateWaitsForItsCommitAndFailsWithIt() async throws {
        try await Self.withGroupCommit { database, executor, path in
            let gate = Gate()
            try await withThrowingTaskGroup(of: Result<Int, any Error>.self) { tasks in
                tasks.addTask(executorPreference: executor) {
                    do {
                        try await Self.request(executor) {
                            try database.write { connection in
                                gate.wait()
                                try connection.execute("INSERT INTO t VALUES ('doomed')")
                                try connection.execute("INSERT INTO child VALUES ('nobody')")  // fails at COMMIT
                            }
                        }
                        return .success(-1)
                    } catch { return .failure(error) }
                }
                tasks.addTask(executorPreference: executor) {
                    do {
                        // Sees 'doomed' (uncommitted, in the open group): it must not answer before the commit.
                        let count = try await Self.request(executor) {
                            try database.read { try $0.queryFirst("SELECT count(*) FROM t")?.int(0) ?? 0 }
                        }
                        return .success(count)
                    } catch { return .failure(error) }
                }
                gate.open()
                var outcomes: [Result<Int, any Error>] = []
                for try await outcome in tasks { outcomes.append(outcome) }
                for outcome in outcomes {
                    guard case .failure(let error) = outcome else {
                        Issue.record("answered \(outcome) from a group that never committed")
                        continue
                    }
                    #expect((error as? SQLiteError)?.extendedCode == SQLiteError.constraintForeignKey)
                }
            }
            #expect(try Self.values(path) == [])
        }
    }

    @Test func aGroupSpansAtMostMaxGroupSizeJobs() async throws {
        try await Self.withGroupCommit(maxGroupSize: 2) { database, executor, path in
            try await Self.insertQueuedTogether((0..<6).map { "w\($0)" }, database, executor)
            #expect(try Self.values(path).count == 6)
            #expect(database.groupCommitTotals == (commits: 3, writes: 6), "six queued writes, two per group")
        }
    }

    @Test func theThreadCarriesItsNameForTopAndPerf() async throws {
        try await Self.withGroupCommit { _, executor, _ in
            let name = await withTaskExecutorPreference(executor) { currentThreadName() }
            #expect(name == GroupCommitExecutor.threadName)
        }
    }
}

