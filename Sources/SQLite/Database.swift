import Foundation

/// The `Sendable` owner of a database file's connections.
///
/// Writes go through one writer connection, owned by the `DatabaseWriter` chosen when the
/// database opens; reads borrow a connection from a small pool, so readers never wait for the
/// write lock (WAL lets them read the last committed state while a write is in progress:
/// https://www.sqlite.org/wal.html#concurrency).
///
/// `@unchecked Sendable` invariant: `idleReaders` is only touched while `readersLock` is held; a
/// borrowed reader belongs to exactly one caller until it is returned.
public final class Database: @unchecked Sendable {
    /// How writes reach the write connection.
    public enum Writes: Sendable {
        /// Each write a transaction of its own, on the caller's thread.
        case serial
        /// Writes queued together share one commit, run by the first of them on its caller's
        /// thread (`GroupCommitWriter`); `maxGroupSize` bounds how many.
        case groupCommit(maxGroupSize: Int = 32)
    }

    /// How a long-running process checkpoints the WAL: from a thread of its own
    /// (`WALCheckpointer`), never inside a commit.
    public struct BackgroundCheckpoint: Sendable {
        /// How often a PASSIVE checkpoint runs while the log is short.
        public var interval: Duration
        /// The log length, in frames, past which the log is restarted, with writes paused for
        /// the last few frames' copy. The WAL file stays near this size (BENCHMARKS.md, "#18").
        public var restartFrames: Int

        /// 4096 frames: 16 MiB of 4 KiB pages.
        public init(interval: Duration, restartFrames: Int = 4096) {
            self.interval = interval
            self.restartFrames = restartFrames
        }
    }

    public let path: String
    private let options: Connection.Options
    private let writer: any DatabaseWriter
    private let readersLock = NSLock()
    private var idleReaders: [Connection] = []
    private let maxIdleReaders: Int
    private let checkpointer: WALCheckpointer?

    /// Opens the file and its writer connection.
    /// - Parameters:
    ///   - writes: how writes are committed, for the life of the database.
    ///   - backgroundCheckpoint: when given, commits never checkpoint the WAL; a thread does
    ///     (for long-running processes: see `WALCheckpointer`), and reads do not memory-map the
    ///     file (see `Connection.Options.memoryMapBytes`).
    ///   - prepare: runs on the writer connection before any write, outside a transaction (a
    ///     `Migrator` manages its own).
    /// - Throws: `SQLiteError` when the file cannot be opened as a WAL database, or what
    ///   `prepare` throws.
    public init(
        path: String, options: Connection.Options = Connection.Options(), maxIdleReaders: Int = 8, writes: Writes = .serial,
        backgroundCheckpoint: BackgroundCheckpoint? = nil, prepare: (Connection) throws -> Void = { _ in }
    ) throws {
        var options = options
        if backgroundCheckpoint != nil {
            // A long-running process that writes while it reads: no checkpoint inside a commit,
            // and no memory map that every commit would make each reader unmap and map again.
            options.automaticCheckpoint = false
            options.memoryMapBytes = 0
        }
        self.path = path
        self.options = options
        let connection = try Connection(path: path, options: options)
        try prepare(connection)
        let writer: any DatabaseWriter = switch writes {
        case .serial: SerialWriter(connection: connection)
        case .groupCommit(let maxGroupSize): GroupCommitWriter(connection: connection, maxGroupSize: maxGroupSize)
        }
        self.writer = writer
        self.maxIdleReaders = maxIdleReaders
        self.checkpointer = try backgroundCheckpoint.map { (policy: BackgroundCheckpoint) throws(SQLiteError) in
            let checkpointer = try WALCheckpointer(path: path, options: options, policy: policy, writer: writer)
            // No write has run yet, so the connection is still this thread's to set up.
            connection.onCommit { [weak checkpointer] frames in checkpointer?.logGrew(to: frames) }
            checkpointer.start()
            return checkpointer
        }
    }

    deinit { checkpointer?.stop() }

    /// Runs `body` all or nothing on the writer connection and returns once its changes are
    /// committed; when `body` throws, nothing of it is kept.
    public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await writer.write(body)
    }

    /// Commits so far and the writes they carried (with group commit, their ratio is the mean
    /// group size).
    public var writeTotals: WriteTotals { writer.totals }

    /// How often, and for how long, writes were paused for the WAL to restart (nil without a
    /// background checkpoint).
    public var checkpointTotals: CheckpointTotals? { checkpointer?.totals }

    /// Runs `body` in one read transaction on a pooled reader connection, so every query in it
    /// sees the same snapshot of what is committed.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try borrowReader()
        defer { returnReader(connection) }
        return try connection.transaction(.deferred, body)
    }

    /// Runs `body`, which must issue a single query, on a pooled reader without BEGIN/COMMIT
    /// around it: one statement is its own consistent snapshot, and the hottest reads
    /// (resolving a request key, checking a token) save two round trips through SQLite.
    public func readSingleStatement<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try borrowReader()
        defer { returnReader(connection) }
        return try body(connection)
    }

    /// Copies the database to a new file through a reader connection, so writers in this
    /// process and others go on while the copy is taken.
    public func backup(to path: String) throws {
        let connection = try borrowReader()
        defer { returnReader(connection) }
        try connection.backup(to: path)
    }

    private func borrowReader() throws(SQLiteError) -> Connection {
        if let connection = readersLock.withLock({ idleReaders.popLast() }) { return connection }
        return try Connection(path: path, options: options)
    }

    private func returnReader(_ connection: Connection) {
        readersLock.withLock {
            if idleReaders.count < maxIdleReaders { idleReaders.append(connection) }
        }
    }
}
