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
        _ operation: () throws -> R
    ) throws {
        let before = try dumpDatabase(at: registry.path)
        expectError(code, sourceLocation: sourceLocation, operation)
        let after = try dumpDatabase(at: registry.path)
        #expect(after == before, sourceLocation: sourceLocation)
        for table in before.keys.sorted() where before[table] != after[table] {
            Issue.record("table \(table) changed", sourceLocation: sourceLocation)
        }
    }

    /// A model with v1 on master, v2 on release, v3 on develop, a policy and a report.
    private static func populate(_ registry: Registry) throws {
        try registry.registerVersion(metrics: ["accuracy": 0.95], digest: digest(1))
        try registry.promoteVersion(to: .release)
        try registry.promoteVersion(to: .master)
        try registry.registerVersion(metrics: ["accuracy": 0.5], digest: digest(2))
        try registry.promoteVersion(to: .release)
        try registry.registerVersion(metrics: ["accuracy": 0.5], digest: digest(3))
        try registry.addReport(version: 2, suite: "unit", status: .passed)
        _ = try registry.setPolicy(
            model: "fraud-scorer", document: "master:\n  thresholds: {accuracy: \">= 0.9\"}\n  approvals: {count: 1}\n", by: .alice)
        _ = try registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .bob)
    }

    @Test func theDumpSeesASuccessfulChange() throws {
        try withTemporaryRegistry { registry in
            try Self.populate(registry)
            let before = try dumpDatabase(at: registry.path)
            #expect(before["audit_log"]?.count == 10)
            #expect(before["versions"]?.count == 3)
            _ = try registry.deprecate(model: "fraud-scorer", version: 3, reason: "bad", by: .alice)
            let after = try dumpDatabase(at: registry.path)
            #expect(after != before)
            #expect(after["audit_log"]?.count == 11)
        }
    }

    @Test func failedWritesLeaveEveryTableUnchanged() throws {
        try withTemporaryRegistry { registry in
            try Self.populate(registry)
            // A duplicate digest, found after the version number was worked out.
            try Self.expectNoTrace(registry, .alreadyExists) { try registry.registerVersion(digest: digest(2)) }
            // A new model is created inside the transaction, then its parent is missing.
            try Self.expectNoTrace(registry, .notFound) { try registry.registerVersion("brand-new", parent: 1) }
            // A failing gate (thresholds) after the gates were evaluated.
            try Self.expectNoTrace(registry, .gateFailed) { try registry.promoteVersion(to: .master, by: .bob) }
            // A stale expect.
            try Self.expectNoTrace(registry, .preconditionFailed) {
                try registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 3, expect: 1), by: .alice)
            }
            // Skipping a rung, and promoting what is already there.
            try Self.expectNoTrace(registry, .conflict) { try registry.promoteVersion(to: .master, version: 3) }
            try Self.expectNoTrace(registry, .conflict) { try registry.promoteVersion(to: .release, version: 2) }
            // Rollback with nothing to return to, and to a version never on the branch.
            try Self.expectNoTrace(registry, .conflict) {
                try registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "nothing before v1"), by: .bob)
            }
            try Self.expectNoTrace(registry, .conflict) {
                try registry.rollback(model: "fraud-scorer", RollbackRequest(to: 3, reason: "never there"), by: .bob)
            }
            // Duplicates.
            try Self.expectNoTrace(registry, .alreadyExists) { try registry.createModel(name: "fraud-scorer", by: .alice) }
            try Self.expectNoTrace(registry, .alreadyExists) {
                try registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .bob)
            }
            _ = try registry.deprecate(model: "fraud-scorer", version: 3, reason: "first", by: .alice)
            try Self.expectNoTrace(registry, .conflict) {
                try registry.deprecate(model: "fraud-scorer", version: 3, reason: "second", by: .alice)
            }
        }
    }

    @Test func refusedRequestsLeaveEveryTableUnchanged() throws {
        try withTemporaryRegistry { registry in
            try Self.populate(registry)
            try Self.expectNoTrace(registry, .permissionDenied) {
                try registry.promote(model: "fraud-scorer", PromoteRequest(to: .master, reason: "x", force: true), by: .bob)
            }
            try Self.expectNoTrace(registry, .permissionDenied) {
                try registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .eve)
            }
            try Self.expectNoTrace(registry, .invalidArgument) { try registry.registerVersion(metrics: ["x": .nan]) }
            try Self.expectNoTrace(registry, .invalidArgument) {
                try registry.setPolicy(model: "fraud-scorer", document: "master:\n  approvals: {count: -1}\n", by: .alice)
            }
            try Self.expectNoTrace(registry, .notFound) { try registry.addReport(version: 9, suite: "unit", status: .passed) }
            // A dry run, even of a failing promotion, writes nothing either.
            let before = try dumpDatabase(at: registry.path)
            let dryRun = try registry.promote(model: "fraud-scorer", PromoteRequest(to: .master, dryRun: true), by: .bob)
            #expect(!dryRun.passed)
            #expect(try dumpDatabase(at: registry.path) == before)
        }
    }
}
