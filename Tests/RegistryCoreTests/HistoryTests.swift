import Foundation
import Testing

@testable import RegistryCore

/// `history`, `branches(model:at:)` and `diff`.
@Suite struct HistoryTests {
    // MARK: history

    @Test func historyIsNewestFirstAndFiltersByBranch() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.shipVersion()  // register 1, release 1, master 1
            try await registry.shipVersion()  // register 2, release 2, master 2
            _ = try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "x"), by: .bob)

            let all = try registry.history(model: "fraud-scorer").transitions
            #expect(all.count == 7)
            #expect(all.map(\.id) == all.map(\.id).sorted(by: >))
            #expect(all.map(\.branch) == [.master, .master, .release, .develop, .master, .release, .develop])
            #expect(all.map(\.kind) == [.rollback, .promote, .promote, .register, .promote, .promote, .register])
            #expect(all.first?.toVersion == 1)
            #expect(all.allSatisfy { $0.model == "fraud-scorer" })

            let master = try registry.history(model: "fraud-scorer", branch: .master).transitions
            #expect(master.map(\.toVersion) == [1, 2, 1])
            #expect(master.map(\.fromVersion) == [2, 1, nil])
            #expect(master.allSatisfy { $0.branch == .master })
            #expect(try registry.history(model: "fraud-scorer", branch: .develop).transitions.count == 2)
        }
    }

    @Test func historyPagesWithoutDuplicates() async throws {
        try await withTemporaryRegistry { registry in
            for _ in 1...3 { try await registry.shipVersion() }  // 9 transitions
            var ids: [Int] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try registry.history(model: "fraud-scorer", limit: 4, cursor: cursor)
                #expect(page.transitions.count <= 4)
                ids += page.transitions.map(\.id)
                cursor = page.nextCursor
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(try registry.history(model: "fraud-scorer", limit: 100).transitions.map(\.id) == ids)
            #expect(Set(ids).count == 9)

            let firstMaster = try registry.history(model: "fraud-scorer", branch: .master, limit: 2)
            #expect(firstMaster.transitions.map(\.toVersion) == [3, 2])
            let restMaster = try registry.history(model: "fraud-scorer", branch: .master, limit: 2, cursor: firstMaster.nextCursor)
            #expect(restMaster.transitions.map(\.toVersion) == [1])
            #expect(restMaster.nextCursor == nil)

            await expectError(.invalidArgument) { try registry.history(model: "fraud-scorer", cursor: "%%%") }
            await expectError(.invalidArgument) { try registry.history(model: "fraud-scorer", limit: 0) }
        }
    }

    @Test func transitionsCarryTheClocksTimes() async throws {
        let clock = TestClock(TestClock.time("2026-11-22T10:00:00.250Z"))
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await registry.registerVersion()
            clock.set(TestClock.time("2026-11-22T10:05:00.500Z"))
            try await registry.promoteVersion(to: .release)
            let transitions = try registry.history(model: "fraud-scorer").transitions
            #expect(transitions.map(\.at.description) == ["2026-11-22T10:05:00.500Z", "2026-11-22T10:00:00.250Z"])
        }
    }

    // MARK: branches at a time

    @Test func branchesAtATimeShowWhatEachBranchHeldThen() async throws {
        let clock = TestClock()
        func at(_ text: String) -> Timestamp { TestClock.time(text) }
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            clock.set(at("2026-11-01T09:00:00Z"))
            try await registry.registerVersion()  // develop 1
            clock.set(at("2026-11-02T09:00:00Z"))
            try await registry.promoteVersion(to: .release)  // release 1
            clock.set(at("2026-11-03T09:00:00Z"))
            try await registry.registerVersion()  // develop 2
            clock.set(at("2026-11-04T09:00:00Z"))
            try await registry.promoteVersion(to: .master, by: .bob)  // master 1
            clock.set(at("2026-11-05T09:00:00Z"))
            try await registry.promoteVersion(to: .release)  // release 2
            try await registry.promoteVersion(to: .master, by: .bob)  // master 2, same instant
            clock.set(at("2026-11-06T09:00:00Z"))
            _ = try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "regression"), by: .bob)  // master 1

            func heads(_ text: String) async throws -> BranchHeads {
                try await registry.branches(model: "fraud-scorer", at: at(text)).branches
            }
            await #expect(try heads("2026-10-31T00:00:00Z") == BranchHeads(develop: nil, release: nil, master: nil))
            await #expect(try heads("2026-11-01T09:00:00Z") == BranchHeads(develop: 1, release: nil, master: nil))
            await #expect(try heads("2026-11-02T12:00:00Z") == BranchHeads(develop: 1, release: 1, master: nil))
            await #expect(try heads("2026-11-03T12:00:00Z") == BranchHeads(develop: 2, release: 1, master: nil))
            await #expect(try heads("2026-11-04T08:59:59.999Z") == BranchHeads(develop: 2, release: 1, master: nil))
            await #expect(try heads("2026-11-04T12:00:00Z") == BranchHeads(develop: 2, release: 1, master: 1))
            await #expect(try heads("2026-11-05T09:00:00Z") == BranchHeads(develop: 2, release: 2, master: 2))
            await #expect(try heads("2026-11-06T10:00:00+01:00") == BranchHeads(develop: 2, release: 2, master: 1))
            await #expect(try heads("2030-01-01T00:00:00Z") == BranchHeads(develop: 2, release: 2, master: 1))

            let answer = try await registry.branches(model: "fraud-scorer", at: at("2026-11-04T12:00:00Z"))
            #expect(answer.model == "fraud-scorer")
            #expect(answer.at == at("2026-11-04T12:00:00Z"))
            await expectError(.notFound) { try await registry.branches(model: "nope", at: at("2026-11-04T12:00:00Z")) }
        }
    }

    // MARK: diff

    @Test func diffShowsParamsMetricsTagsAndReports() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.register(
                model: "fraud-scorer",
                RegisterRequest(
                    artifactURI: "s3://models/fraud-scorer/1", digest: digest(1), params: ["lr": "0.1", "layers": "3"],
                    metrics: ["accuracy": 0.8, "loss": 0.5, "zero": 0], tags: ["team": "risk", "stage": "exp"]),
                by: .alice)
            _ = try await registry.register(
                model: "fraud-scorer",
                RegisterRequest(
                    artifactURI: "s3://models/fraud-scorer/2", digest: digest(2), params: ["lr": "0.01", "batch": "64"],
                    metrics: ["accuracy": 0.9, "latency_ms": 20, "zero": 1], tags: ["team": "fraud", "stage": "exp", "owner": "bob"],
                    parent: 1),
                by: .alice)
            try await registry.addReport(version: 1, suite: "unit", status: .passed, metrics: ["auc": 0.8])
            try await registry.addReport(version: 2, suite: "unit", status: .passed, metrics: ["auc": 0.7])
            try await registry.addReport(version: 2, suite: "unit", status: .failed, metrics: ["auc": 0.6])  // newest counts
            try await registry.addReport(version: 2, suite: "integration", status: .passed)
            try await registry.addReport(version: 1, suite: "load", status: .passed)

            let diff = try registry.diff(model: "fraud-scorer", from: .number(1), to: .number(2))
            #expect(diff.from.version == 1)
            #expect(diff.to.version == 2)
            #expect(diff.artifact.changed)
            #expect(diff.artifact.fromDigest == digest(1))
            #expect(diff.artifact.toDigest == digest(2))

            #expect(diff.params.added == ["batch": "64"])
            #expect(diff.params.removed == ["layers": "3"])
            #expect(diff.params.changed == ["lr": .init(from: "0.1", to: "0.01")])

            let accuracy = try #require(diff.metrics["accuracy"])
            #expect(accuracy.from == 0.8)
            #expect(accuracy.to == 0.9)
            #expect(isClose(accuracy.delta, 0.1))
            #expect(isClose(accuracy.relative, 0.125))
            #expect(diff.metrics["loss"] == VersionDiff.MetricDelta(from: 0.5, to: nil))
            #expect(diff.metrics["loss"]?.delta == nil)
            #expect(diff.metrics["latency_ms"]?.from == nil)
            #expect(diff.metrics["latency_ms"]?.to == 20)
            #expect(diff.metrics["zero"]?.delta == 1)
            #expect(diff.metrics["zero"]?.relative == nil)

            #expect(diff.tags.added == ["owner": "bob"])
            #expect(diff.tags.removed.isEmpty)
            #expect(diff.tags.changed == ["team": .init(from: "risk", to: "fraud")])

            let unit = try #require(diff.reports["unit"])
            #expect(unit.from == .passed)
            #expect(unit.to == .failed)
            #expect(unit.statusChanged)
            #expect(isClose(unit.metrics["auc"]?.delta, -0.2))
            #expect(diff.reports["integration"] == VersionDiff.SuiteChange(from: nil, to: .passed, statusChanged: true, metrics: [:]))
            #expect(diff.reports["load"]?.to == nil)
            #expect(diff.reports["load"]?.statusChanged == true)

            #expect(diff.descends)
            #expect(diff.score == VersionDiff.Score(from: nil, to: nil, delta: nil))
        }
    }

    @Test func diffOfEqualReportsShowsNoStatusChange() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(params: ["lr": "0.1"], tags: ["team": "risk"])
            try await registry.registerVersion(params: ["lr": "0.1"], tags: ["team": "risk"])
            try await registry.addReport(version: 1, suite: "unit", status: .passed)
            try await registry.addReport(version: 2, suite: "unit", status: .passed)
            let diff = try registry.diff(model: "fraud-scorer", from: .number(1), to: .number(2))
            #expect(diff.params.isEmpty)
            #expect(diff.tags.isEmpty)
            #expect(diff.reports["unit"]?.statusChanged == false)
        }
    }

    @Test func descendsFollowsParentLinksTransitively() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()  // 1
            try await registry.registerVersion(parent: 1)  // 2
            try await registry.registerVersion()  // 3, no parent
            try await registry.registerVersion(parent: 2)  // 4
            func descends(_ a: Int, _ b: Int) throws -> Bool {
                try registry.diff(model: "fraud-scorer", from: .number(a), to: .number(b)).descends
            }
            #expect(try descends(1, 2))
            #expect(try descends(1, 4))
            #expect(try descends(2, 4))
            #expect(try descends(2, 1) == false)
            #expect(try descends(1, 3) == false)
            #expect(try descends(3, 4) == false)
            #expect(try descends(2, 2) == false)
        }
    }

    @Test func diffResolvesBranchesAndTimesAndScoresBothSides() async throws {
        let clock = TestClock(TestClock.time("2026-11-22T10:00:00Z"))
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            _ = try await registry.createModel(name: "fraud-scorer", by: .alice)
            _ = try await registry.setPolicy(
                model: "fraud-scorer", document: "release:\n  score: {weights: {accuracy: 0.5, recall: 0.5}}\n", by: .alice)
            try await registry.registerVersion(metrics: ["accuracy": 0.8, "recall": 0.6])
            try await registry.promoteVersion(to: .release)
            clock.set(TestClock.time("2026-11-22T11:00:00Z"))
            try await registry.registerVersion(metrics: ["accuracy": 0.9, "recall": 0.8])

            let diff = try registry.diff(
                model: "fraud-scorer", from: try VersionRef(parsing: "develop@2026-11-22T10:30:00Z"), to: .branch(.develop))
            #expect(diff.from.version == 1)
            #expect(diff.to.version == 2)
            #expect(isClose(diff.score.from, 0.7))
            #expect(isClose(diff.score.to, 0.85))
            #expect(isClose(diff.score.delta, 0.15))
            #expect(try registry.diff(model: "fraud-scorer", from: .branch(.release), to: .number(2)).from.version == 1)
            await expectError(.notFound) { try registry.diff(model: "fraud-scorer", from: .branch(.master), to: .number(2)) }
            await expectError(.notFound) { try registry.diff(model: "fraud-scorer", from: .number(1), to: .number(3)) }
        }
    }
}
