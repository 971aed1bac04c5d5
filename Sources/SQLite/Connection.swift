import CSQLite

/// One SQLite connection (https://www.sqlite.org/c3ref/sqlite3.html).
///
/// Not `Sendable`: SQLite connections must not be used from two threads at once. Share one
/// through `Database`, which serializes access.
public final class Connection {
    public struct Options: Sendable {
        /// How long a statement waits for another connection's lock before failing with
        /// `SQLITE_BUSY`, trying again every 100 µs (`BusyWait`); 0 fails at once.
        public var busyTimeoutMilliseconds: Int32 = 10_000
        public var readOnly = false
        /// Create the file when it does not exist.
        public var create = true
        /// Whether the last connection to close checkpoints the WAL into the database file.
        /// A short-lived process (one CLI command) turns it off: the checkpoint's fsyncs cost
        /// more than the command itself, and the next opener (or SQLite's automatic
        /// checkpoint) folds the WAL in anyway (https://www.sqlite.org/c3ref/c_dbconfig_defensive.html).
        public var checkpointOnClose = true
        /// Whether a commit that grows the WAL past 1000 pages checkpoints it, inside the commit.
        /// A long-running process turns it off and checkpoints from a thread of its own
        /// (`Database(…, backgroundCheckpoint:)`).
        public var automaticCheckpoint = true
        /// How much of the file reads may memory-map (https://www.sqlite.org/mmap.html): no copy
        /// per page read. 0 turns it off, for a process that reads while it writes: after
        /// every commit each reader unmaps the whole file (the pager cannot tell what changed)
        /// and maps it again, an munmap with a TLB shootdown per read (BENCHMARKS.md).
        public var memoryMapBytes = 256 << 20
        /// Whether a commit returns only once it is on disk (https://www.sqlite.org/pragma.html#pragma_synchronous).
        public var synchronous: Synchronous = .full
        /// The SQLite VFS the file is opened through; nil for the default. Tests name one that
        /// simulates power losses.
        public var vfs: String?

        public init(
            busyTimeoutMilliseconds: Int32 = 10_000, readOnly: Bool = false, create: Bool = true, checkpointOnClose: Bool = true,
            automaticCheckpoint: Bool = true, memoryMapBytes: Int = 256 << 20, synchronous: Synchronous = .full, vfs: String? = nil
        ) {
            self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
            self.readOnly = readOnly
            self.create = create
            self.checkpointOnClose = checkpointOnClose
            self.automaticCheckpoint = automaticCheckpoint
            self.memoryMapBytes = memoryMapBytes
            self.synchronous = synchronous
            self.vfs = vfs
        }
    }

    /// When a commit in WAL mode reaches the disk.
    public enum Synchronous: String, Sendable {
        /// Each commit syncs the WAL before it returns: a change that was acknowledged survives
        /// a power loss or an operating-system crash, not only a killed process. One fsync per
        /// commit, so per group of a group-committing writer.
        case full = "FULL"
        /// The WAL is synced only at checkpoints: commits are durable against a killed process
        /// but not a power loss, which may take back every commit since the last checkpoint.
        /// Only for tests that show what it loses.
        case normal = "NORMAL"
    }

    public enum TransactionKind: String, Sendable {
        /// Takes the write lock up front, so a write transaction never fails half-way with
        /// `SQLITE_BUSY` on upgrade (https://www.sqlite.org/lang_transaction.html).
        case immediate = "IMMEDIATE"
        case deferred = "DEFERRED"
    }

    /// Applies the process-wide settings of the SQLite library; every `Connection` does so
    /// before it opens. Call it first in a program that also opens SQLite through the C API,
    /// since the settings only take before the library's first use.
    ///
    /// Memory statistics are off (`SQLITE_CONFIG_MEMSTATUS`): with them on, every allocation
    /// and free inside SQLite takes a global mutex to count bytes, a measurable share of a
    /// registration's instructions (BENCHMARKS.md). Nothing here reads those statistics; SQLite recommends the
    /// same at compile time (https://www.sqlite.org/compile.html#default_memstatus).
    public static func configureLibrary() { _ = libraryConfiguration }

    private static let libraryConfiguration: Void = {
        _ = csqlite_config_int(SQLITE_CONFIG_MEMSTATUS, 0)
    }()

    let handle: OpaquePointer
    public let path: String
    /// The busy handler's state, which must live as long as `handle` is open.
    private let busyWait: BusyWait?
    private var statementCache: [String: Statement] = [:]
    /// The WAL hook's closure, which must live as long as `handle` is open.
    private var walHook: WALHook?

