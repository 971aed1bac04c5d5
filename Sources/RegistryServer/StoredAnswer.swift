import HTTPTypes
import RegistryCore

/// An answer as the registry keeps it for an `Idempotency-Key` replay: one line of JSON with the
/// status, content type and the headers worth replaying, a newline, then the body. The registry
/// stores the bytes and never reads them; only this type knows the form (and migration 0005,
/// which rewrote the answers stored before it in this form).
struct StoredAnswer: Codable, JSONWritable {
    var status: Int
    var contentType: String
    var headers: [String: String]

    enum CodingKeys: String, CodingKey {
        case status, headers
        case contentType = "content_type"
    }

    static func encode(_ response: APIResponse) -> [UInt8] {
        let headers = Dictionary(response.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { first, _ in first })
        let head = StoredAnswer(status: response.status.code, contentType: response.contentType, headers: headers)
        return JSONCoding.bytes(head) + [0x0A] + response.body
    }

    /// The response `encode` stored.
    /// - Throws: when the bytes are not an answer this type wrote (a damaged row).
    static func decode(_ bytes: [UInt8]) throws -> APIResponse {
        guard let newline = bytes.firstIndex(of: 0x0A) else {
            throw RegistryError(.internal, "a stored idempotent answer has no header line")
        }
        let head = try JSONCoding.decode(StoredAnswer.self, from: bytes[..<newline])
        var response = APIResponse(
            status: HTTPResponse.Status(code: head.status), contentType: head.contentType, body: Array(bytes[(newline + 1)...]))
        for (name, value) in head.headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
        return response
    }
}
