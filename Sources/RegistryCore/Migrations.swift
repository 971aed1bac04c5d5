import SQLite

extension Registry {
    /// The schema migrations built into this binary from `migrations/*.sql`, each identified by
    /// the number its file name starts with and checksummed with SHA-256.
    public static let migrations: [Migration] = embeddedMigrationFiles.map { file in
        let identifier = Int(file.name.prefix { $0.isNumber }) ?? 0
        return Migration(
            identifier: identifier, name: file.name, sql: file.text,
            checksum: AuditChain.sha256(Array(file.text.utf8)))
    }
}
