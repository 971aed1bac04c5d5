import Synchronization

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
    private let writerLock = Mutex(())
    private let writer: Connection
    private let readersLock = Mutex(())
    private var idleReaders: [Connection] = []
    private let maxIdleReaders: Int

    /// Opens the file and its writer connection.
    /// - Throws: `SQLiteError` when the file cannot be opened as a WAL database.
    public init(path: String, options: Connection.Options = Connection.Options(), maxIdleReaders: Int = 8) throws(SQLiteError) {
        self.path = path
        self.options = options
        self.writer = try Connection(path: path, options: options)
        self.maxIdleReaders = maxIdleReaders
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction on the writer connection.
    /// Commits when `body` returns, rolls back everything when it throws.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        try withWriter { connection in try connection.transaction(.immediate, body) }
    }

    /// Runs `body` on the writer connection with no transaction around it, for work that
    /// manages its own (migrations, backups).
    public func withWriter<T>(_ body: (Connection) throws -> T) throws -> T {
        try writerLock.withLock { _ in try body(writer) }
    }

    /// Runs `body` in one read transaction on a pooled reader connection, so every query in it
    /// sees the same snapshot.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try borrowReader()
        defer { returnReader(connection) }
        return try connection.transaction(.deferred, body)
    }

    fileprivate func borrowReader() throws(SQLiteError) -> Connection {
        if let connection = readersLock.withLock({ _ in idleReaders.popLast() }) { return connection }
        return try Connection(path: path, options: options)
    }

    fileprivate func returnReader(_ connection: Connection) {
        readersLock.withLock { _ in
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
