import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A program the tests start (`mreg`, a server, a proxy, a verifier), through `posix_spawn`.
///
/// Not Foundation's `Process`: on Linux its `run()` reads `/proc/self/fd` with a 256-byte copy
/// of each `dirent` and crashes the test process now and then, the more likely the more files
/// are open (https://github.com/swiftlang/swift-corelibs-foundation/pull/5472, not in the
/// toolchain we build with). A test process that runs hundreds of them while other tests hold
/// databases open hit it.
///
/// `@unchecked Sendable` invariant: `status` is only read or written while `lock` is held; the
/// child is reaped once, under it.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` with `arguments` in `directory`.
    /// - Parameters:
    ///   - environment: the child's whole environment; nil inherits this process's.
    ///   - stdout, stderr: files the output is appended to; nil discards it. Standard input is
    ///     `/dev/null`.
    public init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String,
        stdout: String? = nil, stderr: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard let addChdir = Self.addChdir, addChdir(&actions, directory) == 0 else {
            throw POSIXError(.ENOSYS)
        }

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let variables = environment.map { $0.map { "\($0.key)=\($0.value)" } } ?? ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
        let envp = variables.map { strdup($0) } + [nil]
        defer { for pointer in envp { free(pointer) } }

        var child: pid_t = 0
        let code = posix_spawn(&child, executable, &actions, nil, argv, envp)
        guard code == 0 else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
        pid = child
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+), which Swift's Glibc module does
    /// not declare.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np")
        .map { unsafeBitCast($0, to: AddChdir.self) }

    /// Reaps the child if it has exited; its raw wait status once it has.
    private func poll() -> Int32? {
        lock.withLock {
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// The exit code, or the signal that ended it (as `Process.terminationStatus` reports
    /// them); nil while it runs.
    public var terminationStatus: Int32? {
        guard let raw = poll() else { return nil }
        return Self.exited(raw) ? (raw >> 8) & 0xFF : raw & 0x7F
    }

    /// Whether it exited by itself (rather than on a signal); false while it runs.
    public var exitedNormally: Bool { poll().map(Self.exited) ?? false }

    private static func exited(_ raw: Int32) -> Bool { raw & 0x7F == 0 }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Waits until it exits, up to `timeout`; its termination status, or nil if it still runs.
    @discardableResult
    public func wait(upTo timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return terminationStatus
    }

    /// Kills it if it still runs and reaps it.
    public func stop() {
        guard isRunning else { return }
        kill(pid, SIGKILL)
        lock.withLock {
            var raw: Int32 = 0
            if status == nil, waitpid(pid, &raw, 0) == pid { status = raw }
        }
    }

    deinit { stop() }
}
