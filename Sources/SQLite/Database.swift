import Foundation
import Synchronization

/// The `Sendable` owner of a database file's connections.
///
/// Writes go through one writer connection, one at a time; reads borrow a connection from a
/// small pool, so readers never wait for the write lock (WAL lets them read the last committed
/// state while a write is in progress: https://www.sqlite.org/wal.html#concurrency).
///
/// A server can let concurrent writes share commits (`GroupCommitExecutor`, GroupCommit.swift).
///
/// `@unchecked Sendable` invariant: `writer` is only touched while `writerLock` is held, and
/// `idleReaders` only while `readersLock` is held; a borrowed reader belongs to exactly one
/// caller until it is returned. `openGroup` and `groupedWrites` are only touched by the group
/// thread, which holds `writerLock` for as long as `openGroup` is set.
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
    /// The thread of the `GroupCommitExecutor`, 0 when there is none.
    private let groupThread = Atomic<UInt>(0)
    private var openGroup: CommitGroup?
    /// Writes that succeeded in the open group (the statistics count these).
    private var groupedWrites = 0
    private let groupCommits = Atomic<Int>(0)
    private let groupCommittedWrites = Atomic<Int>(0)

    /// How many group commits succeeded and how many writes they carried (their ratio is the
    /// mean group size); both 0 without a `GroupCommitExecutor`.
    public var groupCommitTotals: (commits: Int, writes: Int) {
        (groupCommits.load(ordering: .relaxed), groupCommittedWrites.load(ordering: .relaxed))
    }

    /// Opens the file and its writer connection.
    /// - Parameter backgroundCheckpointInterval: when given, commits never checkpoint the WAL;
    ///   a thread does, at this interval (for long-running processes: see `WALCheckpointer`),
    ///   and reads do not memory-map the file (see `Connection.Options.memoryMapBytes`).
    /// - Throws: `SQLiteError` when the file cannot be opened as a WAL database.
    public init(
        path: String, options: Connection.Options = Connection.Options(), maxIdleReaders: Int = 8,
        backgroundCheckpointInterval: Duration? = nil
    ) throws(SQLiteError) {
        var options = options
        if backgroundCheckpointInterval != nil {
            // A long-running process that writes while it reads: no checkpoint inside a commit,
            // and no memory map that every commit would make each reader unmap and map again.
            options.automaticCheckpoint = false
            options.memoryMapBytes = 0
        }
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
    ///
    /// On the group-commit thread, for a request with a `CommitTicket`, `body` instead runs in a
    /// SAVEPOINT of the open group's transaction and the ticket joins the group: the write is
    /// still all or nothing, and the request learns from its ticket when it is committed.
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        if isOnGroupThread, let ticket = CommitTicket.current { return try writeInGroup(ticket, body) }
        return try withWriter { connection in try connection.transaction(.immediate, body) }
    }

    /// Runs `body` on the writer connection with no transaction around it, for work that
    /// manages its own (migrations, backups). On the group-commit thread the open group commits
    /// first.
    public func withWriter<T>(_ body: (Connection) throws -> T) throws -> T {
        if isOnGroupThread { commitGroup() }
        return try writerLock.withLock { try body(writer) }
    }

    /// Runs `body` in one read transaction on a pooled reader connection, so every query in it
    /// sees the same snapshot. On the group-commit thread with a group open, `body` reads the
    /// group's uncommitted state from the writer (so a request sees its own writes) and the
    /// request's ticket joins the group: an answer drawn from that state waits for its commit.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        if let writer = writerForGroupRead() { return try body(writer) }
        let connection = try borrowReader()
        defer { returnReader(connection) }
        return try connection.transaction(.deferred, body)
    }

    /// Runs `body`, which must issue a single query, on a pooled reader without BEGIN/COMMIT
    /// around it: one statement is its own consistent snapshot, and the hottest reads
    /// (resolving a request key, checking a token) save two round trips through SQLite.
    public func readSingleStatement<T>(_ body: (Connection) throws -> T) throws -> T {
        if let writer = writerForGroupRead() { return try body(writer) }
        let connection = try borrowReader()
        defer { returnReader(connection) }
        return try body(connection)
    }

    // MARK: Group commit (GroupCommit.swift)

    private static var currentThreadID: UInt {
        #if canImport(Glibc)
        UInt(pthread_self())
        #else
        UInt(bitPattern: pthread_self())
        #endif
    }

    private var isOnGroupThread: Bool {
        let thread = groupThread.load(ordering: .relaxed)
        return thread != 0 && thread == Self.currentThreadID
    }

    /// Makes the calling thread the one whose writes share commits: one per database, for the
    /// life of the database (a second would find the writer held by the first's open group).
    func adoptCurrentThreadForGroupCommit() {
        let adopted = groupThread.compareExchange(expected: 0, desired: Self.currentThreadID, ordering: .relaxed).exchanged
        precondition(adopted, "a Database takes one GroupCommitExecutor")
    }

    /// The writer, for a read on the group thread while a group is open. A read in a request
    /// joins its ticket to the group; a read outside one commits the group first, so that
    /// nothing is answered from state that might yet roll back.
    private func writerForGroupRead() -> Connection? {
        guard isOnGroupThread, let group = openGroup else { return nil }
        guard let ticket = CommitTicket.current else {
            commitGroup()
            return nil
        }
        ticket.join(group)
        return writer
    }

    private func writeInGroup<T>(_ ticket: CommitTicket, _ body: (Connection) throws -> T) throws -> T {
        let group: CommitGroup
        if let open = openGroup {
            group = open
        } else {
            writerLock.lock()
            do {
                // A group whose ROLLBACK itself failed (the disk gone, say) left its transaction
                // open: undo it rather than fail every write from now on.
                if writer.isInTransaction { try writer.execute("ROLLBACK") }
                try writer.execute("BEGIN IMMEDIATE")
            } catch {
                writerLock.unlock()
                throw error
            }
            group = CommitGroup()
            openGroup = group
            groupedWrites = 0
        }
        // Joined before `body` runs: even a write that fails read the group's uncommitted
        // state, and its answer (a conflict, say) must not go out before that state commits.
        ticket.join(group)
        do {
            let result = try writer.savepoint(body)
            groupedWrites += 1
            return result
        } catch {
            // Some errors (SQLITE_FULL, an I/O error) make SQLite roll back the whole
            // transaction: the group's earlier writes are gone, and their requests must hear so.
            if !writer.isInTransaction { finishGroup(.failure(error)) }
            throw error
        }
    }

    /// Commits the open group, if any, and tells its requests how it went. Called by the
    /// group-commit thread; a no-op on any other.
    func commitGroup() {
        guard isOnGroupThread, openGroup != nil else { return }
        do {
            try writer.execute("COMMIT")
            groupCommits.add(1, ordering: .relaxed)
            groupCommittedWrites.add(groupedWrites, ordering: .relaxed)
            finishGroup(.success(()))
        } catch {
            if writer.isInTransaction { try? writer.execute("ROLLBACK") }
            finishGroup(.failure(error))
        }
    }

    /// Whether a group is open (on the group thread; false on any other).
    var isGroupOpen: Bool { isOnGroupThread && openGroup != nil }

    private func finishGroup(_ outcome: Result<Void, any Error>) {
        guard let group = openGroup else { return }
        openGroup = nil
        groupedWrites = 0
        writerLock.unlock()
        group.finish(outcome)
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
