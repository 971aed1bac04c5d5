/// One registered version of a model.
public struct ModelVersion: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Codable { case active, deprecated }

    public let model: String
    public let version: Int
    public let artifactURI: String
    public let digest: String?
    public let params: [String: String]
    public let metrics: [String: Double]
    public let tags: [String: String]
    public let parent: Int?
    public let description: String
    public let status: Status
    public let createdBy: String
    public let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case model, version, digest, params, metrics, tags, parent, description, status
        case artifactURI = "artifact_uri"
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

/// What `register` takes: the REST body of `POST /v1/models/{name}/versions`.
public struct RegisterRequest: Sendable, Hashable, Codable, JSONWritable {
    public var artifactURI: String
    public var digest: String?
    public var params: [String: String]
    public var metrics: [String: Double]
    public var tags: [String: String]
    public var parent: Int?
    public var description: String

    public init(
        artifactURI: String, digest: String? = nil, params: [String: String] = [:], metrics: [String: Double] = [:],
        tags: [String: String] = [:], parent: Int? = nil, description: String = ""
    ) {
        self.artifactURI = artifactURI
        self.digest = digest
        self.params = params
        self.metrics = metrics
        self.tags = tags
        self.parent = parent
        self.description = description
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case digest, params, metrics, tags, parent, description
        case artifactURI = "artifact_uri"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        artifactURI = try c.decode(String.self, forKey: .artifactURI)
        digest = try c.decodeIfPresent(String.self, forKey: .digest)
        params = try c.decodeIfPresent([String: String].self, forKey: .params) ?? [:]
        metrics = try c.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
        tags = try c.decodeIfPresent([String: String].self, forKey: .tags) ?? [:]
        parent = try c.decodeIfPresent(Int.self, forKey: .parent)
        description = try c.decodeIfPresent(String.self, forKey: .description) ?? ""
    }

    /// Checks every field before anything is written.
    /// - Throws: `INVALID_ARGUMENT` naming the first bad field.
    func validate() throws(RegistryError) {
        guard !artifactURI.isBlank else {
            throw RegistryError(.invalidArgument, "artifact_uri is required and must not be empty")
        }
        guard artifactURI.utf8.count <= 4096 else { throw RegistryError(.invalidArgument, "artifact_uri is longer than 4096 bytes") }
        if let digest { try Self.validate(digest: digest) }
        for (name, value) in metrics where !value.isFinite {
            throw RegistryError(.invalidArgument, "metric \"\(name)\" is \(value); metrics must be finite numbers")
        }
        for key in params.keys where key.isEmpty { throw RegistryError(.invalidArgument, "param names must not be empty") }
        for key in metrics.keys where key.isEmpty { throw RegistryError(.invalidArgument, "metric names must not be empty") }
        for key in tags.keys where key.isEmpty { throw RegistryError(.invalidArgument, "tag names must not be empty") }
        if let parent, parent < 1 { throw RegistryError(.invalidArgument, "parent must be a version number (1 or more), not \(parent)") }
    }

    static func validate(digest: String) throws(RegistryError) {
        let bytes = Array(digest.utf8)
        let hex = bytes.dropFirst(7)
        guard digest.hasPrefix("sha256:"), hex.count == 64,
            hex.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else {
            throw RegistryError(.invalidArgument, "digest \"\(digest)\" must be \"sha256:\" followed by 64 lowercase hex digits")
        }
    }
}

/// A way to name a version: its number, a branch (what it holds now), or `branch@TIME`
/// (what it held then).
public enum VersionRef: Sendable, Hashable, CustomStringConvertible {
    case number(Int)
    case branch(Branch)
    case branchAt(Branch, Timestamp)

    /// Parses `3`, `master` or `master@2026-11-22T10:00:00Z`.
    /// - Throws: `INVALID_ARGUMENT` explaining the three forms.
    public init(parsing text: String) throws(RegistryError) {
        if let number = Int(text) {
            guard number > 0 else { throw RegistryError(.invalidArgument, "version numbers start at 1, \"\(text)\" is not one") }
            self = .number(number)
            return
        }
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let branch = Branch(rawValue: String(parts[0])) else {
            throw RegistryError(.invalidArgument, "\"\(text)\" is not a version reference; use a number, a branch (develop, release, master) or BRANCH@TIME")
        }
        if parts.count == 1 {
            self = .branch(branch)
        } else {
            guard let time = Timestamp(rfc3339: String(parts[1])) else {
                throw RegistryError(.invalidArgument, "\"\(parts[1])\" is not an RFC 3339 time such as 2026-11-22T16:48:55Z")
            }
            self = .branchAt(branch, time)
        }
    }

    public var description: String {
        switch self {
        case .number(let n): String(n)
        case .branch(let b): b.rawValue
        case .branchAt(let b, let t): "\(b.rawValue)@\(t)"
        }
    }
}
