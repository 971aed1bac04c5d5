import Foundation

/// A new, empty directory of its own under the system's temporary directory.
/// Every test target's one helper for scratch files.
public struct TemporaryDirectory: Sendable {
    public let path: String

    /// The path of `name` inside the directory (the file need not exist).
    public func file(_ name: String) -> String { path + "/" + name }

    fileprivate static func make() throws -> TemporaryDirectory {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("mreg-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return TemporaryDirectory(path: url.path)
    }

    fileprivate func remove() {
        // Removal failing must not hide the test's own outcome.
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh temporary directory that is removed afterwards, whether `body`
/// returns or throws.
public func withTemporaryDirectory<T>(_ body: (TemporaryDirectory) throws -> T) throws -> T {
    let directory = try TemporaryDirectory.make()
    defer { directory.remove() }
    return try body(directory)
}

/// Runs `body` with a fresh temporary directory that is removed afterwards, whether `body`
/// returns or throws.
public func withTemporaryDirectory<T>(_ body: (TemporaryDirectory) async throws -> T) async throws -> T {
    let directory = try TemporaryDirectory.make()
    defer { directory.remove() }
    return try await body(directory)
}

/// The process's open files inside `directory`, read from `/proc/self/fd`: only the test that
/// made the directory opens files there, so tests running in parallel cannot change the count.
public func openFiles(in directory: TemporaryDirectory) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { descriptor in
        let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(descriptor)")
        return target.flatMap { $0.hasPrefix(directory.path + "/") || $0 == directory.path ? $0 : nil }
    }
}
