import Foundation

/// Decoding of request documents (REST bodies, `--file` inputs) into the registry's types, with
/// errors a person can act on.
public enum RequestDecoding {
    /// Decodes a JSON object into `T`.
    /// - Parameters:
    ///   - allowedKeys: when given, a top-level key outside it is refused by name, so a typo
    ///     such as `artifact` for `artifact_uri` is not silently ignored.
    ///   - what: how to name the document in errors ("the request body", "report.json").
    /// - Throws: `INVALID_ARGUMENT` naming the field that is missing or of the wrong type.
    public static func decode<T: Decodable>(
        _ type: T.Type, from data: some Sequence<UInt8>, allowedKeys: Set<String>? = nil, what: String = "the request body"
    ) throws(RegistryError) -> T {
        let document: JSONValue
        do {
            document = try JSONParser.parse(data)
        } catch {
            throw RegistryError(.invalidArgument, "\(what) is not valid JSON: \(error)")
        }
        return try decode(type, from: document, allowedKeys: allowedKeys, what: what)
    }

    /// Decodes a parsed JSON object into `T`, as `decode(_:from:allowedKeys:what:)` does.
    public static func decode<T: Decodable>(
        _ type: T.Type, from document: JSONValue, allowedKeys: Set<String>? = nil, what: String = "the request body"
    ) throws(RegistryError) -> T {
        guard case .object(let object) = document else { throw RegistryError(.invalidArgument, "\(what) must be a JSON object") }
        if let allowedKeys, let unknown = object.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
            throw RegistryError(.invalidArgument, "\(what) has an unknown field \"\(unknown)\"; allowed: \(allowedKeys.sorted().joined(separator: ", "))")
        }
        do {
            return try JSONValueDecoder.decode(type, from: document, at: [])
        } catch let error as DecodingError {
            throw RegistryError(.invalidArgument, "\(what): \(describe(error))")
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.invalidArgument, "\(what) could not be read: \(error)")
        }
    }

    /// One sentence for a decoding error, naming the field by its JSON path.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let full = path(context.codingPath + [key])
            return "field \"\(full)\" is required"
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            return "field \"\(path(context.codingPath))\" must be \(typeName(type))"
        case .dataCorrupted(let context):
            let at = path(context.codingPath)
            return at.isEmpty ? context.debugDescription : "field \"\(at)\": \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "a whole number"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is [String: String].Type: "an object of strings"
        case is [String: Double].Type: "an object of numbers"
        default: "of type \(type)"
        }
    }
}

extension ReportSubmission {
    /// Reads a JSON report (the contract's field names).
    /// - Parameter suite: overrides (or supplies) the document's `suite`.
    public static func parseJSON(_ data: Data, suite: String?, what: String = "the report") throws(RegistryError) -> ReportSubmission {
        var document: JSONValue
        do {
            document = try JSONParser.parse(data)
        } catch {
            throw RegistryError(.invalidArgument, "\(what) is not valid JSON: \(error)")
        }
        if let suite, case .object(var object) = document {
            // The document may leave the suite out when the caller names it.
            object["suite"] = .string(suite)
            document = .object(object)
        }
        let submission = try RequestDecoding.decode(ReportSubmission.self, from: document, allowedKeys: allowedKeys, what: what)
        try submission.validate()
        return submission
    }

    public static let allowedKeys: Set<String> = ["suite", "status", "tests", "failures", "errors", "skipped", "metrics", "duration_s"]
}

extension RegisterRequest {
    public static let allowedKeys: Set<String> = ["artifact_uri", "digest", "params", "metrics", "tags", "parent", "description"]
}
