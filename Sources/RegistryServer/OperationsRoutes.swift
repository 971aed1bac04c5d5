import Hummingbird
import RegistryCore

/// Health, readiness, metrics and the API description: public, no token needed.
struct OperationsRoutes {
    let registry: Registry
    let metrics: ServerMetrics
    let events: EventHub

    /// The OpenAPI document, embedded from openapi/openapi.yaml at build time.
    static let openAPIDocument: String = embeddedOpenAPIFiles.first?.text ?? ""

    var routes: [Route] {
        [
            Route(.get, "/healthz", role: nil) { _ in
                .json(["status": "ok"])
            },
            Route(.get, "/readyz", role: nil) { _ in
                registry.isReady()
                    ? .json(["status": "ready"])
                    : Problem(status: .serviceUnavailable, code: .unavailable, detail: "the database does not answer or its schema is not current").response
            },
            Route(.get, "/metrics", role: nil) { _ in
                APIResponse(status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metrics.exposition(registry: registry, events: events))
            },
            Route(.get, "/openapi.yaml", role: nil) { _ in
                APIResponse(status: .ok, contentType: "application/yaml", body: Array(Self.openAPIDocument.utf8))
            },
        ]
    }
}
