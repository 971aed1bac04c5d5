import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct AuditCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "audit", abstract: "Read, verify and export the hash-chained audit log.",
            subcommands: [Log.self, Verify.self, Export.self, Checkpoint.self, Keygen.self])

        struct Log: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "log",
                abstract: "List audit entries, newest first.",
                discussion: """
                    --actor NAME lists only the entries of that actor.
                    Example: mreg audit log --model fraud --action branch.promote --since 2026-11-01T00:00:00Z
                    """)

            /// Its `--actor` is the filter "only entries by this actor", as the contract spells it.
            @OptionGroup var global: GlobalOptions
            @Option(help: "Only this model.") var model: String?
            @Option(help: "Only this action (e.g. version.register, branch.promote, branch.rollback).") var action: String?
            @Option(help: "Only entries at or after this time.") var since: Timestamp?
            @Option(help: "Only entries at or before this time.") var until: Timestamp?
            @Option(help: "At most this many entries.") var limit = 50
            @Option(help: "Continue after a previous page (its next_cursor).") var cursor: String?

            func run() async throws {
                let query = AuditQuery(model: model, actor: global.actor, action: action, since: since, until: until, limit: limit, cursor: cursor)
                let page = try await global.withRegistry(.reads, actorFilters: true) { try await $0.auditLog(query) }
                global.emit(page) {
                    guard !page.items.isEmpty else { return "No audit entries match." }
                    return Terminal.table(
                        header: ["SEQ", "AT", "ACTOR", "ACTION", "MODEL", "VERSION", "BRANCH"],
                        rows: page.items.map {
                            [String($0.seq), "\($0.at)", $0.actor, $0.action, $0.model ?? "-", Terminal.version($0.version), $0.branch ?? "-"]
                        }) + (page.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
                }
            }
        }

        struct Verify: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "verify",
                abstract: "Recompute the hash chain and name the first entry that does not verify (exit 7).",
                discussion: """
                    --state also checks every table against the log: rows its entries describe, branch pointers and rollouts
                    replayed from them; it names the first row that disagrees (exit 7).
                    Example: mreg audit verify --state --json
                    """)

            @OptionGroup var global: GlobalOptions
            @Option(help: "A signed checkpoint (mreg audit checkpoint) whose prefix the log must still contain.") var checkpoint: String?
            @Option(help: "The checkpoint signer's public key file.") var pubkey: String?
            @Flag(help: "Also check the tables against the log (slower: reads every row).") var state = false

            func validate() throws {
                guard (checkpoint == nil) == (pubkey == nil) else {
                    throw ValidationError("--checkpoint and --pubkey go together")
                }
            }

            func run() async throws {
                // A checkpoint that cannot be read is one that does not verify (exit 7), not a
                // usage error.
                let signed = try checkpoint.map { path throws(RegistryError) -> Result<AuditCheckpoint, RegistryError> in
                    let bytes = try readFile(path)
                    return Result { () throws(RegistryError) in try RequestDecoding.decode(AuditCheckpoint.self, from: bytes, what: path) }
                }
                let publicKey = try pubkey.map { path throws(RegistryError) in
                    String(decoding: try readFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }
                let verification = try await global.withRegistry(.reads) { registry in
                    switch (signed, publicKey) {
                    case (.success(let signed)?, let publicKey?):
                        return try await registry.verifyAudit(checkpoint: signed, publicKey: publicKey, state: state)
                    case (.failure(let unreadable)?, _):
                        return try await registry.verifyAudit(state: state).failing("the checkpoint is malformed: \(unreadable.message)")
                    default:
                        return try await registry.verifyAudit(state: state)
                    }
                }
                global.emit(verification) { Self.describe(verification) }
                if !verification.ok { throw ExitCode(ExitStatus.integrity) }
            }

            static func describe(_ verification: AuditVerification) -> String {
                var lines: [String] = []
                if verification.problem == nil {
                    lines.append("\(verification.state?.ok == false ? "Chain OK" : "OK"): \(verification.entries) entries verify; head \(verification.head)")
                } else {
                    lines.append("FAILED: \(verification.problem ?? "")")
                }
                if let state = verification.state {
                    if state.ok {
                        let counts = state.checked.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                        lines.append("The tables agree with the log (\(counts)).")
                    } else {
                        lines.append("FAILED: \(state.table ?? "?") \(state.key ?? "?"): \(state.problem ?? "")")
                    }
                }
                return lines.joined(separator: "\n")
            }
        }

        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "export",
                abstract: "Write the whole audit log, oldest first, as JSON lines or CSV.",
                discussion: "Example: mreg audit export --format csv > audit.csv")

            @OptionGroup var global: GlobalOptions
            @Option(help: "jsonl or csv.") var format: AuditExport.Format = .jsonl

            func run() async throws {
                try await global.withRegistry(.reads) { registry in
                    try await registry.exportAudit(format) { piece in FileHandle.standardOutput.write(Data(piece)) }
                }
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "checkpoint",
            abstract: "Sign (Ed25519) the log's size and head hash, to prove later that its history was not cut or rewritten.",
            discussion: "Example: mreg audit checkpoint --key audit.key --out checkpoints/$(date +%F).json")

        @OptionGroup var global: GlobalOptions
        @Option(help: "The private key file (mreg audit keygen); with --server, leave it out: the server signs with its own.") var key: String?
        @Option(help: "Write the checkpoint here instead of stdout.") var out: String?
        @Option(help: "A name for this registry's log, signed into the checkpoint (default mreg; a server signs its own).") var origin: String?

        func run() async throws {
            let privateKey = try key.map { path throws(RegistryError) in String(decoding: try readFile(path), as: UTF8.self) }
            let checkpoint = try await global.withRegistry(.reads) { try await $0.checkpoint(privateKey: privateKey, origin: origin) }
            if let out {
                try writeFile(out, Data((JSONCoding.text(checkpoint) + "\n").utf8), mode: 0o644)
                global.emit(checkpoint) { "Signed checkpoint of \(checkpoint.size) entries (head \(checkpoint.head)) written to \(out)." }
            } else {
                Terminal.printJSON(checkpoint)
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "keygen",
            abstract: "Create an Ed25519 key pair for checkpoints: FILE (private, mode 600) and FILE.pub.",
            discussion: "Example: mreg audit keygen --out audit.key")

        @OptionGroup var global: GlobalOptions
        @Option(help: "The private key file to create.") var out: String

        func run() async throws {
            let keys = CheckpointKeys.generate()
            try writeFile(out, Data((keys.privateKey + "\n").utf8), mode: 0o600)
            try writeFile(out + ".pub", Data((keys.publicKey + "\n").utf8), mode: 0o644)
            struct Answer: Encodable { let privateKeyFile: String; let publicKeyFile: String; let publicKey: String
                enum CodingKeys: String, CodingKey { case privateKeyFile = "private_key_file", publicKeyFile = "public_key_file", publicKey = "public_key" } }
            global.emit(Answer(privateKeyFile: out, publicKeyFile: out + ".pub", publicKey: keys.publicKey)) {
                "Wrote the private key to \(out) (keep it secret) and the public key to \(out).pub."
            }
        }
    }
}

/// Reads a file named on the command line.
func readFile(_ path: String) throws(RegistryError) -> Data {
    guard let data = FileManager.default.contents(atPath: path) else { throw RegistryError(.invalidArgument, "cannot read \(path)") }
    return data
}

/// Creates a new file (refusing to overwrite one) with the given permissions.
func writeFile(_ path: String, _ data: Data, mode: Int) throws(RegistryError) {
    guard !FileManager.default.fileExists(atPath: path) else {
        throw RegistryError(.alreadyExists, "\(path) already exists; choose a new file")
    }
    guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: mode]) else {
        throw RegistryError(.unavailable, "cannot write \(path)")
    }
}
