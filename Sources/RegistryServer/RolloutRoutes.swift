import Foundation
import Hummingbird
import RegistryCore

/// Gray releases onto master, and resolving which version serves a request key.
struct RolloutRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.get, "/v1/models/{name}/rollout", role: .reader) { request in
                .json(try registry.rollout(model: try request.parameter("name")))
            },
            Route(.post, "/v1/models/{name}/rollout", role: .releaseManager, idempotent: true) { request in
                let body = try request.decode(RolloutStartRequest.self, allowedKeys: ["version", "steps", "auto"])
                let change = try registry.startingRollout(model: try request.parameter("name"), body, by: try request.caller)
                return try await registry.answer(request, applying: change) { .json($0, status: .created) }
            },
            Route(.get, "/v1/models/{name}/rollout/history", role: .reader) { request in
                let id = try request.query("rollout").map { text throws(RegistryError) -> Int in
                    guard let id = Int(text), id >= 1 else { throw RegistryError(.invalidArgument, "rollout must be a rollout id (1, 2, …), not \"\(text)\"") }
                    return id
                }
                return .json(Page(items: try registry.rolloutHistory(model: try request.parameter("name"), rollout: id), nextCursor: nil))
            },
            Route(.post, "/v1/models/{name}/rollout/advance", role: .releaseManager) { request in
                .json(try await registry.advanceRollout(model: try request.parameter("name"), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollout/pause", role: .releaseManager) { request in
                .json(try await registry.pauseRollout(model: try request.parameter("name"), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollout/resume", role: .releaseManager) { request in
                .json(try await registry.resumeRollout(model: try request.parameter("name"), by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollout/abort", role: .releaseManager) { request in
                struct Body: Decodable { let reason: String }
                let body = try request.decode(Body.self, allowedKeys: ["reason"])
                return .json(try await registry.abortRollout(model: try request.parameter("name"), reason: body.reason, by: try request.caller))
            },
            Route(.post, "/v1/models/{name}/rollout/observe", role: .releaseManager) { request in
                struct Body: Decodable { let metrics: [String: Double]; let target: Rollout.Target? }
                let body = try request.decode(Body.self, allowedKeys: ["metrics", "target"])
                return .json(try await registry.observeRollout(
                    model: try request.parameter("name"), metrics: body.metrics, target: body.target ?? .candidate, by: try request.caller))
            },
            Route(.get, "/v1/models/{name}/resolve", role: .reader) { request in
                guard let key = request.query("key") else {
                    throw RegistryError(.invalidArgument, "resolve needs the request key: ?key=…")
                }
                return .json(try registry.resolve(model: try request.parameter("name"), key: key))
            },
        ]
    }
}
