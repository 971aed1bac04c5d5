import MregTestSupport
import Testing

@testable import SQLite

/// `Migrator`: ordered, recorded, checked migrations that never change a database they refuse.
@Suite struct MigratorTests {
    static let createModels = Migration(
        identifier: 1, name: "create_models",
        sql: "CREATE TABLE models (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT;",
        checksum: "checksum-1")
    static let seedModels = Migration(
        identifier: 2, name: "seed_models",
        sql: "INSERT INTO models (name) VALUES ('seed');",
        checksum: "checksum-2")
    static let addStage = Migration(
        identifier: 3, name: "add_stage",
        sql: """
            ALTER TABLE models ADD COLUMN stage TEXT NOT NULL DEFAULT 'dev';
            CREATE INDEX models_stage ON models (stage);
            """,
        checksum: "checksum-3")

    private static func recorded(_ connection: Connection) throws -> [[Value]] {
        try connection.query("SELECT identifier, name, checksum FROM schema_migrations ORDER BY identifier").map(\.values)
    }

    private static func tableExists(_ connection: Connection, _ name: String) throws -> Bool {
        try connection.queryFirst("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", [name]) != nil
    }

    @Test func appliesMigrationsInOrderAndRecordsThem() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // Given out of order: each migration needs the one before it.
            let migrator = Migrator(migrations: [Self.addStage, Self.createModels, Self.seedModels])
            #expect(try migrator.isCurrent(connection) == false)

            let applied = try migrator.migrate(connection)

