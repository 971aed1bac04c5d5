import Foundation
import MregTestSupport
import Testing

@testable import SQLite

/// Opening a file: the configuration every connection gets, and the files it refuses.
@Suite struct ConnectionTests {
    @Test func opensInWALMode() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(try connection.queryFirst("PRAGMA journal_mode")?.optionalString(0) == "wal")
        }
    }

    @Test func walModeIsRecordedInTheFile() async throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            do {
                let connection = try Connection(path: path)
                try connection.execute("CREATE TABLE t (x)")
            }
            // Bytes 18 and 19 of the header are 2 for WAL (https://www.sqlite.org/fileformat.html#file_format_version_numbers).
            let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)).prefix(20))
            #expect(header.count == 20)
            #expect(header.suffix(2) == [2, 2])
        }
    }

    /// Commits are synced before they return (PowerLossTests shows what that buys).
    @Test func synchronousIsFull() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // FULL is 2, NORMAL 1 (https://www.sqlite.org/pragma.html#pragma_synchronous).
            #expect(try connection.queryFirst("PRAGMA synchronous")?.optionalInt(0) == 2)
            let normal = try Connection(path: directory.file("db.sqlite"), options: Connection.Options(synchronous: .normal))
            #expect(try normal.queryFirst("PRAGMA synchronous")?.optionalInt(0) == 1)
        }
    }

    @Test func temporaryStorageIsInMemory() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // MEMORY is 2: savepoint sub-journals never spill to a temporary file.
            #expect(try connection.queryFirst("PRAGMA temp_store")?.optionalInt(0) == 2)
        }
    }

    @Test func foreignKeysAreOn() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(try connection.queryFirst("PRAGMA foreign_keys")?.optionalInt(0) == 1)
        }
    }

    @Test func foreignKeysAreEnforced() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute(script: """
                CREATE TABLE parent (id INTEGER PRIMARY KEY);
                CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent (id));
                """)
            let error = #expect(throws: SQLiteError.self) {
                try connection.execute("INSERT INTO child (parent_id) VALUES (?)", [42])
            }
            #expect(error?.extendedCode == SQLiteError.constraintForeignKey)
            #expect(try connection.queryFirst("SELECT count(*) FROM child")?.int(0) == 0)
        }
    }

    @Test func busyTimeoutIsFiniteAndConfigurable() async throws {
        #expect(Connection.Options().busyTimeoutMilliseconds == 10_000)
        try withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let holder = try Connection(path: path)
            try holder.execute("CREATE TABLE t (x)")
            try holder.execute("BEGIN IMMEDIATE")
            let waiter = try Connection(path: path, options: Connection.Options(busyTimeoutMilliseconds: 250))
            let clock = ContinuousClock()
            let start = clock.now
            let error = #expect(throws: SQLiteError.self) { try waiter.execute("INSERT INTO t VALUES (1)") }
            #expect(error?.isBusy == true)
            #expect(clock.now - start >= .milliseconds(250))
            try holder.execute("COMMIT")
        }
    }

    /// The busy handler tries again every 100 µs until its timeout, not after SQLite's growing
    /// sleeps (1, 2, 5, 10 … ms: seven tries in 100 ms), so a waiter goes on soon after the
    /// lock is free.
    @Test func aBusyWaitTriesOftenUntilItsTimeout() {
        let wait = BusyWait(timeoutMilliseconds: 100)
        let clock = ContinuousClock()
        for round in 0..<2 {  // each wait starts its own clock at attempt 0
            let start = clock.now
            var attempt: Int32 = 0
            while wait.shouldRetry(attempt: attempt) { attempt += 1 }
            #expect(clock.now - start >= .milliseconds(100), "round \(round)")
            // 100 µs steps make ~1,000 tries on a quiet machine; a loaded one stretches each sleep.
            // SQLite's own schedule makes 7, so twice that still tells the two apart.
            #expect(attempt >= 14, "only \(attempt) tries in 100 ms (round \(round))")
        }
    }

    @Test func extendedResultCodesAreOn() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (x CHECK (x > 0))")
            let error = #expect(throws: SQLiteError.self) {
                try connection.execute("INSERT INTO t VALUES (?)", [-1])
            }
            #expect(error?.extendedCode == SQLiteError.constraintCheck)
            #expect(error?.isConstraintViolation == true)
        }
    }

    @Test func openingADirectoryFailsWithCannotOpen() async throws {
        try withTemporaryDirectory { directory in
            let error = #expect(throws: SQLiteError.self) { try Connection(path: directory.path) }
            #expect(error?.isCannotOpen == true)
            #expect(error?.code == 14)  // SQLITE_CANTOPEN
        }
    }

    @Test func openingAFileThatIsNotADatabaseFailsAndLeavesItAlone() async throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("notes.txt")
            let bytes = Data(String(repeating: "These are notes, not an SQLite database.\n", count: 200).utf8)
            try bytes.write(to: URL(fileURLWithPath: path))

            let error = #expect(throws: SQLiteError.self) { try Connection(path: path) }
            #expect(error?.isNotADatabase == true)
            #expect(error?.code == 26)  // SQLITE_NOTADB

            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["notes.txt"])
        }
    }

    @Test func openingAMissingFileWithoutCreateFailsAndCreatesNothing() async throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("missing.sqlite")
            let error = #expect(throws: SQLiteError.self) {
                try Connection(path: path, options: Connection.Options(create: false))
            }
            #expect(error?.isCannotOpen == true)
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func aReadOnlyConnectionCannotWrite() async throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let writer = try Connection(path: path)
            try writer.execute("CREATE TABLE t (x)")
            try writer.execute("INSERT INTO t VALUES (1)")

            let reader = try Connection(path: path, options: Connection.Options(readOnly: true))
            #expect(try reader.queryFirst("SELECT count(*) FROM t")?.int(0) == 1)
            let error = #expect(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (2)") }
            #expect(error?.code == 8)  // SQLITE_READONLY
            #expect(try writer.queryFirst("SELECT count(*) FROM t")?.int(0) == 1)
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd")))
    func failedOpensLeaveNoFileOpen() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("notes.txt")
            try Data(String(repeating: "not a database\n", count: 100).utf8).write(to: URL(fileURLWithPath: path))
            for _ in 0..<1_000 {
                #expect(throws: SQLiteError.self) { try Connection(path: path) }
                #expect(throws: SQLiteError.self) { try Connection(path: directory.path) }
            }
            #expect(try openFiles(in: directory) == [])
        }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd")))
    func aReleasedConnectionClosesItsFiles() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            try Connection(path: path).execute("CREATE TABLE t (x)")
            // A leaked connection would keep at least its database and WAL files open.
            for n in 0..<500 {
                let connection = try Connection(path: path)
                _ = try connection.cachedStatement("SELECT count(*) FROM t")
                try connection.execute("INSERT INTO t VALUES (?)", [n])
                #expect(try openFiles(in: directory).count >= 2, "the open connection's files are seen")
            }
            #expect(try openFiles(in: directory) == [])
        }
    }
}
