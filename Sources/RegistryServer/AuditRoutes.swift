import Foundation
import Hummingbird
import RegistryCore

/// The audit log.
struct AuditRoutes {
    let registry: Registry
    let checkpointKey: String?
    let origin: String

    var routes: [Route] {
        [
            Route(.get, "/v1/audit", role: .auditor) { request in
                .json(try registry.auditLog(AuditQuery(
                    model: request.query("model"), actor: request.query("actor"), action: request.query("action"),
                    since: try request.timeQuery("since"), until: try request.timeQuery("until"),
                    limit: try request.intQuery("limit", default: 50), cursor: request.query("cursor"))))
            },
            Route(.get, "/v1/audit/verify", role: .auditor) { request in
                .json(try registry.verifyAudit(state: try request.boolQuery("state", default: false)))
            },
            // Verifying against a signed checkpoint: the checkpoint and its signer's key are the body.
            Route(.post, "/v1/audit/verify", role: .auditor) { request in
                let body = try request.decode(CheckpointVerificationRequest.self, allowedKeys: ["checkpoint", "public_key", "state"])
                return .json(try registry.verifyAudit(checkpoint: body.checkpoint, publicKey: body.publicKey, state: body.state ?? false))
            },
            Route(.get, "/v1/audit/export", role: .auditor) { request in
                let format = try request.query("format").map { (text: String) throws(RegistryError) in
                    guard let format = AuditExport.Format(rawValue: text) else {
                        throw RegistryError(.invalidArgument, "format must be jsonl or csv, not \"\(text)\"")
                    }
                    return format
                } ?? .jsonl
                return .streaming(contentType: format.contentType) { write in try await registry.exportAudit(format, write: write) }
            },
            // Signs what it reads and writes nothing.
            Route(.post, "/v1/audit/checkpoint", role: .auditor) { [checkpointKey, origin] _ in
                guard let checkpointKey else {
                    throw RegistryError(.unavailable, "this server has no checkpoint signing key; start it with --checkpoint-key FILE")
                }
                return .json(try registry.checkpoint(privateKey: checkpointKey, origin: origin), status: .created)
            },
        ]
    }
}
