import Foundation
import SQLite
import Synchronization

/// The model registry: every operation of the contract, each change one `BEGIN IMMEDIATE`
/// transaction that writes the change, its transition and its audit entry together, or nothing.
///
/// Reads are synchronous: SQLite work takes microseconds, and a caller on an async context (the
/// server) calls them directly. Changes are `async`: each returns once it is committed, which
/// in a server means once the group of writes it joined is (`Database.Writes.groupCommit`).
public final class Registry: Sendable {
    public let database: Database
    public let clock: @Sendable () -> Timestamp
    /// Told of every commit (`observeCommits`).
    let commitObservers = Mutex<[@Sendable () -> Void]>([])

    /// Opens (creating if needed) and migrates the database at `path`.
    /// - Parameters:
    ///   - path: the SQLite file.
    ///   - clock: the source of `at` and `created_at` times; tests pin it.
    ///   - workload: how the process uses the file: a one-shot command leaves the WAL for the
    ///     next opener; a long-running server checkpoints it from a background thread, never
    ///     inside a request's commit.
    /// - Throws: `UNAVAILABLE` when the file cannot be used as a registry database (a directory,
    ///   not SQLite, written by a newer mreg, migrations changed after release). The file is
    ///   left as it was.
    public convenience init(
        path: String, clock: @escaping @Sendable () -> Timestamp = Timestamp.now, workload: Workload = .library
    ) throws(RegistryError) {
        try self.init(path: path, clock: clock, workload: workload, options: Connection.Options())
    }

    /// Opens the registry at `path` only to read it, as a read command on a file does
    /// (`SQLITE_OPEN_READONLY`): it never creates, migrates or otherwise writes the file, not
    /// even to switch its journal mode, so an auditor's copy keeps its bytes. A change through
    /// it fails.
    /// - Throws: `UNAVAILABLE` when there is no file at `path` ("no registry at …"), when it is
    ///   not a registry database, or when its schema is not this mreg's (older: it needs a
    ///   writing command such as `mreg init` first).
    public convenience init(readingAt path: String) throws(RegistryError) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw RegistryError(.unavailable, "no registry at \(path): there is no such file (mreg init creates one)")
        }
        try self.init(path: path, clock: Timestamp.now, workload: .oneShot, options: Connection.Options(readOnly: true, create: false))
    }

    /// `init(path:clock:workload:)` with the connections' options given (tests: another VFS,
    /// another `synchronous`); the workload still decides checkpointing.
    init(path: String, clock: @escaping @Sendable () -> Timestamp, workload: Workload, options: Connection.Options) throws(RegistryError) {
        self.clock = clock
        var options = options
        options.checkpointOnClose = workload != .oneShot
        do {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw RegistryError(.unavailable, "cannot open database \(path): it is a directory")
            }
            self.database = try Database(
                path: path, options: options,
                writes: workload == .server ? .groupCommit() : .serial,
                backgroundCheckpoint: workload == .server ? .init(interval: .milliseconds(500)) : nil,
                prepare: { connection in
                    let migrator = Migrator(migrations: Self.migrations)
                    if options.readOnly { try migrator.requireCurrent(connection) } else { try migrator.migrate(connection) }
                })
        } catch let error as RegistryError {
            throw error
        } catch let error as MigrationError {
            throw RegistryError(.unavailable, "cannot use database \(path): \(error)")
        } catch let error as SQLiteError {
            let reason = error.isNotADatabase ? "it is not an SQLite database" : error.message
            throw RegistryError(.unavailable, "cannot open database \(path): \(reason)")
        } catch {
            throw RegistryError(.internal, "cannot open database \(path): \(error)")
        }
    }

    /// How a process uses the registry, which decides when the WAL is checkpointed.
    public enum Workload: Sendable {
        /// Tests and tools: SQLite's defaults.
        case library
        /// One CLI command: no checkpoint on exit (its fsyncs would cost more than the command).
        case oneShot
        /// `mreg serve`: checkpoints from a background thread, never inside a request, and lets
        /// the writes of concurrent requests share commits.
        case server
    }

    /// Whether the database answers and its schema is current (the server's readiness).
    public func isReady() -> Bool {
        (try? database.read { try Migrator(migrations: Self.migrations).isCurrent($0) }) ?? false
    }

    /// Commits so far and the writes they carried (with group commit, their ratio is the mean
    /// group size).
    public var writeTotals: WriteTotals { database.writeTotals }

    /// How often writes were paused for the WAL to start over, and for how long (a server's;
    /// nil for other workloads, whose commits checkpoint).
    public var checkpointTotals: CheckpointTotals? { database.checkpointTotals }

    // MARK: Transactions with errors in the registry's terms

    /// One write, all or nothing, returned once committed; any error rolls it back.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws(RegistryError) -> T {
        let value: T
        do { value = try await database.write(body) } catch { throw Self.translate(error) }
        for observer in commitObservers.withLock({ $0 }) { observer() }
        return value
    }

    /// One read transaction: every query sees the same snapshot.
    func read<T>(_ body: (Connection) throws -> T) throws(RegistryError) -> T {
        do { return try database.read(body) } catch { throw Self.translate(error) }
    }

    /// One query on its own: a single statement needs no transaction for a consistent answer.
    func readSingleStatement<T>(_ body: (Connection) throws -> T) throws(RegistryError) -> T {
        do { return try database.readSingleStatement(body) } catch { throw Self.translate(error) }
    }

    static func translate(_ error: any Error) -> RegistryError {
        switch error {
        case let error as RegistryError: return error
        case let error as SQLiteError where error.isBusy:
            return RegistryError(.unavailable, "the database stayed locked by another writer for too long; try again")
        case let error as SQLiteError:
            return RegistryError(.internal, "the database refused the change: \(error.message)")
        default:
            return RegistryError(.internal, "unexpected error: \(error)")
        }
    }
}
