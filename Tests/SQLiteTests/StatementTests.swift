import MregTestSupport
import Testing

@testable import SQLite

/// Preparing, binding and stepping statements, and the errors they report.
@Suite struct StatementTests {
    /// One value of every storage class, with the `typeof()` SQLite gives it, including the edges.
    static let values: [(value: Value, type: String)] = [
        (.null, "null"),
        (.integer(0), "integer"),
        (.integer(-1), "integer"),
        (.integer(Int64.max), "integer"),
        (.integer(Int64.min), "integer"),
        (.real(3.25), "real"),
        (.real(-1.0e-300), "real"),
        (.real(.greatestFiniteMagnitude), "real"),
        (.real(.leastNonzeroMagnitude), "real"),
        (.text(""), "text"),
        (.text("plain ascii"), "text"),
        (.text("héllo wörld, 日本語, Ελληνικά, 🧠🚀👩‍👩‍👧 and e\u{301}"), "text"),
        (.text("a NUL \u{0} inside, and one at the end\u{0}"), "text"),
        (.text(String(repeating: "longer than a small string ", count: 200)), "text"),
        (.blob([]), "blob"),
        (.blob([0]), "blob"),
        (.blob([0, 1, 2, 127, 128, 254, 255, 0]), "blob"),
    ]