    /// Opens (and with `options.create`, creates) the database at `path`, then configures it:
    /// extended result codes, the busy timeout, WAL, `options.synchronous`, `foreign_keys=ON`.
    /// - Throws: `SQLiteError` when the file cannot be opened, is not a database, or WAL
    ///   cannot be turned on.
    public init(path: String, options: Options = Options()) throws(SQLiteError) {
        Self.configureLibrary()
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        if options.readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if options.create { flags |= SQLITE_OPEN_CREATE }
        }
        var db: OpaquePointer?
        let code = sqlite3_open_v2(path, &db, flags, options.vfs)
        guard code == SQLITE_OK, let db else {
            let error = SQLiteError(handle: db, code: code, sql: nil)
            sqlite3_close_v2(db)
            throw error
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        if options.busyTimeoutMilliseconds > 0 {
            let busyWait = BusyWait(timeoutMilliseconds: options.busyTimeoutMilliseconds)
            busyWait.install(on: db)
            self.busyWait = busyWait
        } else {
            self.busyWait = nil
        }
        if !options.checkpointOnClose { csqlite_db_config_int(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1) }
        try configure(options)
    }

    deinit {
        // Statements must be finalized before the connection closes.
        statementCache.removeAll()
        sqlite3_close_v2(handle)
    }

    private func configure(_ options: Options) throws(SQLiteError) {
        if !options.readOnly {
            // https://www.sqlite.org/wal.html — the answer is the mode now in force; a database
            // that cannot use WAL (e.g. on some network file systems) answers something else.
            let mode = try whileBusy { () throws(SQLiteError) in
                try queryFirst("PRAGMA journal_mode=WAL")?.optionalString(0).map { $0.lowercased() }
            }
            guard mode == "wal" else {
                throw SQLiteError(
                    extendedCode: SQLITE_CANTOPEN, message: "could not turn on WAL mode (journal_mode is \(mode ?? "unknown"))")
            }
        }
        // journal_size_limit truncates the WAL file back to 64 MiB when the log restarts, so one
        // burst of writes does not keep its disk space forever. temp_store=MEMORY keeps the
        // sub-journal of a SAVEPOINT (group commit: one per write) in memory; by default it
        // spills to a temporary file past 64 KiB, which cost ~20 pwrite calls per write
        // (https://www.sqlite.org/tempfiles.html#stmtjrnl).
        try execute(
            script: """
                PRAGMA synchronous=\(options.synchronous.rawValue); PRAGMA foreign_keys=ON; PRAGMA mmap_size=\(max(0, options.memoryMapBytes));
                PRAGMA journal_size_limit=67108864; PRAGMA temp_store=MEMORY;
                """)
        if !options.automaticCheckpoint { try execute(script: "PRAGMA wal_autocheckpoint=0;") }
    }

