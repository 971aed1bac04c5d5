import Foundation
import SQLite
import Testing

@testable import RegistryCore

/// The schema migrations built into the binary, and files the registry must refuse untouched.
@Suite struct MigrationTests {
    @Test func theEmbeddedMigrationsAreExactlyTheFilesInMigrations() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: SourceTree.migrations.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        try #require(!files.isEmpty)
        #expect(Registry.migrations.map(\.name) == files)
        for (migration, file) in zip(Registry.migrations, files) {
            let data = try Data(contentsOf: SourceTree.migrations.appendingPathComponent(file))
            let text = try #require(String(data: data, encoding: .utf8))
            #expect(migration.sql == text, "\(file) differs from its embedded copy")
            #expect(Array(migration.sql.utf8) == Array(data), "\(file) differs byte for byte")
            #expect(migration.identifier == Int(file.prefix { $0.isNumber }))
            #expect(migration.checksum == AuditChain.sha256(Array(data)))
        }
        #expect(Registry.migrations.map(\.identifier) == Array(1...Registry.migrations.count))
    }

    @Test func aNewFileIsMigratedAndRecordsEveryMigration() throws {
        try withTemporaryRegistry { registry in
            #expect(registry.isReady())
            let connection = try Connection(path: registry.path)
            let recorded = try connection.query("SELECT identifier, name, checksum FROM schema_migrations ORDER BY identifier")
            #expect(try recorded.map { try $0.int(0) } == Registry.migrations.map(\.identifier))
            #expect(try recorded.map { try $0.string(1) } == Registry.migrations.map(\.name))
            #expect(try recorded.map { try $0.string(2) } == Registry.migrations.map(\.checksum))
        }
    }

    @Test func reopeningAMigratedFileKeepsItsContents() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let registry = try Registry(path: path)
                try registry.registerVersion()
            }
            let reopened = try Registry(path: path)
            #expect(try reopened.model(named: "fraud-scorer").versionCount == 1)
            #expect(try reopened.verifyAudit().ok)
        }
    }

    /// Creates a migrated registry file, lets `tamper` change it through a connection of its own,
    /// then expects opening it to fail with `UNAVAILABLE` and leave the file's bytes alone.
    private static func expectRefusedUntouched(
        sourceLocation: SourceLocation = #_sourceLocation, _ tamper: (Connection) throws -> Void
    ) throws -> RegistryError? {
        try withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let registry = try Registry(path: path)
                try registry.registerVersion()
            }
            do {
                let connection = try Connection(path: path)
                try tamper(connection)
            }
            // Every connection is closed: the WAL has been folded into the file.
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let error = expectError(.unavailable, sourceLocation: sourceLocation) { try Registry(path: path) }
            let after = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(after == before, "the refused file was changed", sourceLocation: sourceLocation)
            return error
        }
    }

    @Test func aChangedChecksumIsRefusedAndTheFileLeftAsItWas() throws {
        let error = try Self.expectRefusedUntouched { connection in
            try connection.execute("UPDATE schema_migrations SET checksum = ? WHERE identifier = 1", [.text(String(repeating: "0", count: 64))])
        }
        #expect(error?.message.contains("0001") == true)
        #expect(error?.message.contains("checksum") == true)
    }

    @Test func anUnknownMigrationIsRefusedAndTheFileLeftAsItWas() throws {
        let error = try Self.expectRefusedUntouched { connection in
            try connection.execute(
                "INSERT INTO schema_migrations (identifier, name, checksum) VALUES (9999, '9999_from_the_future.sql', ?)",
                [.text(String(repeating: "a", count: 64))])
        }
        #expect(error?.message.contains("9999") == true)
    }

    @Test func aFileThatIsNoDatabaseOrADirectoryIsUnavailable() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("notes.txt")
            let text = Data(String(repeating: "not a database, just some notes\n", count: 100).utf8)
            try text.write(to: URL(fileURLWithPath: path))
            expectError(.unavailable) { try Registry(path: path) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
            expectError(.unavailable) { try Registry(path: directory.path) }
        }
    }
}
