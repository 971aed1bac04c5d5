import Synchronization
import Foundation
import SQLite

extension Registry {
    /// Audit entries matching `query`, newest first.
    public func auditLog(_ query: AuditQuery) throws(RegistryError) -> Page<AuditEntry> {
        try validate(limit: query.limit)
        let before = try query.cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        return try read { connection in
            var items = try AuditIndex.entries(query, before: before, count: query.limit + 1, on: connection)
            let more = items.count > query.limit
            if more { items.removeLast() }
            return Page(items: items, nextCursor: more ? items.last.map { Cursor.encode(Int64($0.seq)) } : nil)
        }
    }

    /// Recomputes the whole hash chain and names the first entry that does not verify.
    /// - Parameter state: also check the tables against the log (`checkAuditState`).
    public func verifyAudit(state: Bool = false) throws(RegistryError) -> AuditVerification {
        let checked = state ? try checkAuditState() : nil
        let chain = try walkAuditChain(capturing: nil).verification
        return checked.map(chain.checking) ?? chain
    }

    /// The chain verification, and the hash of entry `seq` when the walk got there.
    struct ChainWalk {
        let verification: AuditVerification
        let capturedHash: String?
    }

    /// Verifies the chain in segments on separate reader connections, in parallel for long
    /// logs: stepping through SQLite's rows, not hashing, is what bounds a single thread. Each
    /// entry carries its `prev_hash`, so a segment can start from its first row's stored link;
    /// the links between segments are checked once all are done. The log is append-only, so
    /// segments bounded by the last `seq` seen at the start describe one state.
    /// - Parameter segments: how many parts to verify in parallel (by default one per core for
    ///   long logs, one for short ones); tests force several.
    func walkAuditChain(capturing capturedSeq: Int?, segments: Int? = nil) throws(RegistryError) -> ChainWalk {
        let last = try auditHead()
        let parts = max(1, min(last, segments ?? (last >= Self.parallelVerifyThreshold ? min(ProcessInfo.processInfo.activeProcessorCount, 4) : 1)))
        let bounds = (0...parts).map { 1 + last * $0 / parts }
        let results = Mutex<[Int: Result<ChainSegment, RegistryError>]>([:])
        DispatchQueue.concurrentPerform(iterations: parts) { index in
            let outcome: Result<ChainSegment, RegistryError>
            do throws(RegistryError) {
                outcome = .success(try verifySegment(bounds[index]..<bounds[index + 1], first: index == 0, capturing: capturedSeq))
            } catch {
                outcome = .failure(error)
            }
            results.withLock { $0[index] = outcome }
        }
        var verified: [ChainSegment] = []
        for index in 0..<parts {
            guard let result = results.withLock({ $0[index] }) else { throw RegistryError(.internal, "an audit segment was not verified") }
            verified.append(try result.get())
        }
        var head = AuditChain.genesis
        var captured: String? = capturedSeq == 0 ? AuditChain.hex(head) : nil
        for segment in verified {
            if let bad = segment.failure, bad.seq == segment.range.lowerBound {
                return ChainWalk(verification: failure(at: bad.seq, bad.problem, head: head), capturedHash: captured)
            }
            if let link = segment.firstPrevious, link != head {
                return ChainWalk(
                    verification: failure(at: segment.range.lowerBound, "its prev_hash does not match the hash of entry \(segment.range.lowerBound - 1)", head: head),
                    capturedHash: captured)
            }
            captured = captured ?? segment.captured
            if let bad = segment.failure {
                return ChainWalk(verification: failure(at: bad.seq, bad.problem, head: bad.headBefore), capturedHash: captured)
            }
            head = segment.lastHash ?? head
        }
        return ChainWalk(
            verification: AuditVerification(ok: true, entries: last, head: AuditChain.hex(head), firstBadSeq: nil, problem: nil),
            capturedHash: captured)
    }

    /// Logs shorter than this are verified on one thread.
    static let parallelVerifyThreshold = 100_000

    private func failure(at seq: Int, _ problem: String, head: [UInt8]) -> AuditVerification {
        AuditVerification(
            ok: false, entries: seq - 1, head: AuditChain.hex(head), firstBadSeq: seq, problem: "entry \(seq) does not verify: \(problem)")
    }

    /// What one segment of the chain showed.
    struct ChainSegment: Sendable {
        let range: Range<Int>
        /// The stored `prev_hash` of the segment's first row (checked against the previous
        /// segment's last hash); `nil` for the first segment, which starts from genesis.
        let firstPrevious: [UInt8]?
        let lastHash: [UInt8]?
        let captured: String?
        let failure: (seq: Int, problem: String, headBefore: [UInt8])?
    }

