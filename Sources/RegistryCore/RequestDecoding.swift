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
        _ type: T.Type, from data: Data, allowedKeys: Set<String>? = nil, what: String = "the request body"
    ) throws(RegistryError) -> T {
        if let fastType = T.self as? any FastRequestDecodable.Type,
            let fields = fastObject(Array(data), allowedKeys: allowedKeys),
            let value = fastType.init(fields: fields) as? T
        {
            return value
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw RegistryError(.invalidArgument, "\(what) is not valid JSON")
        }
        guard let dictionary = object as? [String: Any] else { throw RegistryError(.invalidArgument, "\(what) must be a JSON object") }
        if let allowedKeys {
            if let unknown = dictionary.keys.sorted().first(where: { !allowedKeys.contains($0) }) {
                throw RegistryError(.invalidArgument, "\(what) has an unknown field \"\(unknown)\"; allowed: \(allowedKeys.sorted().joined(separator: ", "))")
            }
        }
        do {
            return try JSONCoding.decoder().decode(type, from: data)
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

extension KeyedDecodingContainer {
    /// Decodes an optional whole number, refusing `1.5` or `1e30` with an error that names the
    /// field. (Foundation's decoder on Linux reports those as "not valid JSON" with no path.)
    func decodeWholeNumber(forKey key: Key) throws -> Int? {
        guard let number = try decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard let whole = Int(exactly: number) else {
            throw DecodingError.typeMismatch(
                Int.self, DecodingError.Context(codingPath: codingPath + [key], debugDescription: "\(number) is not a whole number"))
        }
        return whole
    }
}

extension ReportSubmission {
    /// Reads a JSON report (the contract's field names).
    /// - Parameter suite: overrides (or supplies) the document's `suite`.
    public static func parseJSON(_ data: Data, suite: String?, what: String = "the report") throws(RegistryError) -> ReportSubmission {
        var document = data
        if let suite, var object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            // The document may leave the suite out when the caller names it.
            object["suite"] = suite
            document = (try? JSONSerialization.data(withJSONObject: object)) ?? data
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
