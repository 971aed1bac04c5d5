/// One of a model's three branches, the promotion ladder `develop → release → master`.
public enum Branch: String, Sendable, Codable, CaseIterable, Comparable {
    case develop, release, master

    /// The branch a version must have been on before it may reach this one.
    public var below: Branch? {
        switch self {
        case .develop: nil
        case .release: .develop
        case .master: .release
        }
    }

    public static func < (lhs: Branch, rhs: Branch) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a branch name.
    /// - Throws: `INVALID_ARGUMENT` naming the three valid branches.
    public static func parse(_ text: String) throws(RegistryError) -> Branch {
        guard let branch = Branch(rawValue: text) else {
            throw RegistryError(.invalidArgument, "\"\(text)\" is not a branch; use develop, release or master")
        }
        return branch
    }
}

/// What each branch of a model holds (a version number, or `nil` for none).
public struct BranchHeads: Sendable, Hashable, Codable {
    public var develop: Int?
    public var release: Int?
    public var master: Int?

    public init(develop: Int? = nil, release: Int? = nil, master: Int? = nil) {
        self.develop = develop
        self.release = release
        self.master = master
    }

    public subscript(branch: Branch) -> Int? {
        get {
            switch branch {
            case .develop: develop
            case .release: release
            case .master: master
            }
        }
        set {
            switch branch {
            case .develop: develop = newValue
            case .release: release = newValue
            case .master: master = newValue
            }
        }
    }
}

/// One branch pointer as it stands now.
public struct BranchState: Sendable, Hashable, Codable {
    public let model: String
    public let branch: Branch
    public let version: Int?
    /// The transition that put it there (`nil` while the branch has never moved); changes on
    /// every move, so it makes an entity tag that also catches A → B → A.
    public let transitionID: Int?
    public let updatedAt: Timestamp

    /// An HTTP entity tag for the pointer: it changes on every move, even A → B → A.
    public var etag: String { "\"\(version ?? 0).\(transitionID ?? 0)\"" }

    enum CodingKeys: String, CodingKey {
        case model, branch, version
        case transitionID = "transition_id"
        case updatedAt = "updated_at"
    }
}

/// The branches of a model as of a time (`history --at`).
public struct BranchesAt: Sendable, Hashable, Codable, JSONWritable {
    public let model: String
    public let at: Timestamp
    public let branches: BranchHeads
}
