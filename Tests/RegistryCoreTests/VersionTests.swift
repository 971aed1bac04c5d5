import Foundation
import Testing

@testable import RegistryCore

/// `register`, `version(model:_:)`, `versions` and `deprecate` (contract sections 2 and 3).
@Suite struct VersionTests {
    // MARK: register

    @Test func registerCreatesTheModelNumbersVersionsAndMovesDevelop() throws {
        try withTemporaryRegistry { registry in
            let first = try registry.register(
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

            #expect(try registry.registerVersion().version == 2)
            #expect(try registry.model(named: "fraud-scorer").branches.develop == 2)
            #expect(try registry.registerVersion().version == 3)
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
    func registerRefusesAnEmptyArtifact(artifact: String) throws {
        try withTemporaryRegistry { registry throws in
            let error = expectError(.invalidArgument) {
                try registry.register(model: "fraud-scorer", RegisterRequest(artifactURI: artifact), by: .alice)
            }
            #expect(error?.message.contains("artifact_uri") == true)
            expectError(.notFound) { try registry.model(named: "fraud-scorer") }
        }
    }

    @Test func aRegisterBodyWithoutArtifactIsRefusedByName() {
        let error = expectError(.invalidArgument) {
            try RequestDecoding.decode(
                RegisterRequest.self, from: Data(#"{"digest": null, "params": {"lr": "0.1"}}"#.utf8),
                allowedKeys: RegisterRequest.allowedKeys)
        }
        #expect(error?.message.contains("\"artifact_uri\" is required") == true)
        let typo = expectError(.invalidArgument) {
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
    func registerRefusesABadDigest(bad: String) throws {
        try withTemporaryRegistry { registry throws in
            let error = expectError(.invalidArgument) { try registry.registerVersion(digest: bad) }
            #expect(error?.message.contains("digest") == true)
        }
    }

    @Test func aDuplicateDigestIsAlreadyExistsAndNamesTheVersionThatHasIt() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion(digest: digest(1))
            try registry.registerVersion(digest: digest(2))
            let error = expectError(.alreadyExists) { try registry.registerVersion(digest: digest(2)) }
            #expect(error?.message.contains("version 2") == true)
            #expect(try registry.model(named: "fraud-scorer").versionCount == 2)
            // Unique per model only: another model may hold the same artifact.
            #expect(try registry.registerVersion("other-model", digest: digest(2)).version == 1)
            // Versions without a digest never clash.
            try registry.registerVersion()
            try registry.registerVersion()
        }
    }

    @Test func aParentMustBeAnEarlierVersionOfTheModel() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            let error = expectError(.notFound) { try registry.registerVersion(parent: 2) }
            #expect(error?.message.contains("2") == true)
            expectError(.notFound) { try registry.registerVersion(parent: 7) }
            expectError(.invalidArgument) { try registry.registerVersion(parent: 0) }
            // A parent on a model being created by this very call cannot exist either.
            expectError(.notFound) { try registry.registerVersion("new-model", parent: 1) }
            expectError(.notFound) { try registry.model(named: "new-model") }

            let child = try registry.registerVersion(parent: 1)
            #expect(child.version == 2)
            #expect(try registry.version(model: "fraud-scorer", .number(2)).parent == 1)
        }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aNonFiniteMetricIsRefused(value: Double) throws {
        try withTemporaryRegistry { registry throws in
            let error = expectError(.invalidArgument) { try registry.registerVersion(metrics: ["accuracy": value]) }
            #expect(error?.message.contains("accuracy") == true)
        }
    }

    @Test func registeringNeedsTheEngineerRole() throws {
        try withTemporaryRegistry { registry throws in
            expectError(.permissionDenied) { try registry.registerVersion(by: .ruth) }
            #expect(try registry.registerVersion(by: .eve).createdBy == "eve")
        }
    }

    // MARK: version(model:_:)

    @Test func aVersionIsFoundByNumberBranchAndBranchAtTime() throws {
        let clock = TestClock(TestClock.time("2026-11-22T10:00:00Z"))
        try withTemporaryRegistry(clock: { clock() }) { registry in
            try registry.registerVersion()  // develop = 1 at 10:00
            clock.set(TestClock.time("2026-11-22T11:00:00Z"))
            try registry.registerVersion()  // develop = 2 at 11:00
            clock.set(TestClock.time("2026-11-22T12:00:00Z"))
            try registry.promoteVersion(to: .release, version: 1)  // release = 1 at 12:00

            #expect(try registry.version(model: "fraud-scorer", .number(2)).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branch(.develop)).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branch(.release)).version == 1)
            #expect(try registry.version(model: "fraud-scorer", try VersionRef(parsing: "develop@2026-11-22T10:30:00Z")).version == 1)
            // The instant of a move already shows the new version.
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T11:00:00Z"))).version == 2)
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T10:59:59.999Z"))).version == 1)
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.release, TestClock.time("2026-11-23T00:00:00Z"))).version == 1)

            expectError(.notFound) { try registry.version(model: "fraud-scorer", .number(3)) }
            expectError(.notFound) { try registry.version(model: "fraud-scorer", .branch(.master)) }
            expectError(.notFound) { try registry.version(model: "fraud-scorer", .branchAt(.develop, TestClock.time("2026-11-22T09:59:59Z"))) }
            expectError(.notFound) { try registry.version(model: "fraud-scorer", .branchAt(.release, TestClock.time("2026-11-22T11:59:59Z"))) }
            expectError(.notFound) { try registry.version(model: "no-such-model", .number(1)) }
        }
    }

