import Foundation
import SQLite

/// The model registry: every operation of the contract, each change one `BEGIN IMMEDIATE`
/// transaction that writes the change, its transition and its audit entry together, or nothing.
///
/// Operations are synchronous: SQLite work takes microseconds, and a caller on an async
/// context (the server) calls them directly.
public final class Registry: Sendable {
    public let database: Database
    let clock: @Sendable () -> Timestamp
    /// Where a server's changing requests run so that their writes share commits (`.server` only).
    private let groupCommit: GroupCommitExecutor?

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
    public init(
        path: String, clock: @escaping @Sendable () -> Timestamp = Timestamp.now, workload: Workload = .library
    ) throws(RegistryError) {
        self.clock = clock
        do {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw RegistryError(.unavailable, "cannot open database \(path): it is a directory")
            }
            let database = try Database(
                path: path, options: Connection.Options(checkpointOnClose: workload != .oneShot),
                backgroundCheckpointInterval: workload == .server ? .milliseconds(500) : nil)
            _ = try database.withWriter { try Migrator(migrations: Self.migrations).migrate($0) }
            self.database = database
            self.groupCommit = workload == .server ? GroupCommitExecutor(database: database) : nil
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
        /// concurrent changing requests share commits (`withGroupCommit`).
        case server
    }

    /// Whether the database answers and its schema is current (the server's readiness).
    public func isReady() -> Bool {
        (try? database.read { try Migrator(migrations: Self.migrations).isCurrent($0) }) ?? false
    }

    /// Runs `body`, the work of one changing request, so that its writes share a commit with
    /// the writes of requests running at the same time, and returns once they are committed.
    ///
    /// Each operation stays all or nothing (it runs in a savepoint of the shared transaction,
    /// with its transition and audit entry), and nothing is answered before its commit; a
    /// commit that fails fails every request in it. A lone request commits at once, in a group
    /// of its own. (Running a lone request in place instead saved ~100 µs on one connection but
    /// cost a fifth of the throughput at 32: such a request's write, on a thread of Swift's
    /// two-thread pool, waited for every group opened meanwhile.) Without the `.server`
    /// workload, `body` simply runs, each operation in a transaction of its own.
    /// - Throws: what `body` throws, or `UNAVAILABLE`/`INTERNAL` when the commit fails.
    public func withGroupCommit<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        guard let groupCommit else { return try await body() }
        let ticket = CommitTicket()
        let result: Result<T, any Error> = await CommitTicket.$current.withValue(ticket) {
            await withTaskExecutorPreference(groupCommit) {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                // Even a request that failed waits: its refusal may rest on state the group has
                // not committed yet, and if that state rolls back, the refusal was not true
                // either. Waiting here, still on the group's executor, the request is resumed by
                // the commit on that thread and leaves it once; waiting after the scope made it
                // hop to Swift's pool to wait, then hop there again when woken.
                do { try await ticket.waitUntilCommitted() } catch { return .failure(Self.translate(error)) }
                return result
            }
        }
        return try result.get()
    }

    /// Group commits so far and the writes they carried (see `withGroupCommit`).
    public var groupCommitTotals: (commits: Int, writes: Int) { database.groupCommitTotals }

    // MARK: Transactions with errors in the registry's terms

    /// One write transaction; any error rolls everything back.
    func write<T>(_ body: (Connection) throws -> T) throws(RegistryError) -> T {
        do { return try database.write(body) } catch { throw Self.translate(error) }
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
