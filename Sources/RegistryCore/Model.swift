/// A registered model: a name and its three branches.
public struct Model: Sendable, Hashable, Codable, JSONWritable {
    public let name: String
    public let description: String
    public let createdBy: String
    public let createdAt: Timestamp
    /// How many versions it has (the highest version number).
    public let versionCount: Int
    public let branches: BranchHeads

    enum CodingKeys: String, CodingKey {
        case name, description, branches
        case createdBy = "created_by"
        case createdAt = "created_at"
        case versionCount = "version_count"
    }

    /// `^[a-z0-9][a-z0-9._-]{0,127}$`, checked without a regex engine (the CLI starts per call).
    public static func validate(name: String) throws(RegistryError) {
        let bytes = Array(name.utf8)
        func allowed(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard (1...128).contains(bytes.count), allowed(bytes[0]),
            bytes.allSatisfy({ allowed($0) || $0 == 46 || $0 == 95 || $0 == 45 })
        else {
            throw RegistryError(.invalidArgument, 
                "\"\(name)\" is not a valid model name: use 1 to 128 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }
}

/// A page of a list and the cursor for the next one (`nil` on the last page).
public struct Page<Item: Sendable & Codable>: Sendable, Codable {
    public let items: [Item]
    public let nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }
}

/// Who is acting, and with which role. The CLI, working on the file directly, acts as `admin`.
public struct Caller: Sendable, Hashable {
    public let name: String
    public let role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

extension Caller {
    /// - Throws: `PERMISSION_DENIED` naming the role an action needs.
    public func require(_ role: Role, to action: String) throws(RegistryError) {
        guard self.role >= role else {
            throw RegistryError(.permissionDenied, "only \(role.rawValue) or higher may \(action); \(name) is \(self.role.rawValue)")
        }
    }
}

/// Roles, each including the rights of the ones before it.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case reader, auditor, engineer
    case releaseManager = "release-manager"
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