    private func verifySegment(_ range: Range<Int>, first: Bool, capturing capturedSeq: Int?) throws(RegistryError) -> ChainSegment {
        try read { connection in
            var expectedSeq = range.lowerBound
            var previous: [UInt8]? = first ? AuditChain.genesis : nil
            var firstPrevious: [UInt8]?
            var captured: String?
            var canonical: [UInt8] = []
            canonical.reserveCapacity(1024)
            var failure: (seq: Int, problem: String, headBefore: [UInt8])?
            try connection.forEachRow(
                "SELECT \(AuditEntry.columns) FROM audit_log WHERE seq >= ? AND seq < ? ORDER BY seq",
                [range.lowerBound, range.upperBound]
            ) { row in
                guard failure == nil else { return }
                let seq = try row.int(0)
                let linked = previous ?? row.withBytes(8) { Array($0) }
                if previous == nil { firstPrevious = linked }
                guard seq == expectedSeq else {
                    failure = (expectedSeq, "entry \(expectedSeq) is missing (the next entry is \(seq))", linked)
                    return
                }
                guard row.withBytes(8, { AuditChain.same($0, linked) }) else {
                    failure = (seq, "its prev_hash does not match the hash of entry \(seq - 1)", linked)
                    return
                }
                // The canonical bytes in the entry's form, built from the column bytes as SQLite
                // holds them.
                let form = try row.int(10)
                guard AuditChain.knownForms.contains(form) else {
                    failure = (seq, "it names canonical form \(form), which this mreg does not know", linked)
                    return
                }
                let integerTag = AuditChain.integerTag(form: form)
                canonical.removeAll(keepingCapacity: true)
                AuditChain.appendFormMark(form, into: &canonical)
                AuditChain.appendDecimal(Int64(seq), tag: integerTag, into: &canonical)
                AuditChain.appendDecimal(try row.int64(1), tag: integerTag, into: &canonical)
                for column in 2...7 {
                    if row.isNull(column) {
                        AuditChain.appendNull(into: &canonical)
                    } else if column == 5 {
                        AuditChain.appendDecimal(try row.int64(5), tag: integerTag, into: &canonical)
                    } else {
                        row.withBytes(column) { AuditChain.appendField($0, into: &canonical) }
                    }
                }
                let computed = AuditChain.hash(previous: linked, canonical: canonical)
                guard row.withBytes(9, { AuditChain.same($0, computed) }) else {
                    failure = (seq, "its contents do not match its hash (the entry was changed)", linked)
                    return
                }
                previous = computed
                if seq == capturedSeq { captured = AuditChain.hex(computed) }
                expectedSeq += 1
            }
            if failure == nil, expectedSeq < range.upperBound {
                failure = (expectedSeq, "entry \(expectedSeq) is missing", previous ?? firstPrevious ?? AuditChain.genesis)
            }
            return ChainSegment(
                range: range, firstPrevious: first ? nil : firstPrevious, lastHash: previous, captured: captured, failure: failure)
        }
    }

    /// Writes an online, consistent copy of the database to a new file.
    /// - Throws: `ALREADY_EXISTS` when `path` exists, `UNAVAILABLE` when it cannot be written.
    public func backup(to path: String) throws(RegistryError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw RegistryError(.alreadyExists, "\(path) already exists; choose a new file for the backup")
        }
        do {
            try database.backup(to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw RegistryError(.unavailable, "cannot write the backup to \(path): \((error as? SQLiteError)?.message ?? "\(error)")")
        }
    }

    /// Takes an online, consistent copy of the database into a temporary file, to be sent
    /// elsewhere (`GET /v1/backup`) and then removed.
    /// - Throws: `UNAVAILABLE` when the copy cannot be written.
    public func temporaryBackup() throws(RegistryError) -> TemporaryBackup {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mreg-backup-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw RegistryError(.unavailable, "cannot make a temporary folder for the backup: \(error.localizedDescription)")
        }
        let backup = TemporaryBackup(directory: directory)
        do {
            try self.backup(to: backup.path)
        } catch {
            backup.remove()
            throw error
        }
        return backup
    }
}

/// A consistent copy of the database in a temporary folder of its own (`Registry.temporaryBackup()`).
public struct TemporaryBackup: Sendable {
    let directory: URL
    var path: String { directory.appendingPathComponent("mreg.db").path }

    /// Read in pieces of this size while the copy is sent.
    static let pieceBytes = 1 << 20

    /// Hands the copy's bytes to `write` piece by piece, in order, then removes the copy,
    /// whether or not all of it was sent.
    public func send(_ write: ([UInt8]) async throws -> Void) async throws {
        defer { remove() }
        guard let file = FileHandle(forReadingAtPath: path) else {
            throw RegistryError(.unavailable, "the backup's temporary copy disappeared")
        }
        defer { try? file.close() }
        while let piece = try file.read(upToCount: Self.pieceBytes), !piece.isEmpty {
            try await write(Array(piece))
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

extension AuditEntry {
    static let columns = "seq, at, actor, action, model, version, branch, details, prev_hash, hash, form"

    init(row: Statement) throws {
        self.init(
            seq: try row.int(0), at: Timestamp(millisecondsSinceEpoch: try row.int64(1)), actor: try row.text(2), action: try row.text(3),
            model: try row.optionalText(4), version: try row.optionalInt(5),
            branch: try row.optionalText(6), details: try row.text(7),
            prevHash: row.withBytes(8) { AuditChain.hex($0) }, hash: row.withBytes(9) { AuditChain.hex($0) }, form: try row.int(10))
    }
}
