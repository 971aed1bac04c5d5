import SQLite

extension Registry {
    /// Creates a model with its three empty branches.
    /// - Throws: `INVALID_ARGUMENT` for a bad name, `ALREADY_EXISTS` when the name is taken.
    public func createModel(name: String, description: String = "", by caller: Caller) async throws(RegistryError) -> Model {
        try await apply(creatingModel(name: name, description: description, by: caller))
    }

    /// The change ``createModel(name:description:by:)`` makes.
    public func creatingModel(name: String, description: String = "", by caller: Caller) throws(RegistryError) -> Change<Model> {
        try caller.require(.engineer, to: "create models")
        try Model.validate(name: name)
        let now = clock()
        return Change { connection in
            if try connection.queryFirst("SELECT 1 FROM models WHERE name = ?", [name]) != nil {
                throw RegistryError(.alreadyExists, "model \"\(name)\" already exists")
            }
            let row = try connection.insertModel(name: name, description: description, actor: caller.name, at: now)
            return try connection.model(row)
        }
    }

    /// One model with its branch heads.
    /// - Throws: `NOT_FOUND`.
    public func model(named name: String) throws(RegistryError) -> Model {
        try read { connection in try connection.model(connection.modelRow(named: name)) }
    }

    /// Models in name order.
    public func models(limit: Int = 100, cursor: String? = nil) throws(RegistryError) -> Page<Model> {
        try validate(limit: limit)
        let after = try cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeString(c) } ?? ""
        return try read { connection in
            var rows: [ModelRow] = []
            try connection.forEachRow(
                "SELECT id, name FROM models WHERE name > ? ORDER BY name LIMIT ?", [after, limit + 1]
            ) { rows.append(ModelRow(id: try $0.int64(0), name: try $0.text(1))) }
            let more = rows.count > limit
            let items = try rows.prefix(limit).map { try connection.model($0) }
            return Page(items: items, nextCursor: more ? items.last.map { Cursor.encode($0.name) } : nil)
        }
    }
}

/// How much the registry holds (the server's gauges).
public struct RegistryCounts: Sendable, Hashable {
    public let models: Int
    public let versions: Int
}

extension Registry {
    public func counts() throws(RegistryError) -> RegistryCounts {
        try read { connection in
            let row = try connection.query("SELECT (SELECT count(*) FROM models), (SELECT count(*) FROM versions)")[0]
            return RegistryCounts(models: try row.int(0), versions: try row.int(1))
        }
    }
}

extension Connection {
    func model(_ model: ModelRow) throws -> Model {
        guard let row = try queryFirst(
            """
            SELECT description, created_by, created_at,
                   (SELECT coalesce(max(version), 0) FROM versions WHERE model_id = models.id)
            FROM models WHERE id = ?
            """, [model.id])
        else { throw RegistryError(.notFound, "model \"\(model.name)\" does not exist") }
        return Model(
            name: model.name, description: try row.string(0), createdBy: try row.string(1),
            createdAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(2))), versionCount: try row.int(3),
            branches: try branchHeads(model))
    }
}
