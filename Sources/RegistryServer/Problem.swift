import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore

/// An RFC 9457 problem document (`application/problem+json`) with the contract's stable code.
struct Problem: JSONWritable {
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
        APIResponse(status: HTTPResponse.Status(code: status), contentType: "application/problem+json", body: JSONCoding.bytes(self))
    }

    /// A route's answer to a refusal, as `HandlerErrors` gives it and a repeat with the same
    /// `Idempotency-Key` gets it back.
    static func answer(_ error: RegistryError, requestID: String) -> APIResponse {
        var problem = Problem(error)
        problem.requestID = requestID
        return problem.response
    }
}
