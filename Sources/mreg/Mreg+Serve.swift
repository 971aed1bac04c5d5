import ArgumentParser
import Foundation
import Hummingbird
import Logging
import RegistryCore
import RegistryServer

extension Mreg {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "serve",
            abstract: "Serve the registry over HTTP (REST API under /v1, see /openapi.yaml).",
            discussion: """
                On the first start with no token, an admin token is created and printed once.
                SIGTERM or SIGINT drains in-flight requests, then exits 0.
                With --tls-cert and --tls-key it serves HTTPS.
                Example: mreg serve --db /var/lib/mreg/registry.db --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port to listen on (0: any free port).") var port = 8080
        @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: String = "info"
        @Option(help: "An Ed25519 private key file (mreg audit keygen) for POST /v1/audit/checkpoint.") var checkpointKey: String?
        @Option(help: "The origin signed into checkpoints.") var origin = "mreg"
        @Option(help: ArgumentHelp("Serve HTTPS with this PEM certificate (chain); needs --tls-key.", valueName: "path")) var tlsCert: String?
        @Option(help: ArgumentHelp("The PEM private key of --tls-cert.", valueName: "path")) var tlsKey: String?
        @Option(help: ArgumentHelp("Seconds an event stream (GET /v1/events) may stay silent before a heartbeat keeps it open.", valueName: "seconds"))
        var eventHeartbeat: Double = 15
        @Option(help: ArgumentHelp(
            "The AES key file that seals webhook secrets (made, mode 0600, when missing). Default: the database path with .secrets-key added.",
            valueName: "path"))
        var secretsKey: String?
        @Flag(help: "Let webhooks target loopback and private addresses (link-local and metadata addresses never).")
        var allowPrivateWebhooks = false
        @Option(help: ArgumentHelp("Seconds one webhook attempt may take.", valueName: "seconds")) var webhookTimeout: Double = 10
        @Option(help: ArgumentHelp("Seconds before the first retry of a failed delivery; each next waits twice as long.", valueName: "seconds"))
        var webhookRetryWait: Double = 1
        @Option(help: ArgumentHelp("The longest wait between two retries, in seconds.", valueName: "seconds")) var webhookMaxRetryWait: Double = 300
        @Option(help: ArgumentHelp("Disable a webhook whose deliveries have failed for this many seconds.", valueName: "seconds"))
        var webhookDisableAfter: Double = 86_400
        @Option(help: ArgumentHelp(
            "The Prometheus server the rollouts' query guards ask, e.g. http://prometheus:9090.", valueName: "url"))
        var prometheusURL: String?

        func validate() throws {
            // Only the flag: a shell with $MREG_SERVER exported may still start a server.
            if let server = global.server {
                throw ValidationError("mreg serve serves a database file; it does not take --server (\(server))")
            }
            guard Logger.Level(rawValue: logLevel) != nil else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
            guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
            guard (0.05...3600).contains(eventHeartbeat) else { throw ValidationError("--event-heartbeat must be between 0.05 and 3600 seconds") }
            guard (0.1...300).contains(webhookTimeout) else { throw ValidationError("--webhook-timeout must be between 0.1 and 300 seconds") }
            guard (0.01...86_400).contains(webhookRetryWait), (webhookRetryWait...86_400).contains(webhookMaxRetryWait) else {
                throw ValidationError("--webhook-retry-wait and --webhook-max-retry-wait must be between 0.01 and 86400 seconds, the first no longer")
            }
            guard webhookDisableAfter >= 1 else { throw ValidationError("--webhook-disable-after must be at least 1 second") }
            if let prometheusURL {
                guard let url = URL(string: prometheusURL), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false,
                    url.query == nil
                else { throw ValidationError("--prometheus-url must be an http or https address such as http://prometheus:9090, not \(prometheusURL)") }
                // The address goes into the reasons readings record, in the audit log for good.
                guard url.user == nil, url.password == nil else {
                    throw ValidationError("--prometheus-url must not carry credentials: the address is written into the audit log of every failed reading")
                }
            }
            do { try AuditCheckpoint.validate(origin: origin) } catch { throw ValidationError("--origin: \(error.message)") }
        }

        func run() async throws {
            LoggingSystem.bootstrap { label in ServerLogHandler(label: label) }
            // Files first: a mistyped path must not leave a new database or token behind.
            let key = try checkpointKey.map { String(decoding: try readFile($0), as: UTF8.self) }
            let tls = try tlsCert.flatMap { cert in
                try tlsKey.map { key throws(RegistryError) in try ServerArguments.tlsConfiguration(certificateChain: cert, privateKey: key) }
            }
            let registry = try Registry(path: global.databasePath, workload: .server)
            let keyPath = secretsKey ?? global.databasePath + ".secrets-key"
            // A new key would open none of the secrets sealed so far: a missing key file with
            // subscriptions in the database is a mistake to say, not a key to make.
            let subscriptions = try registry.webhooks().count
            if subscriptions > 0, !FileManager.default.fileExists(atPath: keyPath) {
                throw RegistryError(
                    .invalidArgument,
                    "\(global.databasePath) has \(subscriptions) webhook subscription(s) whose secrets were sealed with a key file, but \(keyPath) does not exist; give that file with --secrets-key")
            }
            let secrets = try SecretsKey.load(from: keyPath, createIfMissing: true)
            let webhooks = WebhookSettings(
                secretsKey: secrets, allowPrivate: allowPrivateWebhooks, timeout: Self.duration(webhookTimeout),
                firstRetryWait: Self.duration(webhookRetryWait), maxRetryWait: Self.duration(webhookMaxRetryWait),
                disableAfter: Self.duration(webhookDisableAfter))
            let arguments = ServerArguments(
                host: host, port: port, logLevel: Logger.Level(rawValue: logLevel) ?? .info, checkpointKey: key, checkpointOrigin: origin,
                tls: tls, eventHeartbeat: Self.duration(eventHeartbeat), webhooks: webhooks, prometheusURL: prometheusURL)
            if let issued = try await registry.createFirstAdminToken() {
                Terminal.printError("""
                    No API token existed, so an admin token was created. It is shown only this once:

                        \(issued.token)

                    Use it as: Authorization: Bearer \(issued.token)
                    """)
            }
            let scheme = tls == nil ? "http" : "https"
            let app = try buildApplication(arguments, registry: registry) { port in
                Terminal.printError("mreg serving \(global.databasePath) on \(scheme)://\(host):\(port)")
            }
            try await app.runService()
        }

        static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
    }
}
