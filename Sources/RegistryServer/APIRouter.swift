import HTTPTypes
import Hummingbird

/// Finds the route of a request: the server's responder, in place of Hummingbird's `Router`.
///
/// The API's paths are fixed segments and `{parameter}` segments, and no two of them differ
/// only where one has a literal and the other a parameter, so a path matches at most one
/// template. The templates are grouped by their number of segments, and a request compares its
/// segments' bytes with the few templates of its length. Hummingbird's trie router, which
/// backtracks over sibling nodes comparing `Substring`s, was a fifth of what a `GET …/resolve`
/// runs inside the responder (BENCHMARKS.md).
///
/// It also tells the two misses apart, as RFC 9110 asks: a path that no template matches is
/// 404, a known path with another method is 405 with an `Allow` header.
struct APIRouter: HTTPResponder {
    typealias Context = ServerContext
    typealias Handler = @Sendable (Request, ServerContext) async throws -> Response

    private enum Segment {
        case literal([UInt8])
        case parameter(Substring)
    }

    private struct Template {
        let path: String
        let segments: [Segment]
        var handlers: [HTTPRequest.Method: Handler]
        var allow: String { handlers.keys.map(\.rawValue).sorted().joined(separator: ", ") }
    }

    /// Templates by their number of segments.
    private let templates: [Int: [Template]]
    private let observability: ObservabilityMiddleware
    private let problems = ProblemMiddleware()

    /// - Parameters:
    ///   - routes: `path` and `method` pairs are unique (a precondition, as in Hummingbird).
    ///   - handler: what answers a route's requests once it is found (`RoutePipeline.compose`).
    init(routes: [Route], metrics: ServerMetrics, handler: (Route) -> Handler) {
        var byPath: [String: Template] = [:]
        var order: [String] = []
        for route in routes {
            if byPath[route.path] == nil {
                order.append(route.path)
                let segments = route.path.split(separator: "/").map { segment -> Segment in
                    segment.first == "{" && segment.last == "}"
                        ? .parameter(segment.dropFirst().dropLast()) : .literal(Array(segment.utf8))
                }
                byPath[route.path] = Template(path: route.path, segments: segments, handlers: [:])
            }
            precondition(byPath[route.path]?.handlers[route.method] == nil, "\(route.method) \(route.path) is routed twice")
            byPath[route.path]?.handlers[route.method] = handler(route)
        }
        self.templates = Dictionary(grouping: order.compactMap { byPath[$0] }, by: \.segments.count)
        self.observability = ObservabilityMiddleware(metrics: metrics)
    }

    func respond(to request: Request, context: ServerContext) async throws -> Response {
        try await observability.handle(request, context: context) { request, context in
            try await problems.handle(request, context: context, next: dispatch)
        }
    }

    private func dispatch(_ request: Request, context: ServerContext) async throws -> Response {
        let path = request.uri.path
        // Empty segments are skipped, as Hummingbird's router does: `/v1/models/` is `/v1/models`.
        let segments = path.utf8.split(separator: UInt8(ascii: "/"))
        guard let candidates = templates[segments.count],
            let template = candidates.first(where: { Self.matches($0, segments) })
        else { throw HTTPError(.notFound) }
        var context = context
        context.coreContext.endpointPath.value = template.path
        guard let handler = template.handlers[request.method] else {
            throw HTTPError(
                .methodNotAllowed, headers: [.allow: template.allow],
                message: "\(template.path) does not take \(request.method.rawValue); it takes \(template.allow)")
        }
        for (segment, value) in zip(template.segments, segments) {
            if case .parameter(let name) = segment { context.coreContext.parameters[name] = Substring(value) }
        }
        return try await handler(request, context)
    }

    private static func matches(_ template: Template, _ segments: [Substring.UTF8View]) -> Bool {
        for (segment, value) in zip(template.segments, segments) {
            if case .literal(let bytes) = segment, !value.elementsEqual(bytes) { return false }
        }
        return true
    }
}
