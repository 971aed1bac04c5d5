/// One move of a branch pointer. Transitions are never edited or deleted: together they are the
/// full history of every branch.
public struct Transition: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case register, promote, rollback, force
        case rolloutComplete = "rollout_complete"
    }

    public let id: Int
    public let model: String
    public let kind: Kind
    public let branch: Branch
    public let fromVersion: Int?
    public let toVersion: Int
    public let actor: String
    public let reason: String
    public let at: Timestamp
    /// The gate evaluation that allowed the move (empty when no gates applied).
    public let gates: [GateResult]

    enum CodingKeys: String, CodingKey {
        case id, model, kind, branch, actor, reason, at, gates
        case fromVersion = "from_version"
        case toVersion = "to_version"
    }
}

/// One gate's verdict in a promotion.
public struct GateResult: Sendable, Hashable, Codable {
    /// Named after its policy key: `require_reports.unit`, `thresholds.accuracy`, `score`, …
    public let name: String
    public let passed: Bool
    public let observed: JSONValue
    public let required: JSONValue
    /// One sentence a person can act on.
    public let message: String

    public init(name: String, passed: Bool, observed: JSONValue, required: JSONValue, message: String) {
        self.name = name
        self.passed = passed
        self.observed = observed
        self.required = required
        self.message = message
    }
}

/// The result of `promote` or `rollback`: the REST body and the CLI's `--json`.
public struct TransitionResult: Sendable, Hashable, Codable {
    public let model: String
    public let branch: Branch
    public let fromVersion: Int?
    public let toVersion: Int
    public let kind: Transition.Kind
    /// `nil` for a dry run, which moves nothing.
    public let transitionID: Int?
    public let gates: [GateResult]
    public let dryRun: Bool
    /// Whether every gate passed (a forced promotion moves even when this is false).
    public let passed: Bool

    enum CodingKeys: String, CodingKey {
        case model, branch, kind, gates, passed
        case fromVersion = "from_version"
        case toVersion = "to_version"
        case transitionID = "transition_id"
        case dryRun = "dry_run"
    }
}

/// What `promote` takes: the REST body of `POST /v1/models/{name}/promote`.
public struct PromoteRequest: Sendable, Hashable, Codable, JSONWritable {
    public var to: Branch
    /// The version to promote; by default the head of the branch below `to`.
    public var version: Int?
    /// The version the caller believes `to` holds now (0 for none); a mismatch is a conflict.
    public var expect: Int?
    public var reason: String
    public var dryRun: Bool
    public var force: Bool

    public init(to: Branch, version: Int? = nil, expect: Int? = nil, reason: String = "", dryRun: Bool = false, force: Bool = false) {
        self.to = to
        self.version = version
        self.expect = expect
        self.reason = reason
        self.dryRun = dryRun
        self.force = force
    }

    enum CodingKeys: String, CodingKey {
        case to, version, expect, reason, force
        case dryRun = "dry_run"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decode(Branch.self, forKey: .to)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        expect = try c.decodeIfPresent(Int.self, forKey: .expect)
        reason = try c.decodeIfPresent(String.self, forKey: .reason) ?? ""
        dryRun = try c.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
        force = try c.decodeIfPresent(Bool.self, forKey: .force) ?? false
    }
}

/// What `rollback` takes: the REST body of `POST /v1/models/{name}/rollback`.
public struct RollbackRequest: Sendable, Hashable, Codable, JSONWritable {
    public var branch: Branch
    /// Roll back to this version (it must have been on the branch before); by default the
    /// version the branch held before its current one arrived.
    public var to: Int?
    public var reason: String
    /// The version the caller believes the branch holds now (0 for none).
    public var expect: Int?

    public init(branch: Branch = .master, to: Int? = nil, reason: String, expect: Int? = nil) {
        self.branch = branch
        self.to = to
        self.reason = reason
        self.expect = expect
    }

    enum CodingKeys: String, CodingKey { case branch, to, reason, expect }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        branch = try c.decodeIfPresent(Branch.self, forKey: .branch) ?? .master
        to = try c.decodeIfPresent(Int.self, forKey: .to)
        reason = try c.decodeIfPresent(String.self, forKey: .reason) ?? ""
        expect = try c.decodeIfPresent(Int.self, forKey: .expect)
    }
}

/// The transitions of a model, newest first.
public struct History: Sendable, Codable {
    public let model: String
    public let transitions: [Transition]
    public let nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case model, transitions
        case nextCursor = "next_cursor"
    }
}