    @Test func versionReferencesParseTheThreeForms() throws {
        #expect(try VersionRef(parsing: "3") == .number(3))
        #expect(try VersionRef(parsing: "master") == .branch(.master))
        #expect(try VersionRef(parsing: "release@2026-11-22T12:00:00+02:00") == .branchAt(.release, TestClock.time("2026-11-22T10:00:00Z")))
        for bad in ["0", "-1", "prod", "master@yesterday", "master@", "@2026-11-22T10:00:00Z", ""] {
            expectError(.invalidArgument) { try VersionRef(parsing: bad) }
        }
    }

    // MARK: versions

    @Test func versionsArePagedNewestFirstWithAStableCursor() throws {
        try withTemporaryRegistry { registry in
            for _ in 1...7 { try registry.registerVersion() }
            let first = try registry.versions(model: "fraud-scorer", limit: 3)
            #expect(first.items.map(\.version) == [7, 6, 5])
            // A version registered between pages neither shifts nor repeats what follows.
            try registry.registerVersion()
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

    @Test func anExactlyFullLastPageHasNoCursor() throws {
        try withTemporaryRegistry { registry in
            for _ in 1...4 { try registry.registerVersion() }
            let first = try registry.versions(model: "fraud-scorer", limit: 2)
            #expect(first.nextCursor != nil)
            let second = try registry.versions(model: "fraud-scorer", limit: 2, cursor: first.nextCursor)
            #expect(second.items.map(\.version) == [2, 1])
            #expect(second.nextCursor == nil)
        }
    }

    @Test func aBadCursorOrLimitIsInvalidArgument() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            _ = try registry.createModel(name: "a", by: .alice)
            _ = try registry.createModel(name: "b", by: .alice)
            let modelCursor = try #require(try registry.models(limit: 1).nextCursor)
            for cursor in ["not a cursor!", "", "AAAA", modelCursor] {
                expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", cursor: cursor) }
            }
            expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", limit: 0) }
            expectError(.invalidArgument) { try registry.versions(model: "fraud-scorer", limit: 1001) }
        }
    }

    // MARK: deprecate

    @Test func deprecateMarksTheVersionAndIsAudited() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            let deprecated = try registry.deprecate(model: "fraud-scorer", version: 1, reason: "leaks PII", by: .alice)
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
    func deprecateNeedsAReason(reason: String) throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            expectError(.invalidArgument) { try registry.deprecate(model: "fraud-scorer", version: 1, reason: reason, by: .alice) }
            #expect(try registry.version(model: "fraud-scorer", .number(1)).status == .active)
        }
    }

    @Test func deprecatingTwiceIsAConflictAndUnknownVersionsAreNotFound() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            _ = try registry.deprecate(model: "fraud-scorer", version: 1, reason: "bad", by: .alice)
            expectError(.conflict) { try registry.deprecate(model: "fraud-scorer", version: 1, reason: "again", by: .alice) }
            expectError(.notFound) { try registry.deprecate(model: "fraud-scorer", version: 2, reason: "x", by: .alice) }
            expectError(.notFound) { try registry.deprecate(model: "nope", version: 1, reason: "x", by: .alice) }
        }
    }

    @Test func aDeprecatedVersionCannotBePromoted() throws {
        try withTemporaryRegistry { registry in
            try registry.registerVersion()
            try registry.registerVersion()
            try registry.promoteVersion(to: .release, version: 2)
            _ = try registry.deprecate(model: "fraud-scorer", version: 1, reason: "bad data", by: .alice)
            _ = try registry.deprecate(model: "fraud-scorer", version: 2, reason: "bad data", by: .alice)
            let error = expectError(.conflict) { try registry.promoteVersion(to: .release, version: 1) }
            #expect(error?.message.contains("deprecated") == true)
            expectError(.conflict) { try registry.promoteVersion(to: .master) }
            #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 2, release: 2, master: nil))
        }
    }
}
