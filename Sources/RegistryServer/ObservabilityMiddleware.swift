import Synchronization
import Hummingbird
import Prometheus
import RegistryCore

/// Request id, structured access log and metrics for every request, errors included (it sits
/// outside `ProblemMiddleware`, so it sees the final status).
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = ServerContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.requestID].flatMap { $0.count <= 128 ? $0 : nil } ?? context.id
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        let start = ContinuousClock.now
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        response.headers[.requestID] = requestID
        // Hummingbird closes the connection after answering a request that carries exactly
        // `Connection: close`, but does not say so. RFC 9112 §9.6 asks the server to, and a
        // client such as wrk only opens a new connection when the response tells it to.
        if request.headers[.connection] == "close" { response.headers[.connection] = "close" }
        let route = context.endpointPath ?? "NotFound"
        metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, seconds: seconds)
        context.logger.info(
            "request",
            metadata: [
                "method": .string(request.method.rawValue), "path": .string(request.uri.path), "route": .string(route),
                "status": .stringConvertible(response.status.code), "duration_ms": .string(String(format: "%.3f", seconds * 1000)),
                "actor": .string(context.record.actor ?? "-"),
            ])
        return response
    }
}
