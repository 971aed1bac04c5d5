import Foundation
import MregTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the package and its built `mreg` are.
enum PackagePaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let mreg = MregBinary.path

    /// The schemathesis `make test-tools` installs.
    static let schemathesis = root.appendingPathComponent(".build/venv/bin/schemathesis").path
}

/// What a finished process left behind.
struct ProcessOutcome: Sendable, CustomStringConvertible {
    let status: Int32
    let stdout: String
    let stderr: String

    var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(stdout.utf8))) as? [String: Any]) ?? [:] }

    var description: String { "exit \(status)\n--- stdout\n\(stdout.suffix(4000))\n--- stderr\n\(stderr.suffix(4000))" }
}

/// Runs a program to completion, its output going to files (a pipe could fill and stall it).
/// - Parameter timeout: the program is killed after this long (and the outcome says so).
func runProgram(_ executable: String, _ arguments: [String], in directory: String, timeout: Duration = .seconds(60)) async throws -> ProcessOutcome {
    let token = UUID().uuidString
    let stdoutPath = "\(directory)/.stdout-\(token)"
    let stderrPath = "\(directory)/.stderr-\(token)"
    defer {
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
    let process = try ChildProcess(executable, arguments, directory: directory, stdout: stdoutPath, stderr: stderrPath)
    let timedOut = try await process.wait(upTo: timeout) == nil
    process.stop()
    let stdout = String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self)
    let stderr = String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self)
    return ProcessOutcome(
        status: process.terminationStatus ?? -1, stdout: stdout, stderr: timedOut ? stderr + "\n(killed after \(timeout))" : stderr)
}

/// Runs `body` with `mreg serve` on a fresh database in a temporary directory; the server is
/// killed (if still running) and the directory removed afterwards.
func withServeProcess(_ body: (ServeProcess, _ database: String, _ directory: String) async throws -> Void) async throws {
    try await withTemporaryDirectory { temporary in
        let directory = temporary.path
        let database = "\(directory)/registry.db"
        let server = try await ServeProcess(database: database, directory: directory)
        defer { server.stop() }
        try await body(server, database, directory)
    }
}

/// A blocking HTTP/1.1 connection over a plain socket, for requests that must be sent in
/// pieces (to have one in flight at a chosen moment).
final class RawHTTPConnection {
    private let socketDescriptor: Int32

    init(port: Int) throws {
        #if canImport(Glibc)
        let stream = Int32(SOCK_STREAM.rawValue)
        #else
        let stream = SOCK_STREAM
        #endif
        socketDescriptor = socket(AF_INET, stream, 0)
        guard socketDescriptor >= 0 else { throw POSIXError(.EBADF) }
        var timeout = timeval(tv_sec: 15, tv_usec: 0)
        setsockopt(socketDescriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socketDescriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(socketDescriptor) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(socketDescriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { throw POSIXError(.EPIPE) }
            bytes = bytes.dropFirst(written)
        }
    }

    /// One response with a `Content-Length` body, leaving the connection open.
    func readResponse() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<end.upperBound].utf8.count >= length { return text }
            }
            let count = buffer.withUnsafeMutableBytes { read(socketDescriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return text }
            received += buffer[..<count]
        }
    }

    /// Everything the server sends until it closes the connection (or 15 s pass).
    func readToEnd() -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(socketDescriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            received += buffer[..<count]
        }
        return String(decoding: received, as: UTF8.self)
    }
}
