import Hummingbird
import RegistryCore

/// API tokens, for admins: what `mreg token create|list|revoke` does through a server.
struct TokenRoutes {
    let registry: Registry

    var routes: [Route] {
        [
            Route(.get, "/v1/tokens", role: .admin) { _ in
                .json(Page(items: try registry.tokens(), nextCursor: nil))
            },
            // Not idempotent: a replay would have to keep the secret, which is shown only once.
            Route(.post, "/v1/tokens", role: .admin) { request in
                let body = try request.decode(TokenRequest.self, allowedKeys: ["name", "role"])
                return .json(try await registry.createToken(name: body.name, role: body.role, by: try request.caller), status: .created)
            },
            Route(.post, "/v1/tokens/{id}/revoke", role: .admin) { request in
                .json(try await registry.revokeToken(id: try request.parameter("id"), by: try request.caller))
            },
        ]
    }
}
