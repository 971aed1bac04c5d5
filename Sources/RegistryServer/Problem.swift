import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore

/// An RFC 9457 problem document (`application/problem+json`) with the contract's stable code.
struct Problem: Error, Encodable {
    let type: String
    let title: String
    let status: Int
    let detail: String
    let code: String
    let gates: [GateResult]?
    var requestID: String?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, code, gates
        case requestID = "request_id"
    }

    init(status: HTTPResponse.Status, code: RegistryError.Code, detail: String, gates: [GateResult]? = nil) {
        self.type = "urn:mreg:problem:\(code.rawValue.lowercased().replacingOccurrences(of: "_", with: "-"))"
        self.title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code.rawValue
        self.gates = gates
    }

    /// The one mapping of registry errors to HTTP statuses.
    init(_ error: RegistryError) {
        let status: HTTPResponse.Status = switch error.code {
        case .notFound: .notFound
        case .invalidArgument: .badRequest
        case .alreadyExists, .conflict: .conflict
        case .preconditionFailed: .preconditionFailed
        case .gateFailed: .unprocessableContent
        case .unauthenticated: .unauthorized
        case .permissionDenied: .forbidden
        case .payloadTooLarge: .contentTooLarge
        case .integrity: .conflict
        case .unavailable: .serviceUnavailable
        case .internal: .internalServerError
        }
        self.init(status: status, code: error.code, detail: error.message, gates: error.gates)
    }

    /// Errors raised by Hummingbird or NIO before a handler runs, in the contract's terms.
    init(_ error: any Error) {
        switch error {
        case let error as RegistryError:
            self.init(error)
        case let error as Problem:
            self = error
        case is NIOTooManyBytesError:
            self.init(status: .contentTooLarge, code: .payloadTooLarge, detail: "the request body is larger than this endpoint accepts")
        case let error as HTTPError:
            let code: RegistryError.Code = switch error.status {
            case .notFound: .notFound
            case .contentTooLarge: .payloadTooLarge
            case .unauthorized: .unauthenticated
            case .forbidden: .permissionDenied
            case let status where status.code < 500: .invalidArgument
            default: .internal
            }
            let detail = error.body ?? (error.status == .notFound ? "no such route" : error.status.reasonPhrase)
            self.init(status: error.status, code: code, detail: detail)
        case let error as any HTTPResponseError:
            self.init(status: error.status, code: error.status.code < 500 ? .invalidArgument : .internal, detail: error.status.reasonPhrase)
        default:
            self.init(status: .internalServerError, code: .internal, detail: "the server failed to handle the request")
        }
    }

    var response: APIResponse {
        APIResponse(status: HTTPResponse.Status(code: status), contentType: "application/problem+json", body: Array(JSONCoding.text(self).utf8))
    }
}

/// A response as bytes: what handlers return, what idempotent replays store.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var contentType: String
    var body: [UInt8]
    var headers: HTTPFields = [:]
    /// A body written while it is sent, in place of `body`: a document too large to hold (the
    /// audit export). Only GET routes stream, so no idempotent replay needs to store one.
    var stream: ResponseBody?

    static func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> APIResponse {
        json(bytes: JSONCoding.bytes(value), status: status, headers: headers)
    }

    /// JSON the registry has already written (`Registry.versionsJSON`, `historyJSON`).
    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> APIResponse {
        APIResponse(status: status, contentType: "application/json", body: bytes, headers: headers)
    }

    /// A streamed `status` response: `write` is called with each piece of the body, in order.
    static func streaming(
        contentType: String, status: HTTPResponse.Status = .ok, _ write: @escaping @Sendable (([UInt8]) async throws -> Void) async throws -> Void
    ) -> APIResponse {
        APIResponse(status: status, contentType: contentType, body: [], stream: ResponseBody { writer in
            try await write { piece in try await writer.write(ByteBuffer(bytes: piece)) }
            try await writer.finish(nil)
        })
    }

    var hummingbird: Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(status: status, headers: fields, body: stream ?? ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Turns anything thrown below it (unknown routes, oversized bodies, handler errors) into a
/// problem document, so no error leaves the server as an empty 500 or a stack trace.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = Problem(error)
            if problem.status >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            problem.requestID = context.requestID
            var response = problem.response.hummingbird
            // What an HTTPError says besides its status goes out with the problem: a 405's `Allow`.
            if let error = error as? HTTPError { response.headers.append(contentsOf: error.headers) }
            return response
        }
    }
}
