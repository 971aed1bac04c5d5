import Foundation
import Hummingbird
import RegistryCore

/// A consistent copy of the whole database, for admins: what `mreg backup` does through a server.
struct BackupRoutes {
    let registry: Registry

    /// Read in pieces of this size while the copy is sent.
    static let pieceBytes = 1 << 20

    var routes: [Route] {
        [
            // The copy is taken through a reader connection (writers go on), into a temporary
            // file that is streamed and then removed.
            Route(.get, "/v1/backup", role: .admin) { _ in
                let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mreg-backup-\(UUID().uuidString)")
                do {
                    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                } catch {
                    throw RegistryError(.unavailable, "cannot make a temporary folder for the backup: \(error.localizedDescription)")
                }
                let path = directory.appendingPathComponent("mreg.db").path
                do {
                    try registry.backup(to: path)
                } catch {
                    try? FileManager.default.removeItem(at: directory)
                    throw error
                }
                return .streaming(contentType: "application/vnd.sqlite3") { write in
                    defer { try? FileManager.default.removeItem(at: directory) }
                    guard let file = FileHandle(forReadingAtPath: path) else {
                        throw RegistryError(.unavailable, "the backup's temporary copy disappeared")
                    }
                    defer { try? file.close() }
                    while let piece = try file.read(upToCount: Self.pieceBytes), !piece.isEmpty {
                        try await write(Array(piece))
                    }
                }
            },
        ]
    }
}
