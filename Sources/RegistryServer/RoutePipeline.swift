import HTTPTypes
import Hummingbird
import RegistryCore

/// One step between the router and a route's handler: it gets the request so far and the rest
/// of the pipeline, and may answer, refuse (throw), or pass the request on changed.
protocol RouteMiddleware: Sendable {
    func handle(_ request: APIRequest, route: Route, next: (APIRequest) async throws -> APIResponse) async throws -> APIResponse
}

/// What every route's request passes through, top to bottom, composed once per route when the
/// router is built. Outside it, for every request, matched or not: `ObservabilityMiddleware`
/// (request id, access log, metrics), then `ProblemMiddleware` (anything thrown becomes a
/// problem document), then `APIRouter` finding the route.
enum RoutePipeline {
    static func middleware(registry: Registry) -> [any RouteMiddleware] {
        [
            Authentication(registry: registry),
            RequestBody(),
            Idempotency(),
            HandlerErrors(registry: registry),
        ]
    }

    /// `route`'s handler inside `middleware`, as the router calls it.
    static func compose(_ route: Route, _ middleware: [any RouteMiddleware]) -> @Sendable (Request, ServerContext) async throws -> Response {
        let handler: @Sendable (APIRequest) async throws -> APIResponse = route.handler
        let pipeline = middleware.reversed().reduce(handler) { next, step in
            { @Sendable request in try await step.handle(request, route: route, next: next) }
        }
        return { request, context in try await pipeline(APIRequest(request: request, context: context, body: [])).hummingbird }
    }
}

/// The caller of a route that needs a role: the bearer token must name a live token whose role
/// is at least the route's. A refusal for the role is itself audited (contract section 3).
struct Authentication: RouteMiddleware {
    let registry: Registry

    func handle(_ request: APIRequest, route: Route, next: (APIRequest) async throws -> APIResponse) async throws -> APIResponse {
        guard let role = route.role else { return try await next(request) }
        let caller = try authenticate(request.request)
        var request = request
        request.context.caller = caller
        request.context.record.actor = caller.name
        guard caller.role >= role else {
            let reason = "\(route.operation) needs the \(role.rawValue) role; \(caller.name) is \(caller.role.rawValue)"
            try await registry.recordDenied(caller, operation: route.operation, reason: reason, model: request.context.parameters.get("name"))
            throw RegistryError(.permissionDenied, reason)
        }
        return try await next(request)
    }

    private func authenticate(_ request: Request) throws(RegistryError) -> Caller {
        guard let header = request.headers[.authorization] else {
            throw RegistryError(.unauthenticated, "this route needs a bearer token: Authorization: Bearer mreg_…")
        }
        guard let token = Self.bearerToken(header), let caller = try registry.caller(forToken: token) else {
            throw RegistryError(.unauthenticated, "the bearer token is unknown or revoked")
        }
        return caller
    }

    private static let bearerScheme = Array("bearer ".utf8)

    /// The token of `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1), read on the
    /// UTF-8 bytes: this runs on every request, and through `zip`, `drop` and `reversed` on the
    /// `UTF8View` it cost ten times as much (BENCHMARKS.md).
    static func bearerToken(_ header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes -> String? in
            let scheme = bearerScheme
            guard bytes.count > scheme.count else { return nil }
            for (byte, expected) in zip(bytes, scheme) where byte | 0x20 != expected { return nil }
            var start = scheme.count
            var end = bytes.count
            while start < end, bytes[start] == 0x20 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 { end -= 1 }
            return start == end ? nil : String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
    }
}

/// The body of every method but GET, read whole up to the route's limit (413 past it).
struct RequestBody: RouteMiddleware {
    func handle(_ request: APIRequest, route: Route, next: (APIRequest) async throws -> APIResponse) async throws -> APIResponse {
        guard route.method != .get else { return try await next(request) }
        var request = request
        request.body = try await Array(buffer: request.request.body.collect(upTo: route.maxBodyBytes))
        return try await next(request)
    }
}

/// `Idempotency-Key` on the creating routes that take one: the key, checked, with what
/// identifies the request, for the handler's ``Registry/answer(_:applying:_:)``.
struct Idempotency: RouteMiddleware {
    func handle(_ request: APIRequest, route: Route, next: (APIRequest) async throws -> APIResponse) async throws -> APIResponse {
        let http = request.request
        guard route.idempotent, let key = http.headers[.idempotencyKey], let caller = request.context.caller else {
            return try await next(request)
        }
        // The key identifies one request: the same key with another target, query or body is a
        // client error, not a replay.
        let target = "\(http.method.rawValue) \(http.uri.description)\n\(http.headers[.contentType] ?? "")\n"
        var request = request
        request.idempotencyKey = try IdempotencyKey(
            key, actor: caller.name, method: http.method.rawValue, path: http.uri.path,
            requestHash: AuditChain.sha256(Array(target.utf8) + request.body))
        return try await next(request)
    }
}

extension Registry {
    /// Makes the change a creating route asked for and answers `respond(value)`. With an
    /// `Idempotency-Key`, the key's record and the answer a repeat will get — `respond`'s, or
    /// the problem document of a refusal — are written in the change's own transaction: a
    /// repeat is answered from the record (`Idempotent-Replayed: true`), the key with another
    /// request is a conflict.
    func answer<Value>(
        _ request: APIRequest, applying change: Change<Value>, _ respond: @escaping @Sendable (Value) -> APIResponse
    ) async throws -> APIResponse {
        guard let key = request.idempotencyKey else { return respond(try await apply(change)) }
        let requestID = request.context.requestID
        let outcome = try await apply(change, once: key) { outcome in
            switch outcome {
            case .success(let value): StoredAnswer.encode(respond(value))
            case .failure(let refusal): StoredAnswer.encode(Problem.answer(refusal, requestID: requestID))
            }
        }
        switch outcome {
        case .made(let value):
            return respond(value)
        case .refused(let refusal):
            // `HandlerErrors` answers it as it was stored, and audits a refusal for the role.
            throw refusal
        case .replayed(let stored):
            var response = try StoredAnswer.decode(stored)
            response.headers[.idempotentReplayed] = "true"
            return response
        }
    }
}

/// A registry error from the handler becomes the route's problem answer here, the same one
/// `Registry.answer(_:applying:_:)` stores for a refused request with an `Idempotency-Key`; a
/// refusal for the caller's role found by the handler (a release manager forcing a promotion,
/// say) is audited.
struct HandlerErrors: RouteMiddleware {
    let registry: Registry

    func handle(_ request: APIRequest, route: Route, next: (APIRequest) async throws -> APIResponse) async throws -> APIResponse {
        do {
            return try await next(request)
        } catch let error as RegistryError {
            if error.code == .permissionDenied, let caller = request.context.caller {
                try? await registry.recordDenied(
                    caller, operation: route.operation, reason: error.message, model: request.context.parameters.get("name"))
            }
            return Problem.answer(error, requestID: request.context.requestID)
        }
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let requestID = HTTPField.Name("X-Request-ID")!
}