    @Test(arguments: values)
    func boundValueRoundTripsThroughATable(_ value: Value, _ type: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // No declared type, so no affinity converts the value (https://www.sqlite.org/datatype3.html#affinity_name_examples).
            try connection.execute("CREATE TABLE t (v)")
            try connection.execute("INSERT INTO t (v) VALUES (?)", [value])

            let row = try #require(try connection.queryFirst("SELECT v, typeof(v) FROM t"))
            #expect(row[0] == value)
            #expect(row[1] == .text(type))
        }
    }

    @Test(arguments: values)
    func boundValueRoundTripsThroughTheColumnAccessors(_ value: Value, _ type: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let statement = try connection.prepare("SELECT ?, typeof(?1)")
            try statement.bind([value])
            #expect(try statement.step())
            #expect(statement.value(0) == value)
            #expect(try statement.text(1) == type)
            #expect(statement.isNull(0) == value.isNull)
            #expect(try statement.step() == false)
        }
    }

    @Test func textIsStoredAsUTF8() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let text = "naïve 🧠"
            let expectedHex = text.utf8.map { byte in
                let digits = String(byte, radix: 16, uppercase: true)
                return digits.count == 1 ? "0" + digits : digits
            }.joined()
            let row = try #require(try connection.queryFirst("SELECT hex(?), length(?1)", [text]))
            #expect(row[0] == .text(expectedHex))
            #expect(row[1] == .integer(7))  // characters, as SQLite counts them
        }
    }

    @Test func integerExtremesKeepEveryBit() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let statement = try connection.prepare("SELECT ?, ?, ? + 0")
            try statement.bind([Int64.max, Int64.min, Int64.max - 1])
            #expect(try statement.step())
            #expect(try statement.int64(0) == Int64.max)
            #expect(try statement.int64(1) == Int64.min)
            #expect(try statement.int64(2) == Int64.max - 1)
        }
    }

    @Test func largeBlobRoundTrips() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            try connection.execute("CREATE TABLE t (v BLOB)")
            try connection.execute("INSERT INTO t VALUES (?)", [bytes])
            #expect(try connection.queryFirst("SELECT v FROM t")?.blob(0) == bytes)
        }
    }

    @Test func emptyBlobIsABlobNotNull() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let row = try #require(try connection.queryFirst("SELECT ? IS NULL, typeof(?1), length(?1)", [[]]))
            #expect(row.values == [.integer(0), .text("blob"), .integer(0)])
        }
    }

    @Test func tooManyArgumentsThrowsNamingBothCounts() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (a, b)")
            let sql = "INSERT INTO t (a, b) VALUES (?, ?)"
            let error = #expect(throws: SQLiteError.self) { try connection.execute(sql, [1, 2, 3]) }
            #expect(error?.extendedCode == SQLiteError.misuse)
            #expect(error?.message.contains("2") == true)
            #expect(error?.message.contains("3") == true)
            #expect(error?.sql == sql)
            #expect(try connection.queryFirst("SELECT count(*) FROM t")?.int(0) == 0)
        }
    }

    @Test func tooFewArgumentsThrowsNamingBothCounts() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (a, b, c, d)")
            let error = #expect(throws: SQLiteError.self) {
                try connection.execute("INSERT INTO t VALUES (?, ?, ?, ?)", [1])
            }
            #expect(error?.extendedCode == SQLiteError.misuse)
            #expect(error?.message.contains("4") == true)
            #expect(error?.message.contains("1") == true)
            #expect(try connection.queryFirst("SELECT count(*) FROM t")?.int(0) == 0)
        }
    }

    @Test func argumentsOfAFailedBindAreNotLeftBehind() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let sql = "SELECT ?"
            try connection.execute(sql, ["first"])
            #expect(throws: SQLiteError.self) { try connection.execute(sql, []) }
            #expect(try connection.queryFirst(sql, [2])?.values == [.integer(2)])
        }
    }

    @Test(arguments: ["", "   \n\t ", ";", "-- only a comment", "/* only a comment */", "  -- a comment\n  /* and another */ "])
    func sqlWithoutAStatementThrows(_ sql: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let prepared = #expect(throws: SQLiteError.self) { try connection.prepare(sql) }
            #expect(prepared?.extendedCode == SQLiteError.misuse)
            let cached = #expect(throws: SQLiteError.self) { try connection.cachedStatement(sql) }
            #expect(cached?.extendedCode == SQLiteError.misuse)
            #expect(throws: SQLiteError.self) { try connection.execute(sql) }
            #expect(throws: SQLiteError.self) { try connection.query(sql) }
        }
    }

    @Test(arguments: ["SELECT 1; SELECT 2", "SELECT 1;SELECT 2;", "SELECT 1; /* c */ SELECT 2"])
    func twoStatementsInOnePrepareThrow(_ sql: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let error = #expect(throws: SQLiteError.self) { try connection.prepare(sql) }
            #expect(error?.extendedCode == SQLiteError.misuse)
            #expect(error?.sql == sql)
        }
    }

    /// Strings of up to 15 UTF-8 bytes live inline in the `String` value, so the C string that
    /// `withCString` hands out for them is a temporary copy, gone when the closure returns; the
    /// statement's tail must be read inside the closure. The 16-byte string is the control.
    @Test func shortSQLIsCheckedForASecondStatementLikeLongSQL() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(throws: SQLiteError.self) { try connection.prepare("SELECT 1; VACUUM") }  // 16 bytes
            #expect(throws: SQLiteError.self) { try connection.prepare("SELECT 1;VACUUM") }  // 15 bytes
            #expect(throws: SQLiteError.self) { try connection.prepare("SELECT 1; END  ") }  // 15 bytes
            #expect(throws: SQLiteError.self) { try connection.prepare("SELECT 1;END") }  // 12 bytes
            #expect(throws: Never.self) { try connection.prepare("SELECT 1;") }
            #expect(throws: Never.self) { try connection.prepare("SELECT 1; ;") }
        }
    }

    @Test func twoStatementsInOneExecuteRunNeither() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(throws: SQLiteError.self) { try connection.execute("CREATE TABLE a (x); CREATE TABLE b (x)") }
            #expect(try connection.query("SELECT name FROM sqlite_schema").isEmpty)
        }
    }

    @Test(arguments: ["SELECT 1;", "SELECT 1 ;  ; \n", "\n  SELECT 1\n", "SELECT 1 -- the answer"])
    func oneStatementWithTrailingSemicolonsAndWhitespaceIsAccepted(_ sql: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(try connection.query(sql).map(\.values) == [[.integer(1)]])
        }
    }

    /// A comment is not a statement: SQL that ends in one still holds a single statement.
    @Test(arguments: ["SELECT 1; -- the answer", "SELECT 1; /* the answer */", "SELECT 1;\n-- the answer\n"])
    func oneStatementFollowedByACommentIsAccepted(_ sql: String) async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            #expect(try connection.query(sql).map(\.values) == [[.integer(1)]])
        }
    }

    @Test func cachedStatementsAreReused() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let sql = "SELECT ? + 1"
            let first = try connection.cachedStatement(sql)
            #expect(try connection.queryFirst(sql, [1])?.values == [.integer(2)])
            let second = try connection.cachedStatement(sql)
            #expect(first === second)
            #expect(try connection.cachedStatement("SELECT ? + 2") !== first)
            #expect(try connection.queryFirst(sql, [41])?.values == [.integer(42)])
        }
    }

    @Test func preparedStatementsAreNotCached() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let sql = "SELECT 1"
            let first = try connection.prepare(sql)
            let second = try connection.prepare(sql)
            #expect(first !== second)
            #expect(try connection.cachedStatement(sql) !== first)
        }
    }

    @Test func statementKnowsItsParametersAndColumns() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let statement = try connection.prepare("SELECT ?, ?, 3")
            #expect(statement.parameterCount == 2)
            #expect(statement.columnCount == 3)
        }
    }

    @Test func uniqueViolationCarriesTheExtendedCodeAndTheSQL() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE models (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
            let sql = "INSERT INTO models (name) VALUES (?)"
            try connection.execute(sql, ["secret-model-name"])

            let error = #expect(throws: SQLiteError.self) { try connection.execute(sql, ["secret-model-name"]) }
            #expect(error?.extendedCode == SQLiteError.constraintUnique)
            #expect(error?.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE (https://www.sqlite.org/rescode.html#constraint_unique)
            #expect(error?.code == 19)  // SQLITE_CONSTRAINT
            #expect(error?.isUniqueViolation == true)
            #expect(error?.isConstraintViolation == true)
            #expect(error?.sql == sql)
            // The bound values stay out of the error.
            #expect(error?.description.contains("secret-model-name") == false)
            #expect(error?.description.contains(sql) == true)
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 1)
        }
    }

    @Test func primaryKeyViolationIsAUniqueViolation() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY) STRICT")
            try connection.execute("INSERT INTO t VALUES (?)", ["a"])
            let error = #expect(throws: SQLiteError.self) { try connection.execute("INSERT INTO t VALUES (?)", ["a"]) }
            #expect(error?.extendedCode == SQLiteError.constraintPrimaryKey)
            #expect(error?.isUniqueViolation == true)
        }
    }

    @Test func notNullViolationIsNotAUniqueViolation() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (x NOT NULL)")
            let error = #expect(throws: SQLiteError.self) { try connection.execute("INSERT INTO t VALUES (?)", [Value.null]) }
            #expect(error?.isConstraintViolation == true)
            #expect(error?.isUniqueViolation == false)
        }
    }

    @Test func cachedStatementIsUsableAfterItFailed() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (x UNIQUE)")
            let sql = "INSERT INTO t VALUES (?)"
            try connection.execute(sql, [1])
            #expect(throws: SQLiteError.self) { try connection.execute(sql, [1]) }
            try connection.execute(sql, [2])
            #expect(try connection.query("SELECT x FROM t ORDER BY x").map(\.values) == [[.integer(1)], [.integer(2)]])
        }
    }

    @Test func syntaxErrorCarriesTheSQL() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let sql = "SELEC 1"
            let error = #expect(throws: SQLiteError.self) { try connection.prepare(sql) }
            #expect(error?.code == 1)  // SQLITE_ERROR
            #expect(error?.sql == sql)
            #expect(error?.message.isEmpty == false)
        }
    }

    @Test func scriptErrorCarriesTheExtendedCodeAndTheScript() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let script = "CREATE TABLE t (x UNIQUE); INSERT INTO t VALUES (1); INSERT INTO t VALUES (1);"
            let error = #expect(throws: SQLiteError.self) { try connection.execute(script: script) }
            #expect(error?.extendedCode == SQLiteError.constraintUnique)
            #expect(error?.sql == script)
        }
    }

    @Test func queryReturnsEveryRowInOrder() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (n INTEGER, s TEXT)")
            for n in 1...5 { try connection.execute("INSERT INTO t VALUES (?, ?)", [n, "row \(n)"]) }
            #expect(connection.changes == 1)
            #expect(connection.lastInsertRowID == 5)
            let rows = try connection.query("SELECT n, s FROM t WHERE n >= ? ORDER BY n DESC", [3])
            #expect(rows.map(\.values) == [[5, "row 5"], [4, "row 4"], [3, "row 3"]])
        }
    }

    @Test func forEachRowStopsAtTheFirstThrownError() async throws {
        struct Stop: Error {}
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE t (n)")
            for n in 1...5 { try connection.execute("INSERT INTO t VALUES (?)", [n]) }
            var seen: [Int64] = []
            #expect(throws: Stop.self) {
                try connection.forEachRow("SELECT n FROM t ORDER BY n") { (statement: Statement) throws in
                    seen.append(try statement.int64(0))
                    if seen.count == 2 { throw Stop() }
                }
            }
            #expect(seen == [1, 2])
            // The statement was reset: running it again starts from the first row.
            #expect(try connection.queryFirst("SELECT n FROM t ORDER BY n")?.values == [.integer(1)])
        }
    }

    @Test func rowAccessorsThrowInsteadOfCrashingOnNullOrMismatch() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let row = try #require(try connection.queryFirst("SELECT NULL, x'00ff', 2.5, 'text', 7"))
            #expect(try row.optionalInt(0) == nil)
            let error = #expect(throws: SQLiteError.self) { try row.int(0) }
            #expect(error?.code == 20)  // SQLITE_MISMATCH
            #expect(throws: SQLiteError.self) { try row.string(1) }
            #expect(throws: SQLiteError.self) { try row.double(3) }
            #expect(throws: SQLiteError.self, "a real is not read as an integer") { try row.int(2) }
            #expect(throws: SQLiteError.self, "NULL is not an absent value where one is required") { try row.string(0) }
            #expect(throws: SQLiteError.self, "text is still no integer when NULL would be allowed") { try row.optionalInt(3) }
            #expect(try row.blob(1) == [0x00, 0xFF])
            #expect(try row.double(2) == 2.5)
            #expect(try row.double(4) == 7, "a whole number stored as an integer reads as a number")
            #expect(try row.string(3) == "text")
        }
    }

    private enum Colour: String { case red, green }

    /// A corrupt row is an error naming the table and column it came from, whichever way the
    /// row is read: as a `Row`, or on the statement.
    @Test func aCorruptRowNamesItsTableAndColumn() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try connection.execute("CREATE TABLE paint (id INTEGER PRIMARY KEY, colour TEXT, coats)")
            try connection.execute("INSERT INTO paint (colour, coats) VALUES ('red', 2), ('mauve', NULL)")
            let rows = try connection.query("SELECT colour AS c, coats FROM paint ORDER BY id")
            #expect(try rows[0].value(0, as: Colour.self) == .red)
            let unknown = #expect(throws: SQLiteError.self) { try rows[1].value(0, as: Colour.self) }
            #expect(unknown?.message == #"paint.colour holds the text "mauve", expected a Colour"#)
            let missing = #expect(throws: SQLiteError.self) { try rows[1].int(1) }
            #expect(missing?.message == "paint.coats holds NULL, expected an integer")
            // A computed column has no table: its name in the query stands in.
            let computed = try #require(try connection.queryFirst("SELECT 'x' AS label"))
            #expect((#expect(throws: SQLiteError.self) { try computed.int(0) })?.message == #"label holds the text "x", expected an integer"#)

            var messages: [String] = []
            try connection.forEachRow("SELECT colour, coats FROM paint WHERE colour = 'mauve'") { (statement: Statement) throws in
                do throws(SQLiteError) { _ = try statement.value(0, as: Colour.self) } catch { messages.append(error.message) }
                do throws(SQLiteError) { _ = try statement.int64(1) } catch { messages.append(error.message) }
                do throws(SQLiteError) { _ = try statement.text(1) } catch { messages.append(error.message) }
                #expect(try statement.optionalInt(1) == nil)
            }
            #expect(messages == [
                #"paint.colour holds the text "mauve", expected a Colour"#,
                "paint.coats holds NULL, expected an integer",
                "paint.coats holds NULL, expected text",
            ])
        }
    }
}
