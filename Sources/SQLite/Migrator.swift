/// One schema migration: an identified SQL script.
public struct Migration: Sendable, Hashable {
    /// The order of application: 1, 2, 3 …
    public let identifier: Int
    public let name: String
    public let sql: String
    /// A digest of `sql` (the caller chooses the hash); an applied migration whose script
    /// changed afterwards is refused.
    public let checksum: String

    public init(identifier: Int, name: String, sql: String, checksum: String) {
        self.identifier = identifier
        self.name = name
        self.sql = sql
        self.checksum = checksum
    }
}

/// Why a database cannot be migrated. Nothing has been changed when one of these is thrown.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    /// The database records a migration this program does not know: it was written by a newer
    /// version of the program.
    case unknownMigration(identifier: Int, name: String)
    /// An applied migration's recorded checksum differs from this program's copy.
    case checksumMismatch(name: String, recorded: String, expected: String)
    /// Migrations this program knows are not applied, and the caller may not apply them.
    case behind(pending: Int, first: String)
    /// No migration is applied (an empty file), and the caller may not apply them.
    case uninitialized

    public var description: String {
        switch self {
        case .unknownMigration(let identifier, let name):
            "the database schema is newer than this program (it has migration \(identifier) \"\(name)\"); upgrade mreg"
        case .checksumMismatch(let name, let recorded, let expected):
            "migration \"\(name)\" was applied with checksum \(recorded) but this program's copy has \(expected); the schema files were changed after release"
        case .uninitialized:
            "it holds no schema yet; a command that writes, such as mreg init, creates it"
        case .behind(let pending, let first):
            "the database schema is older than this program (\(pending) migration\(pending == 1 ? "" : "s") from \"\(first)\" on not applied); a command that writes, such as mreg init, upgrades it"
        }
    }
}

/// Applies migrations in order, each in its own `BEGIN IMMEDIATE` transaction, and records
/// them in `schema_migrations`.
///
/// Safe when several processes open a fresh file at once: each migration re-checks, under the
/// write lock, whether another process applied it first.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.identifier < $1.identifier }
    }

    /// Brings the database up to date.
    /// - Returns: the migrations this call applied (empty when already current).
    /// - Throws: `MigrationError` when the database's history disagrees with `migrations`,
    ///   `SQLiteError` when SQLite fails. Either way nothing was changed by the failing step.
    @discardableResult
    public func migrate(_ connection: Connection) throws -> [Migration] {
        // Fast path without the write lock: an up-to-date database (the usual case) is only read.
        let pending = try connection.transaction(.deferred) { try self.pending($0) }
        var applied: [Migration] = []
        for migration in pending {
            let didApply = try connection.transaction(.immediate) { connection -> Bool in
                try connection.execute(script: """
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        identifier INTEGER PRIMARY KEY,
                        name       TEXT NOT NULL,
                        checksum   TEXT NOT NULL,
                        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                    ) STRICT
                    """)
                let current = try recordedMigrations(connection)
                try validate(current)
                if current[migration.identifier] != nil { return false }  // another process won
                try connection.execute(script: migration.sql)
                try connection.execute(
                    "INSERT INTO schema_migrations (identifier, name, checksum) VALUES (?, ?, ?)",
                    [migration.identifier, migration.name, migration.checksum])
                return true
            }
            if didApply { applied.append(migration) }
        }
        return applied
    }

    /// Whether every known migration has been applied.
    public func isCurrent(_ connection: Connection) throws -> Bool {
        try pending(connection).isEmpty
    }

    /// Checks, without changing anything, that the database is up to date: for a connection
    /// that only reads.
    /// - Throws: `MigrationError.behind` when a migration is not applied, or as `migrate` does
    ///   when the database's history disagrees with `migrations`.
    public func requireCurrent(_ connection: Connection) throws {
        let pending = try pending(connection)
        guard let first = pending.first else { return }
        throw pending.count == migrations.count ? MigrationError.uninitialized : .behind(pending: pending.count, first: first.name)
    }

    private func pending(_ connection: Connection) throws -> [Migration] {
        let recorded = try recordedMigrations(connection)
        try validate(recorded)
        return migrations.filter { recorded[$0.identifier] == nil }
    }

    private func recordedMigrations(_ connection: Connection) throws(SQLiteError) -> [Int: (name: String, checksum: String)] {
        let exists = try connection.queryFirst(
            "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'") != nil
        guard exists else { return [:] }
        var recorded: [Int: (name: String, checksum: String)] = [:]
        for row in try connection.query("SELECT identifier, name, checksum FROM schema_migrations") {
            recorded[try row.int(0)] = (try row.string(1), try row.string(2))
        }
        return recorded
    }

    private func validate(_ recorded: [Int: (name: String, checksum: String)]) throws(MigrationError) {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.identifier, $0) })
        for (identifier, entry) in recorded.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[identifier] else {
                throw .unknownMigration(identifier: identifier, name: entry.name)
            }
            guard migration.checksum == entry.checksum else {
                throw .checksumMismatch(name: migration.name, recorded: entry.checksum, expected: migration.checksum)
            }
        }
    }
}
