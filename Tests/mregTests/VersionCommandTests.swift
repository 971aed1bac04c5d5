import Foundation
import Testing

/// `mreg register`, `versions`, `show` and `deprecate`.
@Suite struct VersionCommandTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test(arguments: RegistryMode.allCases) func registerPrintsEveryContractKey(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let outcome = try await registry.mreg(
                "register", "fraud", "--artifact", "s3://models/fraud/2", "--digest", Self.digest,
                "--param", "lr=0.01", "--param", "depth=8", "--metric", "accuracy=0.93", "--metric", "f1=0.8",
                "--tag", "team=risk", "--parent", "1", "--description", "retrained on November", "--actor", "alice", "--json")
            #expect(outcome.status == 0, "\(outcome)")
            let version = try outcome.json()
            #expect(version.keySet.isSuperset(of: [
                "model", "version", "artifact_uri", "digest", "params", "metrics", "tags", "parent", "status", "created_by", "created_at",
            ]))
            #expect(version.string("model") == "fraud")
            #expect(version.int("version") == 2)
            #expect(version.string("artifact_uri") == "s3://models/fraud/2")
            #expect(version.string("digest") == Self.digest)
            #expect(version.object("params")?.string("lr") == "0.01")
            #expect(version.object("params")?.string("depth") == "8")
            #expect(version.object("metrics")?.double("accuracy") == 0.93)
            #expect(version.object("metrics")?.double("f1") == 0.8)
            #expect(version.object("tags")?.string("team") == "risk")
            #expect(version.int("parent") == 1)
            #expect(version.string("status") == "active")
            switch mode {
            case .file:
                #expect(version.string("created_by") == "alice", "--actor names who acted")
            case .server:
                #expect(version.string("created_by") == "tester", "through a server the token's name is the actor")
                #expect(outcome.stderr.contains("--actor is ignored with --server"), "\(outcome)")
            }
            #expect(isRFC3339Milliseconds(version.string("created_at")))
        }
    }

    @Test(arguments: RegistryMode.allCases) func registerCreatesTheModelNumbersVersionsAndMovesDevelop(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let numbers = [
                try await registry.register("fraud"), try await registry.register("fraud"), try await registry.register("fraud"),
            ]
            #expect(numbers == [1, 2, 3])
            #expect(try await registry.branches("fraud") == BranchHeads(develop: 3, release: nil, master: nil))

            let first = try await registry.json("register", "churn", "--artifact", "s3://c/1")
            #expect(first.int("version") == 1)
            #expect(first.isNull("digest") && first.isNull("parent"))
            #expect(first.string("created_by") == "tester", "$MREG_ACTOR names who acted")

            let human = try await registry.mreg("register", "churn", "--artifact", "s3://c/2")
            #expect(human.status == 0)
            #expect(human.stdout.contains("churn v2"), "\(human)")
        }
    }

    @Test(arguments: ["accuracy=high", "accuracy", "=0.9", "accuracy=nan"])
    func aMalformedMetricIsAUsageErrorNamingTheArgument(metric: String) async throws {
        try await withTemporaryRegistry { registry in
            let outcome = try await registry.mreg("register", "fraud", "--artifact", "s3://a/1", "--metric", metric)
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.stderr.contains("--metric"), "\(outcome)")
            #expect(outcome.stderr.contains("'\(metric)'"), "\(outcome)")
            #expect(outcome.stdout.isEmpty)
            let model = try await registry.mreg("model", "show", "fraud")
            #expect(model.status == 3, "a refused registration must not create the model: \(model)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func aKeyGivenTwiceIsAUsageError(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let outcome = try await registry.mreg("register", "fraud", "--artifact", "s3://a/1", "--param", "lr=1", "--param", "lr=2")
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.stderr.contains("--param lr is given twice"), "\(outcome)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func registerRejectsBadDigestsDuplicateDigestsAndUnknownParents(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", "--digest", Self.digest)
            let entries = try await registry.auditEntryCount()

            let malformed = try await registry.mreg("register", "fraud", "--artifact", "s3://a/2", "--digest", "sha256:xyz")
            #expect(malformed.status == 2, "\(malformed)")
            #expect(malformed.stderr.contains("sha256:xyz"), "\(malformed)")

            let duplicate = try await registry.mreg("register", "fraud", "--artifact", "s3://a/2", "--digest", Self.digest)
            #expect(duplicate.status == 4, "\(duplicate)")
            #expect(duplicate.stderr.contains("already has version 1 with digest"), "\(duplicate)")

            let orphan = try await registry.mreg("register", "fraud", "--artifact", "s3://a/2", "--parent", "9")
            #expect(orphan.status == 3, "\(orphan)")
            #expect(orphan.stderr.contains("has no version 9"), "\(orphan)")

            let empty = try await registry.mreg("register", "fraud", "--artifact", "")
            #expect(empty.status == 2, "\(empty)")
            #expect(empty.stderr.contains("artifact_uri"), "\(empty)")

            #expect(try await registry.auditEntryCount() == entries, "refused registrations write nothing")
            #expect(try await registry.branches("fraud").develop == 1)
        }
    }

    @Test(arguments: RegistryMode.allCases) func versionsListsNewestFirstAndPagesWithACursor(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            for _ in 1...5 { try await registry.register("fraud") }
            var seen: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                var arguments = ["versions", "fraud", "--limit", "2", "--json"]
                if let cursor { arguments += ["--cursor", cursor] }
                let page = try await registry.mreg(arguments: arguments)
                #expect(page.status == 0, "\(page)")
                let items = try page.items()
                #expect(items.count <= 2)
                seen += items.compactMap { $0.int("version") }
                cursor = try page.json().string("next_cursor")
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == [5, 4, 3, 2, 1])
            #expect(pages == 3)

            let human = try await registry.mreg("versions", "fraud")
            #expect(human.status == 0)
            #expect(human.stdout.contains("VERSION") && human.stdout.contains("develop"), "\(human)")

            let badCursor = try await registry.mreg("versions", "fraud", "--cursor", "bogus")
            #expect(badCursor.status == 2, "\(badCursor)")
            #expect(badCursor.stderr.contains("bogus"), "\(badCursor)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func versionsOfAnUnknownModelIsNotFound(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let outcome = try await registry.mreg("versions", "ghost")
            #expect(outcome.status == 3, "\(outcome)")
            #expect(outcome.stderr.contains("model \"ghost\" does not exist"), "\(outcome)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func showByNumberBranchAndBranchAtTime(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", artifact: "s3://a/1")
            let between = try await instantBetweenSteps()
            try await registry.register("fraud", "--parent", "1", artifact: "s3://a/2")

            let byNumber = try await registry.json("show", "fraud", "1")
            #expect(byNumber.int("version") == 1)
            #expect(byNumber.string("artifact_uri") == "s3://a/1")

            let byBranch = try await registry.json("show", "fraud", "develop")
            #expect(byBranch.int("version") == 2)
            #expect(byBranch.int("parent") == 1)

            let atTime = try await registry.json("show", "fraud", "develop@\(between)")
            #expect(atTime.int("version") == 1, "develop held v1 at \(between)")

            let human = try await registry.mreg("show", "fraud", "2")
            #expect(human.status == 0)
            #expect(human.stdout.contains("s3://a/2") && human.stdout.contains("parent"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func showingAMissingVersionOrAnEmptyBranchIsNotFound(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let missing = try await registry.mreg("show", "fraud", "7")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 7"), "\(missing)")
            #expect(missing.stdout.isEmpty)

            let emptyBranch = try await registry.mreg("show", "fraud", "master")
            #expect(emptyBranch.status == 3, "\(emptyBranch)")
            #expect(emptyBranch.stderr.contains("master"), "\(emptyBranch)")

            let unknownModel = try await registry.mreg("show", "ghost", "1")
            #expect(unknownModel.status == 3, "\(unknownModel)")
            #expect(unknownModel.stderr.contains("model \"ghost\" does not exist"), "\(unknownModel)")

            let badReference = try await registry.mreg("show", "fraud", "develop@yesterday")
            #expect(badReference.status == 2, "\(badReference)")
            #expect(badReference.stderr.contains("yesterday"), "\(badReference)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func deprecateMarksTheVersionAndBlocksPromotion(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let deprecated = try await registry.json("deprecate", "fraud", "1", "--reason", "trained on leaked labels")
            #expect(deprecated.int("version") == 1)
            #expect(deprecated.string("status") == "deprecated")
            #expect(try await registry.json("show", "fraud", "1").string("status") == "deprecated")

            let entries = try await registry.auditEntryCount()
            let promote = try await registry.mreg("promote", "fraud", "--to", "release")
            #expect([4, 5].contains(promote.status), "\(promote)")
            #expect(promote.stderr.contains("deprecated"), "\(promote)")
            #expect(try await registry.branches("fraud").release == nil)
            #expect(try await registry.auditEntryCount() == entries)
        }
    }

    @Test(arguments: RegistryMode.allCases) func deprecateNeedsAReasonAndAnExistingVersion(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let noReason = try await registry.mreg("deprecate", "fraud", "1")
            #expect(noReason.status == 2, "\(noReason)")
            #expect(noReason.stderr.contains("--reason"), "\(noReason)")

            let missing = try await registry.mreg("deprecate", "fraud", "9", "--reason", "x")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 9"), "\(missing)")
            #expect(try await registry.json("show", "fraud", "1").string("status") == "active")
        }
    }
}
