import Foundation
import Hummingbird
import RegistryCore

/// Promotion, rollback, diff, history, policy and approvals.
struct PromotionRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.post, "/v1/models/{name}/promote", role: .engineer) { request in
                let body = try request.decode(PromoteRequest.self, allowedKeys: ["to", "version", "expect", "reason", "dry_run", "force"])
                return .json(try await registry.promote(
                    model: try request.parameter("name"), body, ifMatch: request.header(.ifMatch), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollback", role: .releaseManager) { request in
                let body = try request.decode(RollbackRequest.self, allowedKeys: ["branch", "to", "reason", "expect"])
                return .json(try await registry.rollback(
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
                return .json(try registry.history(
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
                .json(try await registry.setPolicy(
                    model: try request.parameter("name"), document: String(decoding: request.body, as: UTF8.self), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/versions/{ref}/approvals", role: .releaseManager, idempotent: true) { request in
                struct Body: Decodable { let to: Branch?; let comment: String? }
                let body = try request.decode(Body.self, allowedKeys: ["to", "comment"])
                let change = try registry.approving(
                    model: try request.parameter("name"), version: try request.intParameter("ref"), to: body.to ?? .master,
                    comment: body.comment ?? "", by: try request.caller)
                return try await registry.answer(request, applying: change) { .json($0, status: .created) }
            },
        ]
    }
}
