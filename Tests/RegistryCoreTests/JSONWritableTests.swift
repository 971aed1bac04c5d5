import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// The answers written by hand (`JSONWritable` conformances that write their own members) are
/// byte for byte what JSONEncoder writes, so that the API cannot tell which path wrote them.
@Suite struct JSONWritableTests {
    private static func encoderText<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try JSONCoding.encoder().encode(value), as: UTF8.self)
    }

    private static func expectSame<T: JSONWritable>(_ value: T, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(JSONCoding.text(value) == (try encoderText(value)), sourceLocation: sourceLocation)
    }

    /// Strings that need escaping (quotes, backslashes, control characters), slashes (not
    /// escaped), non-ASCII text and the empty string.
    static let strings = ["plain", "", "s3://bucket/a/b", "quote \" and \\ backslash", "line\nbreak\ttab\r", "\u{01}\u{1f}", "naïve 模型 🚀"]
    static let numbers: [Double] = [0, 1, -2.5, 0.93, 0.1 + 0.2, 1e-7, 123_456.789, 42, 1e14, 3.14159]
    static let times = [Timestamp(millisecondsSinceEpoch: 0), Timestamp(millisecondsSinceEpoch: 1_795_000_000_123)]

    static func versions() -> [ModelVersion] {
        strings.enumerated().map { index, text in
            ModelVersion(
                model: "m", version: index + 1, artifactURI: "s3://x/\(text)", digest: index % 2 == 0 ? nil : "sha256:" + String(repeating: "a", count: 64),
                params: index == 0 ? [:] : [text: text, "lr": "0.01"],
                metrics: Dictionary(uniqueKeysWithValues: numbers.enumerated().map { ("m\($0.offset)", $0.element) }),
                tags: [text: "t"], parent: index % 3 == 0 ? nil : index, description: text,
                status: index % 2 == 0 ? .active : .deprecated, createdBy: text, createdAt: times[index % 2])
        }
    }

    static func gates() -> [GateResult] {
        [
            GateResult(name: "thresholds.unit.accuracy", passed: true, observed: 0.93, required: ">= 0.9", message: "0.93 >= 0.9"),
            GateResult(name: "score", passed: false, observed: .null, required: .object(["min": 0.8, "weights": .array([1, 2.5])]), message: "no \"metric\""),
            GateResult(name: "approvals", passed: true, observed: .array(["rita", "remy"]), required: 2, message: "2 of 2"),
        ]
    }

    static func transitions() -> [Transition] {
        [
            Transition(id: 1, model: "m", kind: .register, branch: .develop, fromVersion: nil, toVersion: 1, actor: "eddie", reason: "", at: times[0], gates: []),
            Transition(id: 2, model: "m", kind: .rolloutComplete, branch: .master, fromVersion: 1, toVersion: 2, actor: "sys/tem", reason: "quote \" here", at: times[1], gates: gates()),
        ]
    }

    @Test func versionsAndPagesOfThem() throws {
        for version in Self.versions() { try Self.expectSame(version) }
        try Self.expectSame(Page(items: Self.versions(), nextCursor: "k1:3"))
        try Self.expectSame(Page(items: [ModelVersion](), nextCursor: nil))
    }

    @Test func resolutionsAndBranches() throws {
        try Self.expectSame(Resolution(model: "m", version: 3, bucket: nil, rolloutID: nil))
        try Self.expectSame(Resolution(model: "m/é", version: 3, bucket: 9999, rolloutID: 12))
        for time in Self.times {
            try Self.expectSame(BranchState(model: "m", branch: .master, version: nil, transitionID: nil, updatedAt: time))
            try Self.expectSame(BranchState(model: "m", branch: .release, version: 4, transitionID: 17, updatedAt: time))
        }
        try Self.expectSame(Page(items: [BranchState(model: "m", branch: .develop, version: 1, transitionID: 1, updatedAt: Self.times[1])], nextCursor: nil))
    }

    @Test func transitionsHistoriesAndPromotionResults() throws {
        for transition in Self.transitions() { try Self.expectSame(transition) }
        try Self.expectSame(History(model: "m", transitions: Self.transitions(), nextCursor: "k1:1"))
        try Self.expectSame(History(model: "m", transitions: [], nextCursor: nil))
        for gates in [[], Self.gates()] {
            try Self.expectSame(TransitionResult(
                model: "m", branch: .release, fromVersion: nil, toVersion: 2, kind: .promote, transitionID: nil, gates: gates, dryRun: true, passed: false))
            try Self.expectSame(TransitionResult(
                model: "m", branch: .master, fromVersion: 1, toVersion: 2, kind: .force, transitionID: 9, gates: gates, dryRun: false, passed: true))
        }
    }

    /// The listing the server answers, written straight from the rows, is the page of
    /// `versions(model:limit:cursor:)` written by hand, on every page and cursor.
    @Test func versionPagesWrittenFromTheRowsAreTheDecodedPages() async throws {
        try await withTemporaryRegistry { registry in
            for (index, version) in Self.versions().enumerated() {
                _ = try await registry.register(
                    model: "m",
                    RegisterRequest(
                        artifactURI: version.artifactURI, digest: index % 2 == 0 ? nil : "sha256:" + String(repeating: "\(index)", count: 64),
                        params: version.params.filter { !$0.key.isEmpty }, metrics: version.metrics,
                        tags: version.tags.filter { !$0.key.isEmpty }, parent: version.parent,
                        description: version.description),
                    by: .eve)
            }
            for limit in [1, 2, 3, 7, 50] {
                var cursor: String?
                var pages = 0
                repeat {
                    let page = try registry.versions(model: "m", limit: limit, cursor: cursor)
                    let written = try registry.versionsJSON(model: "m", limit: limit, cursor: cursor)
                    #expect(String(decoding: written, as: UTF8.self) == JSONCoding.text(page), "limit \(limit), cursor \(cursor ?? "-")")
                    cursor = page.nextCursor
                    pages += 1
                } while cursor != nil
                #expect(pages == (Self.versions().count + limit - 1) / limit)
            }
            #expect(throws: RegistryError.self) { try registry.versionsJSON(model: "nobody", limit: 5) }
            #expect(throws: RegistryError.self) { try registry.versionsJSON(model: "m", limit: 0) }
        }
    }

    /// A map stored by something other than the registry: an object with other spacing or key
    /// order is answered as stored, which is the same JSON; one that is not a bare `{…}` is read
    /// and written again; one that is not an object is a corrupt row, named by its column.
    @Test func versionRowsCopeWithMapsStoredByHand() async throws {
        try await withOneVersionAndAConnection { registry, connection in
            try connection.execute(script: """
                INSERT INTO versions (model_id, version, artifact_uri, params, metrics, tags, created_by, created_at)
                SELECT id, 2, 's3://m/2', '{}', '{"x": 1.5, "w": 2}', '{}', 'sql', 0 FROM models WHERE name = 'm';
                INSERT INTO versions (model_id, version, artifact_uri, params, metrics, tags, created_by, created_at)
                SELECT id, 3, 's3://m/3', '  {"b":"1","a":"2"}', '{}', '{}', 'sql', 0 FROM models WHERE name = 'm'
                """)
            let written = String(decoding: try registry.versionsJSON(model: "m", limit: 5), as: UTF8.self)
            #expect(written.contains(#""metrics":{"x": 1.5, "w": 2},"model":"m","params":{}"#), "\(written)")
            #expect(written.contains(#""model":"m","params":{"a":"2","b":"1"}"#), "\(written)")
            #expect(try registry.version(model: "m", .number(2)).metrics == ["x": 1.5, "w": 2])
            #expect(try registry.version(model: "m", .number(3)).params == ["a": "2", "b": "1"])
            #expect(try registry.versions(model: "m", limit: 5).items.map(\.version) == [3, 2, 1])

            try connection.execute("""
                INSERT INTO versions (model_id, version, artifact_uri, params, metrics, tags, created_by, created_at)
                SELECT id, 4, 's3://m/4', '["b"]', '{}', '{}', 'sql', 0 FROM models WHERE name = 'm'
                """)
            let page = #expect(throws: RegistryError.self) { try registry.versionsJSON(model: "m", limit: 5) }
            let one = #expect(throws: RegistryError.self) { try registry.version(model: "m", .number(4)) }
            for error in [page, one] { #expect(error?.message.contains("versions.params") == true, "\(error?.message ?? "-")") }
        }
    }

    /// Gate reports stored by something other than the registry (other spacing and key order)
    /// read back to the same reports, written as the API writes them.
    @Test func gateReportsStoredByHandReadBack() async throws {
        try await withOneVersionAndAConnection { registry, connection in
            try connection.execute("""
                INSERT INTO transitions (model_id, kind, branch, from_version, to_version, actor, reason, at, gates)
                SELECT id, 'promote', 'release', NULL, 1, 'sql', '', 0,
                       ' [{"passed": true, "name": "score", "observed": 0.5, "required": 0.1, "message": "ok"}]'
                FROM models WHERE name = 'm'
                """)
            let written = JSONCoding.text(try registry.history(model: "m"))
            #expect(written.contains(#""gates":[{"message":"ok","name":"score","observed":0.5,"passed":true,"required":0.1}]"#), "\(written)")
        }
    }

    /// A registry on a real file with version 1 of model "m", and a connection of its own to
    /// the same file, to store rows the registry would not write.
    private func withOneVersionAndAConnection(_ body: (Registry, Connection) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let registry = try Registry(path: directory.file("mreg.db"))
            _ = try await registry.register(model: "m", RegisterRequest(artifactURI: "s3://m/1"), by: .eve)
            try await body(registry, try Connection(path: directory.file("mreg.db")))
        }
    }
}
