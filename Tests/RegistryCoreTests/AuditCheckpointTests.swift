import Foundation
import MregTestSupport
import Testing

@testable import RegistryCore

/// Signed checkpoints of the audit log (docs/AUDIT.md, "Checkpoints"): what the note signs, and
/// every way a checkpoint can fail to be one the key signed.
@Suite struct AuditCheckpointTests {
    /// A checkpoint as its JSON says it, with `changes` applied (a key set to nil is removed).
    private static func checkpoint(_ signed: AuditCheckpoint, _ changes: [String: JSONValue?]) throws -> AuditCheckpoint {
        guard case .object(var fields) = try JSONCoding.decode(JSONValue.self, from: JSONCoding.bytes(signed)) else {
            throw RegistryError(.internal, "a checkpoint is a JSON object")
        }
        for (key, value) in changes { fields[key] = value }
        return try JSONCoding.decode(AuditCheckpoint.self, from: JSONCoding.bytes(JSONValue.object(fields)))
    }

    @Test func aCheckpointSignsItsKeyIDAndEveryFieldIsChecked() async throws {
        try await withTemporaryRegistry { registry in
            try await AuditTests.populate(registry)
            let keys = CheckpointKeys.generate()
            let signed = try registry.checkpoint(privateKey: keys.privateKey, origin: "team-a")
            #expect(signed.version == 2)
            #expect(signed.note == "mreg audit checkpoint v2\norigin: team-a\nsize: 8\nhead: \(signed.head)\nat: \(signed.at)\nkey_id: \(signed.keyID)\n")
            #expect(try registry.verifyAudit(checkpoint: signed, publicKey: keys.publicKey).ok)

            let other = CheckpointKeys.generate()
            let otherID = try Self.checkpoint(registry.checkpoint(privateKey: other.privateKey, origin: "team-a"), [:]).keyID
            let refusals: [(String, AuditCheckpoint, String)] = [
                ("a zeroed key id", try Self.checkpoint(signed, ["key_id": .string(String(repeating: "0", count: 64))]), "names key"),
                ("another key's id", try Self.checkpoint(signed, ["key_id": .string(otherID)]), "names key"),
                ("another origin", try Self.checkpoint(signed, ["origin": .string("team-b")]), "signature"),
                ("a smaller size", try Self.checkpoint(signed, ["size": .number(7)]), "signature"),
                ("the version-1 form of a version-2 note", try Self.checkpoint(signed, ["version": nil]), "signature"),
                ("an unknown version", try Self.checkpoint(signed, ["version": .number(9)]), "version 9"),
            ]
            for (what, checkpoint, words) in refusals {
                let verification = try registry.verifyAudit(checkpoint: checkpoint, publicKey: keys.publicKey)
                #expect(!verification.ok, "\(what)")
                #expect(verification.entries == 8, "the chain itself still verifies: \(what)")
                #expect(verification.firstBadSeq == nil, "\(what)")
                #expect(verification.problem?.contains(words) == true, "\(what): \(verification)")
            }
            #expect(!(try registry.verifyAudit(checkpoint: signed, publicKey: other.publicKey)).ok, "another public key")
        }
    }

    /// Checkpoints signed before #19 (note version 1, no `version` field, key id unsigned)
    /// still verify, and their key id is still checked.
    @Test func aVersion1CheckpointStillVerifies() async throws {
        try await withTemporaryRegistry { registry in
            try await AuditTests.populate(registry)
            let keys = CheckpointKeys.generate()
            let current = try registry.checkpoint(privateKey: keys.privateKey, origin: "mreg")
            let unsigned = try Self.checkpoint(current, ["version": nil])
            let note = try #require(unsigned.note)
            #expect(note == "mreg audit checkpoint v1\norigin: mreg\nsize: 8\nhead: \(current.head)\nat: \(current.at)\n")
            let signature = try CheckpointKeys.privateKey(keys.privateKey).signature(for: Data(note.utf8)).base64EncodedString()
            let old = try Self.checkpoint(unsigned, ["signature": .string(signature)])
            #expect(try registry.verifyAudit(checkpoint: old, publicKey: keys.publicKey).ok)
            let zeroed = try Self.checkpoint(old, ["key_id": .string(String(repeating: "0", count: 64))])
            #expect(try registry.verifyAudit(checkpoint: zeroed, publicKey: keys.publicKey).problem?.contains("names key") == true)
        }
    }

    @Test(arguments: ["", "two\nlines", "a\rb", "tab\there", "bidi\u{202E}", String(repeating: "o", count: 257)])
    func anOriginThatIsNotOnePrintableLineIsRefused(origin: String) async throws {
        try await withTemporaryRegistry { registry in
            let keys = CheckpointKeys.generate()
            #expect(throws: RegistryError.self) { try registry.checkpoint(privateKey: keys.privateKey, origin: origin) }
        }
        try AuditCheckpoint.validate(origin: "team a — räksmörgås ✓")
    }
}