    /// Runs `body` again while it fails with SQLITE_BUSY, for as long as the busy timeout allows.
    /// For the statements SQLite answers BUSY without calling the busy handler, to avoid a
    /// deadlock: a read that asks for the write lock while another connection holds it. Switching
    /// a rollback-journal file to WAL does that (it reads the header, then writes it), so when two
    /// processes open a fresh file at once, one of them meets the other's switch
    /// (https://www.sqlite.org/c3ref/busy_handler.html).
    private func whileBusy<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        var attempt: Int32 = 0
        while true {
            do {
                return try body()
            } catch where error.isBusy && busyWait?.shouldRetry(attempt: attempt) == true {
                attempt += 1
            }
        }
    }

    /// Runs one or more SQL statements without arguments (https://www.sqlite.org/c3ref/exec.html).
    public func execute(script: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, script, nil, nil, &errorMessage)
        guard code == SQLITE_OK else {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_free(errorMessage)
            throw SQLiteError(extendedCode: sqlite3_extended_errcode(handle), message: message, sql: script)
        }
    }

    /// The prepared statement for `sql`, from this connection's cache.
    public func cachedStatement(_ sql: String) throws(SQLiteError) -> Statement {
        if let statement = statementCache[sql] { return statement }
        let statement = try Statement(connection: handle, sql: sql, persistent: true)
        statementCache[sql] = statement
        return statement
    }

    /// A new, uncached statement, for SQL that runs once.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        try Statement(connection: handle, sql: sql, persistent: false)
    }

    /// Runs one statement that returns no rows.
    public func execute(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        while try statement.step() {}
    }

    /// Runs one statement and returns every row.
    public func query(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> [Row] {
        var rows: [Row] = []
        try forEachRow(sql, arguments) { rows.append($0.row()) }
        return rows
    }

    /// Runs one statement and returns its first row, if any.
    public func queryFirst(_ sql: String, _ arguments: [any SQLiteBindable] = []) throws(SQLiteError) -> Row? {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        return try statement.step() ? statement.row() : nil
    }

    /// Runs one statement and calls `body` with the statement positioned on each row, for
    /// callers that read columns directly instead of building rows.
    public func forEachRow(
        _ sql: String, _ arguments: [any SQLiteBindable] = [], _ body: (Statement) throws -> Void
    ) throws {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        while try statement.step() { try body(statement) }
    }

    /// Typed-throws variant of `forEachRow` for bodies that cannot fail.
    public func forEachRow(
        _ sql: String, _ arguments: [any SQLiteBindable] = [], _ body: (Statement) -> Void
    ) throws(SQLiteError) {
        let statement = try cachedStatement(sql)
        try statement.bind(arguments)
        defer { statement.reset() }
        while try statement.step() { body(statement) }
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
    /// Rows changed by the most recent INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
    /// Whether a transaction is open (https://www.sqlite.org/c3ref/get_autocommit.html).
    public var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` in one transaction: commits when it returns, rolls back when it throws and
    /// rethrows the first error.
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: (Connection) throws -> T) throws -> T {
        try execute("BEGIN \(kind.rawValue)")
        do {
            let result = try body(self)
            try execute("COMMIT")
            return result
        } catch {
            // SQLite may already have rolled back on its own (e.g. after SQLITE_FULL);
            // ROLLBACK outside a transaction would fail and hide the first error.
            if isInTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` in a SAVEPOINT inside the open transaction: releases it when `body`
    /// returns, rolls back to it (undoing `body`'s changes alone) when it throws, and rethrows
    /// the first error (https://www.sqlite.org/lang_savepoint.html).
    public func savepoint<T>(_ body: (Connection) throws -> T) throws -> T {
        try execute("SAVEPOINT write")
        do {
            let result = try body(self)
            try execute("RELEASE write")
            return result
        } catch {
            if isInTransaction {
                do {
                    try execute("ROLLBACK TO write")
                    try execute("RELEASE write")
                } catch {
                    // The savepoint cannot be undone on its own: undo the whole transaction
                    // rather than commit half of `body`.
                    try? execute("ROLLBACK")
                }
            }
            throw error
        }
    }

    /// Calls `body` after each commit on this connection, with the number of frames the WAL
    /// then holds (https://www.sqlite.org/c3ref/wal_hook.html), on the thread that committed.
    /// SQLite's automatic checkpoint is itself a WAL hook, which this replaces: only for a
    /// connection whose WAL is checkpointed otherwise (`Database`'s `WALCheckpointer`).
    func onCommit(walFrames body: @escaping (Int) -> Void) {
        let hook = WALHook(body)
        walHook = hook
        sqlite3_wal_hook(handle, { context, _, _, frames in
            guard let context else { return SQLITE_OK }
            Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().body(Int(frames))
            return SQLITE_OK
        }, Unmanaged.passUnretained(hook).toOpaque())
    }

    /// Copies the whole database into a new file at `path` with the online backup API
    /// (https://www.sqlite.org/backup.html). With the default of all pages in one step the copy
    /// is one consistent snapshot, taken under a read transaction that in WAL mode does not
    /// block writers in other processes.
    /// - Throws: `SQLiteError` when the destination cannot be written.
    public func backup(to path: String, pagesPerStep: Int32 = -1) throws(SQLiteError) {
        var destination: OpaquePointer?
        let openCode = sqlite3_open_v2(
            path, &destination, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, nil)
        defer { sqlite3_close_v2(destination) }
        guard openCode == SQLITE_OK, let destination else {
            throw SQLiteError(handle: destination, code: openCode, sql: nil)
        }
        guard let backup = sqlite3_backup_init(destination, "main", handle, "main") else {
            throw SQLiteError(handle: destination, code: sqlite3_errcode(destination), sql: nil)
        }
        var code: Int32
        repeat {
            code = sqlite3_backup_step(backup, pagesPerStep)
            if code == SQLITE_BUSY || code == SQLITE_LOCKED { sqlite3_sleep(5) }
        } while code == SQLITE_OK || code == SQLITE_BUSY || code == SQLITE_LOCKED
        let finishCode = sqlite3_backup_finish(backup)
        guard code == SQLITE_DONE, finishCode == SQLITE_OK else {
            throw SQLiteError(handle: destination, code: code == SQLITE_DONE ? finishCode : code, sql: nil)
        }
    }
}

/// A WAL hook's closure, boxed to pass through SQLite's context pointer.
private final class WALHook {
    let body: (Int) -> Void

    init(_ body: @escaping (Int) -> Void) { self.body = body }
}
