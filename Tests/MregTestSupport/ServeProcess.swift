import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the `mreg` binary under test is.
public enum MregBinary {
    /// `$MREG_BINARY`, else `mreg` beside the test bundle (the test targets depend on the
    /// executable, so `swift build --build-tests` puts it there), else the package's `.build/debug/mreg`.
    public static let path: String = {
        if let override = ProcessInfo.processInfo.environment["MREG_BINARY"], !override.isEmpty { return override }
        let bundle = Bundle.main.bundleURL
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            bundle.deletingLastPathComponent().appendingPathComponent("mreg"),
            bundle.appendingPathComponent("mreg"),
            packageRoot.appendingPathComponent(".build/debug/mreg"),
        ].map(\.path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[candidates.count - 1]
    }()
}

/// `mreg serve` running as a child process on a port of its choosing.
/// `@unchecked Sendable`: its stored properties are set once in `init`; `Process` is used only
/// for its thread-safe `isRunning`, pid and termination state.
public final class ServeProcess: @unchecked Sendable {
    public let port: Int
    /// The admin token the server printed on its first start (nil when tokens existed).
    public let firstToken: String?
    private let process: ChildProcess
    private let stderrPath: String

    /// The server's process id.
    public var pid: pid_t { process.pid }

    /// The URL it serves on (`http://127.0.0.1:PORT`, or `https://` with `--tls-cert`).
    public let url: String

    /// Starts `mreg serve --db database --port 0` and waits until it says where it listens.
    /// - Parameter options: more options for `mreg serve`.
    public init(database: String, directory: String, options: [String] = []) async throws {
        stderrPath = "\(directory)/serve-\(UUID().uuidString).stderr"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = try ChildProcess(
            MregBinary.path, ["serve", "--db", database, "--host", "127.0.0.1", "--port", "0", "--log-level", "warning"] + options,
            directory: directory, stderr: stderrPath)
        self.process = process

        let deadline = ContinuousClock.now + .seconds(20)
        var address: (url: String, port: Int)?
        var log = ""
        while address == nil, process.isRunning, ContinuousClock.now < deadline {
            do {
                try await Task.sleep(for: .milliseconds(20))
            } catch {
                process.stop()
                throw error
            }
            log = String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self)
            if let match = log.firstMatch(of: /on (https?:\/\/[^\s:]+:(\d+))/), let port = Int(match.2) { address = (String(match.1), port) }
        }
        guard let address else {
            process.stop()
            throw ServeError.didNotStart(log)
        }
        self.port = address.port
        self.url = address.url
        firstToken = log.firstMatch(of: /mreg_[0-9a-f]{48}/).map { String($0.0) }
    }

    public enum ServeError: Error, CustomStringConvertible {
        case didNotStart(String)
        public var description: String {
            switch self {
            case .didNotStart(let log): "mreg serve did not report a port; it wrote:\n\(log)"
            }
        }
    }

    public var isRunning: Bool { process.isRunning }
    public var stderr: String { String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self) }

    /// Sends SIGTERM, as a service manager does to stop it.
    public func sendTerminate() {
        process.signal(SIGTERM)
    }

    /// Waits up to `timeout` for the process to exit; returns its exit status, or nil when it
    /// is still running.
    public func waitForExit(within timeout: Duration) async throws -> Int32? {
        try await process.wait(upTo: timeout)
    }

    /// Whether it exited normally (rather than on a signal).
    public var exitedNormally: Bool { process.exitedNormally }

    /// Kills the server if it still runs: every test ends with this, whatever happened.
    public func stop() {
        process.stop()
    }
}
