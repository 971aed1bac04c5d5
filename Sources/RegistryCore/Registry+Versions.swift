import SQLite

extension Registry {
    /// Registers the next version of a model (creating the model if missing) and moves
    /// `develop` to it.
    /// - Throws: `INVALID_ARGUMENT` for a bad field, `ALREADY_EXISTS` when another version of the
    ///   model has the same digest, `NOT_FOUND` when `parent` is not a version of the model.
    public func register(model name: String, _ request: RegisterRequest, by caller: Caller) async throws(RegistryError) -> ModelVersion {
        try await apply(registering(model: name, request, by: caller))
    }

    /// The change ``register(model:_:by:)`` makes, checked as far as it can be before the write.
    public func registering(model name: String, _ request: RegisterRequest, by caller: Caller) throws(RegistryError) -> Change<ModelVersion> {
        try caller.require(.engineer, to: "register versions")
        try Model.validate(name: name)
        try request.validate()
        let now = clock()
        return Change { connection in
            let model: ModelRow
            if let row = try connection.queryFirst("SELECT id FROM models WHERE name = ?", [name]) {
                model = ModelRow(id: try row.int64(0), name: name)
            } else {
                model = try connection.insertModel(name: name, description: "", actor: caller.name, at: now)
            }
            if let digest = request.digest,
                let existing = try connection.queryFirst(
                    "SELECT version FROM versions WHERE model_id = ? AND digest = ?", [model.id, digest])
            {
                throw RegistryError(
                    .alreadyExists, "model \"\(name)\" already has version \(try existing.int(0)) with digest \(digest)")
            }
            let number = (try connection.queryFirst(
                "SELECT coalesce(max(version), 0) + 1 FROM versions WHERE model_id = ?", [model.id])?.int(0)) ?? 1
            if let parent = request.parent, parent >= number {
                throw RegistryError(.notFound, "model \"\(name)\" has no version \(parent) to be the parent")
            }
            return try connection.insertVersion(model, number: number, request, actor: caller.name, at: now)
        }
    }

    /// One version, named by number, branch or `branch@TIME`.
    /// - Throws: `NOT_FOUND` for an unknown model or version, or a branch that held nothing.
    public func version(model name: String, _ ref: VersionRef) throws(RegistryError) -> ModelVersion {
        try read { connection in
            let model = try connection.modelRow(named: name)
            return try connection.version(model, try connection.resolve(model, ref))
        }
    }

    /// A model's versions, newest first: the page the API answers (`versionsJSON`), decoded.
    public func versions(model name: String, limit: Int = 50, cursor: String? = nil) throws(RegistryError) -> Page<ModelVersion> {
        let page = try versionsJSON(model: name, limit: limit, cursor: cursor)
        do {
            return try JSONCoding.decode(Page<ModelVersion>.self, from: page)
        } catch {
            throw RegistryError(.internal, "a page of versions of \"\(name)\" could not be read back: \(error)")
        }
    }

    /// A model's versions, newest first, as the JSON the API answers, written straight from the
    /// rows (`ModelVersion.appendJSON(model:statement:to:)`): the one way a page of versions is read.
    public func versionsJSON(model name: String, limit: Int = 50, cursor: String? = nil) throws(RegistryError) -> [UInt8] {
        try validate(limit: limit)
        var items: [UInt8] = [UInt8(ascii: "[")]
        items.reserveCapacity(512 * min(limit, 100))
        let nextCursor = try forEachVersion(model: name, limit: limit, cursor: cursor) { model, statement in
            if items.count > 1 { items.append(UInt8(ascii: ",")) }
            try ModelVersion.appendJSON(model: model, statement: statement, to: &items)
            return try statement.int(0)
        }
        items.append(UInt8(ascii: "]"))
        var out: [UInt8] = []
        out.reserveCapacity(items.count + 64)
        JSONObjectWriter.object(into: &out) { w, out in
            w.raw("items", &out) { $0.append(contentsOf: items) }
            w.string("next_cursor", nextCursor, &out)
        }
        return out
    }

    /// Calls `body` on the rows of a page of versions (selected with `ModelVersion.columns`),
    /// newest first; `body` answers the row's version number. Returns the next page's cursor.
    private func forEachVersion(
        model name: String, limit: Int, cursor: String?, _ body: (_ model: String, Statement) throws -> Int
    ) throws(RegistryError) -> String? {
        try validate(limit: limit)
        let before = try cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        return try read { connection in
            let model = try connection.modelRow(named: name)
            return try connection.forEachRowOfPage(
                "SELECT \(ModelVersion.columns) FROM versions WHERE model_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
                [model.id, before], limit: limit
            ) { statement in try body(name, statement) }
        }
    }

    /// Marks a version deprecated: it stays readable and on the branches that hold it, but can
    /// no longer be promoted.
    /// - Throws: `INVALID_ARGUMENT` without a reason, `NOT_FOUND`, `CONFLICT` when already deprecated.
    public func deprecate(model name: String, version number: Int, reason: String, by caller: Caller) async throws(RegistryError) -> ModelVersion {
        try caller.require(.engineer, to: "deprecate versions")
        guard !reason.isBlank else { throw RegistryError(.invalidArgument, "deprecating a version needs a reason") }
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let version = try connection.version(model, number)
            guard version.status == .active else {
                throw RegistryError(.conflict, "version \(number) of model \"\(name)\" is already deprecated")
            }
            try connection.execute(
                "UPDATE versions SET status = 'deprecated' WHERE model_id = ? AND version = ?",
                [model.id, number])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "version.deprecate", model: name, version: number, branch: nil,
                details: ["reason": .string(reason)])
            return try connection.version(model, number)
        }
    }
}
