import Foundation
import Testing

@testable import RegistryCore

/// `register`, `version(model:_:)`, `versions` and `deprecate` (contract sections 2 and 3).
@Suite struct VersionTests {
    // MARK: register

    @Test func registerCreatesTheModelNumbersVersionsAndMovesDevelop() async throws {
        try await withTemporaryRegistry { registry in
            let first = try await registry.register(
                model: "fraud-scorer",
                RegisterRequest(
                    artifactURI: "s3://models/fraud-scorer/1", digest: digest(1), params: ["lr": "0.1"],
                    metrics: ["accuracy": 0.91], tags: ["team": "risk"], description: "baseline"),
                by: .alice)
            #expect(first.version == 1)
            #expect(first.model == "fraud-scorer")
            #expect(first.status == .active)
            #expect(first.createdBy == "alice")
            #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 1))

            #expect(try await registry.registerVersion().version == 2)
            #expect(try registry.model(named: "fraud-scorer").branches.develop == 2)
            #expect(try await registry.registerVersion().version == 3)
            let model = try registry.model(named: "fraud-scorer")
            #expect(model.branches == BranchHeads(develop: 3, release: nil, master: nil))
            #expect(model.versionCount == 3)

            // What was stored is what comes back.
            let stored = try registry.version(model: "fraud-scorer", .number(1))
            #expect(stored == first)
            #expect(stored.artifactURI == "s3://models/fraud-scorer/1")
            #expect(stored.digest == digest(1))
            #expect(stored.params == ["lr": "0.1"])
            #expect(stored.metrics == ["accuracy": 0.91])
            #expect(stored.tags == ["team": "risk"])
            #expect(stored.description == "baseline")

            let develop = try registry.history(model: "fraud-scorer", branch: .develop).transitions
            #expect(develop.map(\.kind) == [.register, .register, .register])
            #expect(develop.map(\.fromVersion) == [2, 1, nil])
            #expect(develop.map(\.toVersion) == [3, 2, 1])
        }
    }

    @Test(arguments: ["", "   "])
    func registerRefusesAnEmptyArtifact(artifact: String) async throws {
        try await withTemporaryRegistry { registry throws in
            let error = await expectError(.invalidArgument) {
                try await registry.register(model: "fraud-scorer", RegisterRequest(artifactURI: artifact), by: .alice)
            }
            #expect(error?.message.contains("artifact_uri") == true)
            await expectError(.notFound) { try registry.model(named: "fraud-scorer") }
        }
    }

    @Test func aRegisterBodyWithoutArtifactIsRefusedByName() async {
        let error = await expectError(.invalidArgument) {
            try RequestDecoding.decode(
                RegisterRequest.self, from: Data(#"{"digest": null, "params": {"lr": "0.1"}}"#.utf8),
                allowedKeys: RegisterRequest.allowedKeys)
        }
        #expect(error?.message.contains("\"artifact_uri\" is required") == true)
        let typo = await expectError(.invalidArgument) {
            try RequestDecoding.decode(
                RegisterRequest.self, from: Data(#"{"artifact": "s3://x"}"#.utf8), allowedKeys: RegisterRequest.allowedKeys)
        }
        #expect(typo?.message.contains("unknown field \"artifact\"") == true)
    }

    @Test(arguments: [
        "sha256:abc",
        "md5:" + String(repeating: "a", count: 64),
        "sha256:" + String(repeating: "A", count: 64),
        "sha256:" + String(repeating: "a", count: 63),
        "sha256:" + String(repeating: "a", count: 65),
        "sha256:" + String(repeating: "g", count: 64),
        String(repeating: "a", count: 64),
    ])
    func registerRefusesABadDigest(bad: String) async throws {
        try await withTemporaryRegistry { registry throws in
            let error = await expectError(.invalidArgument) { try await registry.registerVersion(digest: bad) }
            #expect(error?.message.contains("digest") == true)
        }
    }

    @Test func aDuplicateDigestIsAlreadyExistsAndNamesTheVersionThatHasIt() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(digest: digest(1))
            try await registry.registerVersion(digest: digest(2))
            let error = await expectError(.alreadyExists) { try await registry.registerVersion(digest: digest(2)) }
            #expect(error?.message.contains("version 2") == true)
            #expect(try registry.model(named: "fraud-scorer").versionCount == 2)
            // Unique per model only: another model may hold the same artifact.
            #expect(try await registry.registerVersion("other-model", digest: digest(2)).version == 1)
            // Versions without a digest never clash.
            try await registry.registerVersion()
            try await registry.registerVersion()
        }
    }

    @Test func aParentMustBeAnEarlierVersionOfTheModel() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            let error = await expectError(.notFound) { try await registry.registerVersion(parent: 2) }
            #expect(error?.message.contains("2") == true)
            await expectError(.notFound) { try await registry.registerVersion(parent: 7) }
            await expectError(.invalidArgument) { try await registry.registerVersion(parent: 0) }
            // A parent on a model being created by this very call cannot exist either.
            await expectError(.notFound) { try await registry.registerVersion("new-model", parent: 1) }
            await expectError(.notFound) { try registry.model(named: "new-model") }

            let child = try await registry.registerVersion(parent: 1)
            #expect(child.version == 2)
            #expect(try registry.version(model: "fraud-scorer", .number(2)).parent == 1)
        }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aNonFiniteMetricIsRefused(value: Double) async throws {
        try await withTemporaryRegistry { registry throws in
            let error = await expectError(.invalidArgument) { try await registry.registerVersion(metrics: ["accuracy": value]) }
            #expect(error?.message.contains("accuracy") == true)
        }
    }

