import MregTestSupport
import Testing

@testable import SQLite

/// `Connection.transaction` and `Database.write`: commit on return, roll back everything on a
/// throw, and rethrow the first error.
@Suite struct TransactionTests {
    private struct Abort: Error, Equatable {
        let reason: String
    }

    private static func makeTable(_ connection: Connection) throws {
        try connection.execute("CREATE TABLE t (x UNIQUE)")
    }

    private static func count(_ connection: Connection) throws -> Int {
        try #require(try connection.queryFirst("SELECT count(*) FROM t")).int(0)
    }

    @Test func commitsWhenTheBodyReturns() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let connection = try Connection(path: path)
            try Self.makeTable(connection)
            let result = try connection.transaction { connection in
                try connection.execute("INSERT INTO t VALUES (?)", [1])
                #expect(connection.isInTransaction)
                return "done"
            }
            #expect(result == "done")
            #expect(!connection.isInTransaction)
            // Committed: another connection sees it.
            #expect(try Self.count(try Connection(path: path)) == 1)
        }
    }

    @Test func aThrownErrorRollsBackEverythingAndIsRethrown() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Self.makeTable(connection)
            let error = #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                    try connection.execute("INSERT INTO t VALUES (?)", [2])
                    throw Abort(reason: "custom")
                }
            }
            #expect(error == Abort(reason: "custom"))
            #expect(!connection.isInTransaction)
            #expect(try Self.count(connection) == 0)
        }
    }

    @Test func anSQLiteErrorMidTransactionRollsBackEverything() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Self.makeTable(connection)
            let error = #expect(throws: SQLiteError.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                }
            }
            #expect(error?.isUniqueViolation == true)
            #expect(!connection.isInTransaction)
            #expect(try Self.count(connection) == 0)
        }
    }

    @Test func theFirstErrorWinsWhenTheBodyCaughtAnSQLiteErrorAndThrewItsOwn() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Self.makeTable(connection)
            let error = #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                    do {
                        try connection.execute("INSERT INTO t VALUES (?)", [1])
                    } catch {
                        throw Abort(reason: "duplicate")
                    }
                }
            }
            #expect(error == Abort(reason: "duplicate"))
            #expect(try Self.count(connection) == 0)
        }
    }

    @Test func whenTheBodyAlreadyRolledBackTheBodysErrorIsStillRethrown() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Self.makeTable(connection)
            // As after SQLITE_FULL, where SQLite rolls back on its own: a second ROLLBACK would
            // fail and must not replace the first error.
            let error = #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                    try connection.execute("ROLLBACK")
                    throw Abort(reason: "after rollback")
                }
            }
            #expect(error == Abort(reason: "after rollback"))
            #expect(!connection.isInTransaction)
            #expect(try Self.count(connection) == 0)
        }
    }

    @Test func aCommitThatFailsRollsBackAndIsRethrown() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // A deferred foreign key is only checked by COMMIT, which then fails and leaves the
            // transaction open (https://www.sqlite.org/foreignkeys.html#fk_deferred).
            try connection.execute(script: """
                CREATE TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
                """)
            let error = #expect(throws: SQLiteError.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO child VALUES (?)", [42])
                }
            }
            #expect(error?.extendedCode == SQLiteError.constraintForeignKey)
            #expect(error?.sql == "COMMIT")
            #expect(!connection.isInTransaction)
            #expect(try connection.queryFirst("SELECT count(*) FROM child")?.int(0) == 0)
        }
    }

    @Test func theConnectionIsUsableAfterARollback() async throws {
        try await withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Self.makeTable(connection)
            #expect(throws: Abort.self) {
                try connection.transaction { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", [1])
                    throw Abort(reason: "first")
                }
            }
            try connection.transaction { connection in try connection.execute("INSERT INTO t VALUES (?)", [1]) }
            #expect(try Self.count(connection) == 1)
        }
    }

    @Test func immediateTransactionHoldsTheWriteLockFromTheStart() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let connection = try Connection(path: path)
            try Self.makeTable(connection)
            let other = try Connection(path: path, options: Connection.Options(busyTimeoutMilliseconds: 0))
            try connection.transaction(.immediate) { _ in
                // Nothing written yet, but the lock is taken: another writer is refused at once.
                let error = #expect(throws: SQLiteError.self) { try other.execute("BEGIN IMMEDIATE") }
                #expect(error?.isBusy == true)
            }
            #expect(!other.isInTransaction)
        }
    }

    @Test func databaseWriteCommits() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try Self.makeTable($0) }
            let id = try await database.write { connection in
                try connection.execute("INSERT INTO t VALUES (?)", ["a"])
                return connection.lastInsertRowID
            }
            #expect(id == 1)
            #expect(try database.read { try Self.count($0) } == 1)
            // The writer is not left in a transaction: its next BEGIN would fail.
            try await database.write { try $0.execute("INSERT INTO t VALUES (?)", ["next"]) }
        }
    }

    @Test func databaseWriteRollsBackAndRethrowsTheFirstError() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try Self.makeTable($0) }
            let error = await #expect(throws: Abort.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", ["a"])
                    throw Abort(reason: "write")
                }
            }
            #expect(error == Abort(reason: "write"))
            #expect(try database.read { try Self.count($0) } == 0)
            // The writer is not left in a transaction: its next BEGIN would fail.
            try await database.write { try $0.execute("INSERT INTO t VALUES (?)", ["next"]) }
        }
    }

    @Test func databaseWriteWorksAfterAFailedWrite() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try Self.makeTable($0) }
            await #expect(throws: SQLiteError.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", ["a"])
                    try connection.execute("INSERT INTO t VALUES (?)", ["a"])
                }
            }
            try await database.write { connection in
                try connection.execute("INSERT INTO t VALUES (?)", ["a"])
                try connection.execute("INSERT INTO t VALUES (?)", ["b"])
            }
            #expect(try database.read { try Self.count($0) } == 2)
        }
    }

    @Test func aNestedTransactionInsideAWriteFailsRollsBackTheWriteAndLeavesTheWriterUsable() async throws {
        try await withTemporaryDirectory { directory in
            let database = try Database(path: directory.file("db.sqlite"))
            try await database.write { try Self.makeTable($0) }
            // SQLite has no nested BEGIN (https://www.sqlite.org/lang_transaction.html).
            let error = await #expect(throws: SQLiteError.self) {
                try await database.write { connection in
                    try connection.execute("INSERT INTO t VALUES (?)", ["outer"])
                    try connection.transaction { connection in
                        try connection.execute("INSERT INTO t VALUES (?)", ["inner"])
                    }
                }
            }
            #expect(error?.code == 1)  // SQLITE_ERROR: cannot start a transaction within a transaction
            #expect(try database.read { try Self.count($0) } == 0)
            try await database.write { connection in try connection.execute("INSERT INTO t VALUES (?)", ["after"]) }
            #expect(try database.read { try Self.count($0) } == 1)
        }
    }
}
