import Foundation
import SQLite
import Testing

@testable import RegistryCore

/// Every failed operation leaves the database exactly as it was (contract section 3): every
/// table, the audit log included, is compared row by row through a connection of its own.
@Suite struct AtomicityTests {
    /// Runs `operation`, expects it to fail with `code`, and expects no table to have changed.
    private static func expectNoTrace<R>(
        _ registry: Registry, _ code: RegistryError.Code, sourceLocation: SourceLocation = #_sourceLocation,
        _ operation: () async throws -> R
    ) async throws {
        let before = try dumpDatabase(at: registry.path)
        await expectError(code, sourceLocation: sourceLocation, operation)
        let after = try dumpDatabase(at: registry.path)
        #expect(after == before, sourceLocation: sourceLocation)
        for table in before.keys.sorted() where before[table] != after[table] {
            Issue.record("table \(table) changed", sourceLocation: sourceLocation)
        }
    }

    /// A model with v1 on master, v2 on release, v3 on develop, a policy and a report.
    private static func populate(_ registry: Registry) async throws {
        try await registry.registerVersion(metrics: ["accuracy": 0.95], digest: digest(1))
        try await registry.promoteVersion(to: .release)
        try await registry.promoteVersion(to: .master)
        try await registry.registerVersion(metrics: ["accuracy": 0.5], digest: digest(2))
        try await registry.promoteVersion(to: .release)
        try await registry.registerVersion(metrics: ["accuracy": 0.5], digest: digest(3))
        try await registry.addReport(version: 2, suite: "unit", status: .passed)
        _ = try await registry.setPolicy(
            model: "fraud-scorer", document: "master:\n  thresholds: {accuracy: \">= 0.9\"}\n  approvals: {count: 1}\n", by: .alice)
        _ = try await registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .bob)
    }

    @Test func theDumpSeesASuccessfulChange() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let before = try dumpDatabase(at: registry.path)
            #expect(before["audit_log"]?.count == 10)
            #expect(before["versions"]?.count == 3)
            _ = try await registry.deprecate(model: "fraud-scorer", version: 3, reason: "bad", by: .alice)
            let after = try dumpDatabase(at: registry.path)
            #expect(after != before)
            #expect(after["audit_log"]?.count == 11)
        }
    }

    @Test func failedWritesLeaveEveryTableUnchanged() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            // A duplicate digest, found after the version number was worked out.
            try await Self.expectNoTrace(registry, .alreadyExists) { try await registry.registerVersion(digest: digest(2)) }
            // A new model is created inside the transaction, then its parent is missing.
            try await Self.expectNoTrace(registry, .notFound) { try await registry.registerVersion("brand-new", parent: 1) }
            // A failing gate (thresholds) after the gates were evaluated.
            try await Self.expectNoTrace(registry, .gateFailed) { try await registry.promoteVersion(to: .master, by: .bob) }
            // A stale expect.
            try await Self.expectNoTrace(registry, .preconditionFailed) {
                try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 3, expect: 1), by: .alice)
            }
            // Skipping a rung, and promoting what is already there.
            try await Self.expectNoTrace(registry, .conflict) { try await registry.promoteVersion(to: .master, version: 3) }
            try await Self.expectNoTrace(registry, .conflict) { try await registry.promoteVersion(to: .release, version: 2) }
            // Rollback with nothing to return to, and to a version never on the branch.
            try await Self.expectNoTrace(registry, .conflict) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "nothing before v1"), by: .bob)
            }
            try await Self.expectNoTrace(registry, .conflict) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(to: 3, reason: "never there"), by: .bob)
            }
            // Duplicates.
            try await Self.expectNoTrace(registry, .alreadyExists) { try await registry.createModel(name: "fraud-scorer", by: .alice) }
            try await Self.expectNoTrace(registry, .alreadyExists) {
                try await registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .bob)
            }
            _ = try await registry.deprecate(model: "fraud-scorer", version: 3, reason: "first", by: .alice)
            try await Self.expectNoTrace(registry, .conflict) {
                try await registry.deprecate(model: "fraud-scorer", version: 3, reason: "second", by: .alice)
            }
        }
    }

    @Test func refusedRequestsLeaveEveryTableUnchanged() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            try await Self.expectNoTrace(registry, .permissionDenied) {
                try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .master, reason: "x", force: true), by: .bob)
            }
            try await Self.expectNoTrace(registry, .permissionDenied) {
                try await registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .eve)
            }
            try await Self.expectNoTrace(registry, .invalidArgument) { try await registry.registerVersion(metrics: ["x": .nan]) }
            try await Self.expectNoTrace(registry, .invalidArgument) {
                try await registry.setPolicy(model: "fraud-scorer", document: "master:\n  approvals: {count: -1}\n", by: .alice)
            }
            try await Self.expectNoTrace(registry, .notFound) { try await registry.addReport(version: 9, suite: "unit", status: .passed) }
            // A dry run, even of a failing promotion, writes nothing either.
            let before = try dumpDatabase(at: registry.path)
            let dryRun = try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .master, dryRun: true), by: .bob)
            #expect(!dryRun.passed)
            #expect(try dumpDatabase(at: registry.path) == before)
        }
    }
}