    @Test func registeringNeedsTheEngineerRole() async throws {
        try await withTemporaryRegistry { registry throws in
            await expectError(.permissionDenied) { try await registry.registerVersion(by: .ruth) }
            #expect(try await registry.registerVersion(by: .eve).createdBy == "eve")
        }
    }

    // MARK: version(model:_:)

    @Test func aVersionIsFoundByNumberBranchAndBranchAtTime() async throws {
        let clock = TestClock(TestClock.time("2026-11-22T10:00:00Z"))
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await registry.registerVersion()  // develop = 1 at 10:00
            clock.set(TestClock.time("2026-11-22T11:00:00Z"))
            try await registry.registerVersion()  // develop = 2 at 11:00
            clock.set(TestClock.time("2026-11-22T12:00:00Z"))
            try await registry.promoteVersion(to: .release, version: 1)  // release = 1 at 12:00

            #expect(try registry.version(model: "fraud-scorer", .number(2)).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branch(.develop)).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branch(.release)).version == 1)
            #expect(try registry.version(model: "fraud-scorer", try VersionRef(parsing: "develop@2026-11-22T10:30:00Z")).version == 1)
            // The instant of a move already shows the new version.
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T11:00:00Z"))).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T10:59:59.999Z"))).version == 1)
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.release, TestClock.time("2026-11-23T00:00:00Z"))).version == 1)

            await expectError(.notFound) { try registry.version(model: "fraud-scorer", .number(3)) }
            await expectError(.notFound) { try registry.version(model: "fraud-scorer", .branch(.master)) }
            await expectError(.notFound) { try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T09:59:59Z"))) }
            await expectError(.notFound) { try registry.version(model: "fraud-scorer", .branchAt(.release, TestClock.time("2026-11-22T11:59:59Z"))) }
            await expectError(.notFound) { try registry.version(model: "no-such-model", .number(1)) }
        }
    }

    @Test func versionReferencesParseTheThreeForms() async throws {
        #expect(try VersionRef(parsing: "3") == .number(3))
        #expect(try VersionRef(parsing: "master") == .branch(.master))
        #expect(try VersionRef(parsing: "release@2026-11-22T12:00:00+02:00") == .branchAt(.release, TestClock.time("2026-11-22T10:00:00Z")))
        for bad in ["0", "-1", "prod", "master@yesterday", "master@", "@2026-11-22T10:00:00Z", ""] {
            await expectError(.invalidArgument) { try VersionRef(parsing: bad) }
        }
    }

    // MARK: versions

    @Test func versionsArePagedNewestFirstWithAStableCursor() async throws {
        try await withTemporaryRegistry { registry in
            for _ in 1...7 { try await registry.registerVersion() }
            let first = try registry.versions(model: "fraud-scorer", limit: 3)
            #expect(first.items.map(\.version) == [7, 6, 5])
            // A version registered between pages neither shifts nor repeats what follows.
            try await registry.registerVersion()
            #expect(first.nextCursor != nil)
            let second = try registry.versions(model: "fraud-scorer", limit: 3, cursor: first.nextCursor)
            #expect(second.items.map(\.version) == [4, 3, 2])
            #expect(second.nextCursor != nil)
            let third = try registry.versions(model: "fraud-scorer", limit: 3, cursor: second.nextCursor)
            #expect(third.items.map(\.version) == [1])
            #expect(third.nextCursor == nil)

            let seen = (first.items + second.items + third.items).map(\.version)
            #expect(Set(seen).count == seen.count)
            #expect(Set(seen) == Set(1...7))
            // The newcomer is on a fresh first page.
            #expect(try registry.versions(model: "fraud-scorer", limit: 3).items.first?.version == 8)
        }
    }

    @Test func anExactlyFullLastPageHasNoCursor() async throws {
        try await withTemporaryRegistry { registry in
            for _ in 1...4 { try await registry.registerVersion() }
            let first = try registry.versions(model: "fraud-scorer", limit: 2)
            #expect(first.nextCursor != nil)
            let second = try registry.versions(model: "fraud-scorer", limit: 2, cursor: first.nextCursor)
            #expect(second.items.map(\.version) == [2, 1])
            #expect(second.nextCursor == nil)
        }
    }

    @Test func aBadCursorOrLimitIsInvalidArgument() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            _ = try await registry.createModel(name: "a", by: .alice)
            _ = try await registry.createModel(name: "b", by: .alice)
            let modelCursor = try #require(try registry.models(limit: 1).nextCursor)
            for cursor in ["not a cursor!", "", "AAAA", modelCursor] {
                await expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", cursor: cursor) }
            }
            await expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", limit: 0) }
            await expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", limit: 1001) }
        }
    }

    // MARK: deprecate

    @Test func deprecateMarksTheVersionAndIsAudited() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            let deprecated = try await registry.deprecate(model: "fraud-scorer", version: 1, reason: "leaks PII", by: .alice)
            #expect(deprecated.status == .deprecated)
            #expect(try registry.version(model: "fraud-scorer", .number(1)).status == .deprecated)
            // It stays where it is.
            #expect(try registry.model(named: "fraud-scorer").branches.develop == 1)
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "version.deprecate")
            #expect(entry.version == 1)
            #expect(entry.details.contains("leaks PII"))
        }
    }

    @Test(arguments: ["", "  "])
    func deprecateNeedsAReason(reason: String) async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.invalidArgument) { try await registry.deprecate(model: "fraud-scorer", version: 1, reason: reason, by: .alice) }
            #expect(try registry.version(model: "fraud-scorer", .number(1)).status == .active)
        }
    }

    @Test func deprecatingTwiceIsAConflictAndUnknownVersionsAreNotFound() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            _ = try await registry.deprecate(model: "fraud-scorer", version: 1, reason: "bad", by: .alice)
            await expectError(.conflict) { try await registry.deprecate(model: "fraud-scorer", version: 1, reason: "again", by: .alice) }
            await expectError(.notFound) { try await registry.deprecate(model: "fraud-scorer", version: 2, reason: "x", by: .alice) }
            await expectError(.notFound) { try await registry.deprecate(model: "nope", version: 1, reason: "x", by: .alice) }
        }
    }

    @Test func aDeprecatedVersionCannotBePromoted() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            try await registry.promoteVersion(to: .release, version: 2)
            _ = try await registry.deprecate(model: "fraud-scorer", version: 1, reason: "bad data", by: .alice)
            _ = try await registry.deprecate(model: "fraud-scorer", version: 2, reason: "bad data", by: .alice)
            let error = await expectError(.conflict) { try await registry.promoteVersion(to: .release, version: 1) }
            #expect(error?.message.contains("deprecated") == true)
            await expectError(.conflict) { try await registry.promoteVersion(to: .master) }
            #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 2, release: 2, master: nil))
        }
    }
}