            #expect(applied.map(\.identifier) == [1, 2, 3])
            #expect(try Self.recorded(connection) == [
                [1, "create_models", "checksum-1"],
                [2, "seed_models", "checksum-2"],
                [3, "add_stage", "checksum-3"],
            ])
            let appliedAt = try connection.query("SELECT applied_at FROM schema_migrations").map { try $0.string(0) }
            #expect(appliedAt.count == 3)
            #expect(appliedAt.allSatisfy { $0.hasSuffix("Z") && $0.count >= 20 })
            #expect(try connection.query("SELECT name, stage FROM models").map(\.values) == [["seed", "dev"]])
            #expect(try migrator.isCurrent(connection))
            #expect(!connection.isInTransaction)
        }
    }

    @Test func aSecondRunAppliesNothing() async throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("db.sqlite")
            let migrator = Migrator(migrations: [Self.createModels, Self.seedModels, Self.addStage])
            try migrator.migrate(try Connection(path: path))

            let connection = try Connection(path: path)
            let before = try DatabaseSnapshot(connection)
            #expect(try migrator.migrate(connection).isEmpty)
            #expect(try DatabaseSnapshot(connection) == before)
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 1)
            #expect(try migrator.isCurrent(connection))
        }
    }

    @Test func aNewMigrationIsAppliedOnTopOfTheRecordedOnes() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Migrator(migrations: [Self.createModels, Self.seedModels]).migrate(connection)
            let migrator = Migrator(migrations: [Self.createModels, Self.seedModels, Self.addStage])
            #expect(try migrator.isCurrent(connection) == false)
            #expect(try migrator.migrate(connection).map(\.identifier) == [3])
            #expect(try Self.recorded(connection).map { $0[0] } == [1, 2, 3])
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 1)
        }
    }

    @Test func aChangedChecksumIsRefusedAndNothingChanges() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            try Migrator(migrations: [Self.createModels, Self.seedModels]).migrate(connection)
            let before = try DatabaseSnapshot(connection)

            let edited = Migration(
                identifier: 2, name: "seed_models", sql: "INSERT INTO models (name) VALUES ('edited');",
                checksum: "checksum-2-edited")
            let migrator = Migrator(migrations: [Self.createModels, edited, Self.addStage])
            let error = #expect(throws: MigrationError.self) { try migrator.migrate(connection) }
            switch error {
            case .checksumMismatch(let name, let recorded, let expected)?:
                #expect(name == "seed_models")
                #expect(recorded == "checksum-2")
                #expect(expected == "checksum-2-edited")
            default:
                Issue.record("expected checksumMismatch, got \(String(describing: error))")
            }
            // Neither the edited script nor the pending migration 3 ran.
            #expect(try DatabaseSnapshot(connection) == before)
            #expect(!connection.isInTransaction)
            #expect(throws: MigrationError.self) { try migrator.isCurrent(connection) }
        }
    }

    @Test func anUnknownNewerMigrationIsRefusedAndNothingChanges() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            // A newer program applied 1 and 3; this one knows 1 and 2.
            try Migrator(migrations: [Self.createModels, Self.addStage]).migrate(connection)
            let before = try DatabaseSnapshot(connection)

            let migrator = Migrator(migrations: [Self.createModels, Self.seedModels])
            let error = #expect(throws: MigrationError.self) { try migrator.migrate(connection) }
            switch error {
            case .unknownMigration(let identifier, let name)?:
                #expect(identifier == 3)
                #expect(name == "add_stage")
            default:
                Issue.record("expected unknownMigration, got \(String(describing: error))")
            }
            #expect(try DatabaseSnapshot(connection) == before)
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 0)
            #expect(throws: MigrationError.self) { try migrator.isCurrent(connection) }
        }
    }

    @Test func aFailingMigrationRollsBackAndLeavesNoRecord() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let broken = Migration(
                identifier: 2, name: "seed_models",
                sql: "CREATE TABLE partial (x); INSERT INTO models (name) VALUES ('half'); INSERT INTO missing VALUES (1);",
                checksum: "checksum-broken")
            let error = #expect(throws: SQLiteError.self) {
                try Migrator(migrations: [Self.createModels, broken, Self.addStage]).migrate(connection)
            }
            #expect(error?.code == 1)  // SQLITE_ERROR: no such table
            #expect(!connection.isInTransaction)

            // Migration 1 committed on its own; nothing of 2 is left and 3 never ran.
            #expect(try Self.recorded(connection) == [[1, "create_models", "checksum-1"]])
            #expect(try Self.tableExists(connection, "partial") == false)
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 0)
            #expect(try connection.query("SELECT name FROM pragma_table_info('models')").map(\.values) == [["id"], ["name"]])

            // The fixed migration then applies.
            let migrator = Migrator(migrations: [Self.createModels, Self.seedModels, Self.addStage])
            #expect(try migrator.migrate(connection).map(\.identifier) == [2, 3])
            #expect(try migrator.isCurrent(connection))
        }
    }

    @Test func aFailingFirstMigrationLeavesAnEmptyDatabase() async throws {
        try withTemporaryDirectory { directory in
            let connection = try Connection(path: directory.file("db.sqlite"))
            let broken = Migration(identifier: 1, name: "broken", sql: "CREATE TABLE a (x); CREATE TABLEX b;", checksum: "c")
            #expect(throws: SQLiteError.self) { try Migrator(migrations: [broken]).migrate(connection) }
            // Not even schema_migrations: the table is created inside the failed transaction.
            #expect(try connection.query("SELECT name FROM sqlite_schema").isEmpty)
        }
    }

    @Test(arguments: 1...10)
    func databasesMigratingAFreshFileConcurrentlyApplyEachMigrationOnce(round: Int) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("db-\(round).sqlite")
            let migrator = Migrator(migrations: [Self.createModels, Self.seedModels, Self.addStage])
            let applied = SharedList<Int>()
            let current = Counter()

            try await onThreads(4) { _ in
                // Each thread opens the fresh file itself, as processes starting at once would;
                // each one's switch to WAL can meet another's (Connection.whileBusy).
                let connection = try Connection(path: path)
                let migrations = try migrator.migrate(connection)
                applied.append(contentsOf: migrations.map(\.identifier))
                if try migrator.isCurrent(connection) { current.increment() }
            }

            #expect(applied.elements.sorted() == [1, 2, 3])
            #expect(current.value == 4)
            let connection = try Connection(path: path)
            #expect(try Self.recorded(connection).map { $0[0] } == [1, 2, 3])
            #expect(try connection.queryFirst("SELECT count(*) FROM models")?.int(0) == 1)
        }
    }
}
