import Hummingbird
import RegistryCore

/// A consistent copy of the whole database, for admins: what `mreg backup` does through a server.
struct BackupRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            // The copy is taken (through a reader connection: writers go on) before the answer
            // begins, so a failure is still a problem document, then streamed and removed.
            Route(.get, "/v1/backup", role: .admin) { _ in
                let backup = try registry.temporaryBackup()
                return .streaming(contentType: "application/vnd.sqlite3") { write in try await backup.send(write) }
            },
        ]
    }
}
