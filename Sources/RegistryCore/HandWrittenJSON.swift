/// An answer the server writes on every hot request (a version, a resolution, a branch, a page
/// of versions or transitions), written by hand instead of through JSONEncoder.
///
/// JSONEncoder's reflection was most of the server's own CPU time per resolve and a large share
/// of it per registration (BENCHMARKS.md). `JSONCoding.text` picks this path when a value conforms; the
/// text must be byte for byte what JSONEncoder writes with `.sortedKeys` and
/// `.withoutEscapingSlashes` (HandWrittenJSONTests compares the two), so the API cannot tell.
protocol HandWrittenJSON {
    func appendJSON(to out: inout [UInt8])
}

/// Writes one JSON object's members in the order they are given: callers list keys sorted, as
/// JSONEncoder's `.sortedKeys` does (byte order for the ASCII keys of the API).
struct JSONObjectWriter {
    private var first = true

    static func object(into out: inout [UInt8], _ members: (inout JSONObjectWriter, inout [UInt8]) -> Void) {
        var writer = JSONObjectWriter()
        out.append(UInt8(ascii: "{"))
        members(&writer, &out)
        out.append(UInt8(ascii: "}"))
    }

    private mutating func key(_ name: StaticString, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func string(_ name: StaticString, _ value: String?, _ out: inout [UInt8]) {
        key(name, &out)
        if let value { JSONCoding.appendString(value, to: &out) } else { JSONCoding.appendRaw("null", to: &out) }
    }

    mutating func time(_ name: StaticString, _ value: Timestamp, _ out: inout [UInt8]) {
        key(name, &out)
        out.append(UInt8(ascii: "\""))
        value.appendRFC3339(to: &out)
        out.append(UInt8(ascii: "\""))
    }

    mutating func int(_ name: StaticString, _ value: Int?, _ out: inout [UInt8]) {
        key(name, &out)
        JSONCoding.appendRaw(value.map { String($0) } ?? "null", to: &out)
    }

    mutating func bool(_ name: StaticString, _ value: Bool, _ out: inout [UInt8]) {
        key(name, &out)
        JSONCoding.appendRaw(value ? "true" : "false", to: &out)
    }

    mutating func raw(_ name: StaticString, _ out: inout [UInt8], _ value: (inout [UInt8]) -> Void) {
        key(name, &out)
        value(&out)
    }

    mutating func array<T: HandWrittenJSON>(_ name: StaticString, _ items: [T], _ out: inout [UInt8]) {
        key(name, &out)
        out.append(UInt8(ascii: "["))
        for (index, item) in items.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            item.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

extension ModelVersion: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        Self.appendJSON(
            to: &out, model: model, version: version, artifactURI: artifactURI, digest: digest, parent: parent,
            description: description, status: status, createdBy: createdBy, createdAt: createdAt,
            params: { JSONCoding.appendMap(params, to: &$0) }, metrics: { JSONCoding.appendMap(metrics, to: &$0) },
            tags: { JSONCoding.appendMap(tags, to: &$0) })
    }

    /// A version's members in their one order, for a value and for a row
    /// (`appendJSON(model:statement:to:)`), each map written by its closure.
    static func appendJSON(
        to out: inout [UInt8], model: String, version: Int, artifactURI: String, digest: String?, parent: Int?,
        description: String, status: Status, createdBy: String, createdAt: Timestamp,
        params: (inout [UInt8]) -> Void, metrics: (inout [UInt8]) -> Void, tags: (inout [UInt8]) -> Void
    ) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("artifact_uri", artifactURI, &out)
            w.time("created_at", createdAt, &out)
            w.string("created_by", createdBy, &out)
            w.string("description", description, &out)
            w.string("digest", digest, &out)
            w.raw("metrics", &out, metrics)
            w.string("model", model, &out)
            w.raw("params", &out, params)
            w.int("parent", parent, &out)
            w.string("status", status.rawValue, &out)
            w.raw("tags", &out, tags)
            w.int("version", version, &out)
        }
    }
}

extension Resolution: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.int("bucket", bucket, &out)
            w.string("model", model, &out)
            w.int("rollout_id", rolloutID, &out)
            w.int("version", version, &out)
        }
    }
}

extension BranchState: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("branch", branch.rawValue, &out)
            w.string("model", model, &out)
            w.int("transition_id", transitionID, &out)
            w.time("updated_at", updatedAt, &out)
            w.int("version", version, &out)
        }
    }
}

extension GateResult: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) { JSONCoding.append(jsonValue, to: &out) }
}

extension Transition: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        Self.appendJSON(
            to: &out, id: id, model: model, kind: kind, branch: branch, fromVersion: fromVersion, toVersion: toVersion,
            actor: actor, reason: reason, at: at
        ) { out in
            out.append(UInt8(ascii: "["))
            for (index, gate) in gates.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                gate.appendJSON(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
    }

    /// A transition's members in their one order, for a value and for a row
    /// (`appendJSON(model:statement:to:)`), the gate reports written by `gates`.
    static func appendJSON(
        to out: inout [UInt8], id: Int, model: String, kind: Kind, branch: Branch, fromVersion: Int?, toVersion: Int,
        actor: String, reason: String, at: Timestamp, gates: (inout [UInt8]) -> Void
    ) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("actor", actor, &out)
            w.time("at", at, &out)
            w.string("branch", branch.rawValue, &out)
            w.int("from_version", fromVersion, &out)
            w.raw("gates", &out, gates)
            w.int("id", id, &out)
            w.string("kind", kind.rawValue, &out)
            w.string("model", model, &out)
            w.string("reason", reason, &out)
            w.int("to_version", toVersion, &out)
        }
    }
}

extension TransitionResult: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("branch", branch.rawValue, &out)
            w.bool("dry_run", dryRun, &out)
            w.int("from_version", fromVersion, &out)
            w.array("gates", gates, &out)
            w.string("kind", kind.rawValue, &out)
            w.string("model", model, &out)
            w.bool("passed", passed, &out)
            w.int("to_version", toVersion, &out)
            w.int("transition_id", transitionID, &out)
        }
    }
}

extension History: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("model", model, &out)
            w.string("next_cursor", nextCursor, &out)
            w.array("transitions", transitions, &out)
        }
    }
}

extension Page: HandWrittenJSON where Item: HandWrittenJSON {
    func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.array("items", items, &out)
            w.string("next_cursor", nextCursor, &out)
        }
    }
}
