import Foundation
import Hummingbird
import RegistryCore

/// Models, versions, reports and branches.
struct ModelRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.get, "/v1/models", role: .reader) { request in
                .json(try registry.models(limit: try request.intQuery("limit", default: 100), cursor: request.query("cursor")))
            },
            Route(.post, "/v1/models", role: .engineer, idempotent: true) { request in
                struct Body: Decodable { let name: String; let description: String? }
                let body = try request.decode(Body.self, allowedKeys: ["name", "description"])
                let model = try registry.createModel(name: body.name, description: body.description ?? "", by: try request.caller)
                return .json(model, status: .created, headers: [.location: "/v1/models/\(model.name)"])
            },
            Route(.get, "/v1/models/{name}", role: .reader) { request in
                .json(try registry.model(named: try request.parameter("name")))
            },
            Route(.get, "/v1/models/{name}/versions", role: .reader) { request in
                .json(bytes: try registry.versionsJSON(
                    model: try request.parameter("name"), limit: try request.intQuery("limit", default: 50), cursor: request.query("cursor")))
            },
            Route(.post, "/v1/models/{name}/versions", role: .engineer, idempotent: true) { request in
                let body = try request.decode(RegisterRequest.self, allowedKeys: RegisterRequest.allowedKeys)
                let version = try registry.register(model: try request.parameter("name"), body, by: try request.caller)
                return .json(version, status: .created, headers: [.location: "/v1/models/\(version.model)/versions/\(version.version)"])
            },
            Route(.get, "/v1/models/{name}/versions/{ref}", role: .reader) { request in
                .json(try registry.version(model: try request.parameter("name"), try VersionRef(parsing: try request.parameter("ref"))))
            },
            Route(.post, "/v1/models/{name}/versions/{ref}/deprecate", role: .engineer) { request in
                struct Body: Decodable { let reason: String }
                let body = try request.decode(Body.self, allowedKeys: ["reason"])
                return .json(try registry.deprecate(
                    model: try request.parameter("name"), version: try request.intParameter("ref"), reason: body.reason, by: try request.caller))
            },
            Route(.get, "/v1/models/{name}/versions/{ref}/reports", role: .reader) { request in
                // One page: a version has few reports.
                .json(Page(items: try registry.reports(model: try request.parameter("name"), version: try request.intParameter("ref")), nextCursor: nil))
            },
            // Parsing up to 10 MiB of JUnit XML must not hold up every other write: off the write thread.
            Route(.post, "/v1/models/{name}/versions/{ref}/reports", role: .engineer, idempotent: true, sharesCommits: false, maxBodyBytes: 10 << 20) { request in
                let isXML = request.header(.contentType).map { $0.contains("xml") } ?? false
                let upload = ReportUpload(
                    document: request.body, format: isXML ? .junit : .json, suite: request.query("suite"),
                    metrics: try request.metricQueries())
                let report = try registry.addReport(
                    model: try request.parameter("name"), version: try request.intParameter("ref"), upload, what: "the request body",
                    by: try request.caller)
                return .json(report, status: .created)
            },
            Route(.get, "/v1/models/{name}/branches", role: .reader) { request in
                let name = try request.parameter("name")
                return .json(Page(
                    items: try Branch.allCases.map { (branch: Branch) throws(RegistryError) in try registry.branch(model: name, branch) },
                    nextCursor: nil))
            },
            Route(.get, "/v1/models/{name}/branches/{branch}", role: .reader) { request in
                let state = try registry.branch(model: try request.parameter("name"), try Branch.parse(try request.parameter("branch")))
                return .json(state, headers: [.eTag: state.etag])
            },
        ]
    }
}

/// Promotion, rollback, diff, history, policy and approvals.
struct PromotionRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.post, "/v1/models/{name}/promote", role: .engineer) { request in
                let body = try request.decode(PromoteRequest.self, allowedKeys: ["to", "version", "expect", "reason", "dry_run", "force"])
                return .json(try registry.promote(
                    model: try request.parameter("name"), body, ifMatch: request.header(.ifMatch), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollback", role: .releaseManager) { request in
                let body = try request.decode(RollbackRequest.self, allowedKeys: ["branch", "to", "reason", "expect"])
                return .json(try registry.rollback(
                    model: try request.parameter("name"), body, ifMatch: request.header(.ifMatch), by: try request.caller))
            },
            Route(.get, "/v1/models/{name}/diff", role: .reader) { request in
                guard let from = request.query("from"), let to = request.query("to") else {
                    throw RegistryError(.invalidArgument, "diff needs both from= and to= (a version, a branch or BRANCH@TIME)")
                }
                return .json(try registry.diff(
                    model: try request.parameter("name"), from: try VersionRef(parsing: from), to: try VersionRef(parsing: to)))
            },
            Route(.get, "/v1/models/{name}/history", role: .reader) { request in
                let name = try request.parameter("name")
                let branch = try request.query("branch").map { (text: String) throws(RegistryError) in try Branch.parse(text) }
                if let at = try request.timeQuery("at") { return .json(try registry.branches(model: name, at: at)) }
                return .json(bytes: try registry.historyJSON(
                    model: name, branch: branch, limit: try request.intQuery("limit", default: 50), cursor: request.query("cursor")))
            },
            Route(.get, "/v1/models/{name}/policy", role: .reader) { request in
                let revision = try request.query("revision").map { (text: String) throws(RegistryError) -> Int in
                    guard let n = Int(text) else { throw RegistryError(.invalidArgument, "revision must be a whole number") }
                    return n
                }
                return .json(try registry.policy(model: try request.parameter("name"), revision: revision))
            },
            Route(.put, "/v1/models/{name}/policy", role: .admin) { request in
                .json(try registry.setPolicy(
                    model: try request.parameter("name"), document: String(decoding: request.body, as: UTF8.self), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/versions/{ref}/approvals", role: .releaseManager, idempotent: true) { request in
                struct Body: Decodable { let to: Branch?; let comment: String? }
                let body = try request.decode(Body.self, allowedKeys: ["to", "comment"])
                return .json(
                    try registry.approve(
                        model: try request.parameter("name"), version: try request.intParameter("ref"), to: body.to ?? .master,
                        comment: body.comment ?? "", by: try request.caller),
                    status: .created)
            },
        ]
    }
}

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
            Route(.get, "/v1/audit/verify", role: .auditor) { _ in
                .json(try registry.verifyAudit())
            },
            // Verifying against a signed checkpoint: the checkpoint and its signer's key are the body.
            Route(.post, "/v1/audit/verify", role: .auditor, sharesCommits: false) { request in
                let body = try request.decode(CheckpointVerificationRequest.self, allowedKeys: ["checkpoint", "public_key"])
                return .json(try registry.verifyAudit(checkpoint: body.checkpoint, publicKey: body.publicKey))
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
            // Signs what it reads and writes nothing: it never holds up the writes' commits.
            Route(.post, "/v1/audit/checkpoint", role: .auditor, sharesCommits: false) { [checkpointKey, origin] _ in
                guard let checkpointKey else {
                    throw RegistryError(.unavailable, "this server has no checkpoint signing key; start it with --checkpoint-key FILE")
                }
                return .json(try registry.checkpoint(privateKey: checkpointKey, origin: origin), status: .created)
            },
        ]
    }
}
