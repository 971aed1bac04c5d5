import Foundation

/// The `Sendable` owner of a database file's connections.
///
/// Writes go through one writer connection, one at a time; reads borrow a connection from a
/// small pool, so readers never wait for the write lock (WAL lets them read the last committed
/// state while a write is in progress: https://www.sqlite.org/wal.html#concurrency).
///
/// `@unchecked Sendable` invariant: `writer` is only touched while `writerLock` is held, and
/// `idleReaders` only while `readersLock` is held; a borrowed reader belongs to exactly one
/// caller until it is returned.
public final class Database: @unchecked Sendable {
    public let path: String
    private let options: Connection.Options
    // NSLock is a plain pthread mutex. Synchronization.Mutex is a priority-inheritance futex on
    // Linux, whose hand-offs under a server's write contention cost more than the writes.
    private let writerLock = NSLock()
    private let writer: Connection
    private let readersLock = NSLock()
    private var idleReaders: [Connection] = []
    private let maxIdleReaders: Int
    private let checkpointer: WALCheckpointer?

    /// Opens the file and its writer connection.
    /// - Parameter backgroundCheckpointInterval: when given, commits never checkpoint the WAL;
    ///   a thread does, at this interval (for long-running processes: see `WALCheckpointer`).
    /// - Throws: `SQLiteError` when the file cannot be opened as a WAL database.
    public init(
        path: String, options: Connection.Options = Connection.Options(), maxIdleReaders: Int = 8,
        backgroundCheckpointInterval: Duration? = nil
    ) throws(SQLiteError) {
        var options = options
        if backgroundCheckpointInterval != nil { options.automaticCheckpoint = false }
        self.path = path
        self.options = options
        self.writer = try Connection(path: path, options: options)
        self.maxIdleReaders = maxIdleReaders
        self.checkpointer = try backgroundCheckpointInterval.map { (interval: Duration) throws(SQLiteError) in
            let checkpointer = try WALCheckpointer(path: path, options: options, interval: interval)
            checkpointer.start()
            return checkpointer
        }
    }

    deinit { checkpointer?.stop() }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction on the writer connection.
    /// Commits when `body` returns, rolls back everything when it throws.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try withWriter { connection in try connection.transaction(.immediate, body) }
    }

    /// Runs `body` on the writer connection with no transaction around it, for work that
    /// manages its own (migrations, backups).
    public func withWriter<T>(_ body: (Connection) throws -> T) throws -> T {
        try writerLock.withLock { try body(writer) }
    }

    /// Runs `body` in one read transaction on a pooled reader connection, so every query in it
    /// sees the same snapshot.
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

    fileprivate func borrowReader() throws(SQLiteError) -> Connection {
        if let connection = readersLock.withLock({ idleReaders.popLast() }) { return connection }
        return try Connection(path: path, options: options)
    }

    fileprivate func returnReader(_ connection: Connection) {
        readersLock.withLock {
            if idleReaders.count < maxIdleReaders { idleReaders.append(connection) }
        }
    }
}

extension Database {
    /// Copies the database to a new file through a reader connection, so writers in this
    /// process and others go on while the copy is taken.
    public func backup(to path: String) throws {
        let connection = try borrowReader()
        defer { returnReader(connection) }
        try connection.backup(to: path)
    }
}
