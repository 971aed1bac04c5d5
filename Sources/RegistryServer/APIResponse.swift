import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RegistryCore

/// A response as bytes: what handlers return, what idempotent replays store.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var contentType: String
    var body: [UInt8]
    var headers: HTTPFields = [:]
    /// A body written while it is sent, in place of `body`: a document too large to hold (the
    /// audit export). Only GET routes stream, so no idempotent replay needs to store one.
    var stream: ResponseBody?

    static func json(_ value: some JSONWritable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> APIResponse {
        json(bytes: JSONCoding.bytes(value), status: status, headers: headers)
    }

    /// JSON the registry has already written (`Registry.versionsJSON`).
    static func json(bytes: [UInt8], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> APIResponse {
        APIResponse(status: status, contentType: "application/json", body: bytes, headers: headers)
    }

    /// A streamed `status` response: `write` is called with each piece of the body, in order.
    static func streaming(
        contentType: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:],
        _ write: @escaping @Sendable (([UInt8]) async throws -> Void) async throws -> Void
    ) -> APIResponse {
        APIResponse(status: status, contentType: contentType, body: [], headers: headers, stream: ResponseBody { writer in
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
