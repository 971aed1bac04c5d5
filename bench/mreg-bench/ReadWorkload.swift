import RegistryCore

/// The read paths measured both in-process and at scale, on models whose versions 1 … n were
/// all registered and promoted to release and master (so every branch holds version n).
struct ReadWorkload {
    struct Sizes {
        var resolves: Int
        var historyAts: Int
        var diffs: Int
        var farDiffs: Int
        var listings: Int
    }

    let registry: Registry
    let names: [String]
    let versionsPerModel: Int
    /// The times the history spans (milliseconds since the epoch).
    let window: ClosedRange<Int64>
    let sizes: Sizes

    /// Page size of the listings: mreg's default, or less on tiny models so a deep page exists.
    var pageSize: Int { min(50, versionsPerModel / 4) }

    func run(into table: inout FigureTable, random: inout SplitMix64) async throws {
        let perModel = versionsPerModel
        table.add("resolve", try await Self.resolve(registry, names: names, count: sizes.resolves, random: &random, underRollout: false))

        let times = (0..<sizes.historyAts).map { _ in
            (model: names.randomElement(using: &random)!, at: Timestamp(millisecondsSinceEpoch: Int64.random(in: window, using: &random)))
        }
        let last = try registry.branches(model: names[0], at: Timestamp(millisecondsSinceEpoch: window.upperBound))
        try check(last.branches == BranchHeads(develop: perModel, release: perModel, master: perModel), "history --at the end is \(last.branches)")
        table.add("history_at", try await measure(times.count) { index in
            _ = try registry.branches(model: times[index].model, at: times[index].at)
        })

        // Diff of a version against its parent, the usual review before a promotion.
        let pairs = (0..<sizes.diffs).map { _ in (model: names.randomElement(using: &random)!, version: Int.random(in: 2...perModel, using: &random)) }
        table.add("diff", try await measure(pairs.count) { index in
            let diff = try registry.diff(model: pairs[index].model, from: .number(pairs[index].version - 1), to: .number(pairs[index].version))
            try check(diff.descends, "version \(pairs[index].version) does not descend from its parent")
        })
        // Diff of the first version against master: the lineage check walks every version between.
        let farModels = (0..<sizes.farDiffs).map { _ in names.randomElement(using: &random)! }
        table.add("diff_far", try await measure(farModels.count) { index in
            let diff = try registry.diff(model: farModels[index], from: .number(1), to: .branch(.master))
            try check(diff.descends && diff.to.version == perModel, "master does not descend from version 1")
        })

        let firstPage = try registry.versions(model: names[0], limit: pageSize)
        try check(
            firstPage.nextCursor == Workload.versionsCursor(before: perModel - pageSize + 1),
            "the versions cursor format changed: got \(firstPage.nextCursor ?? "none")")
        // The listings are timed as the server answers them: the page's JSON written straight
        // from the rows (`versionsJSON`). Checked once against the decoded page first.
        let deepCursor = Workload.versionsCursor(before: pageSize + 1)
        for cursor in [nil, deepCursor] {
            let page = try registry.versions(model: names[0], limit: pageSize, cursor: cursor)
            let json = String(decoding: try registry.versionsJSON(model: names[0], limit: pageSize, cursor: cursor), as: UTF8.self)
            try check(
                page.items.count == pageSize && page.items.allSatisfy { json.contains(#""artifact_uri":"\#($0.artifactURI)""#) }
                    && json.contains(#""version":\#(page.items[0].version)}"#)
                    && json.contains(#""version":\#(page.items[pageSize - 1].version)}"#),
                "the listing's JSON does not hold the page")
        }
        let listed = (0..<sizes.listings).map { _ in names.randomElement(using: &random)! }
        let newest = #""version":\#(perModel)}"#.utf8.count
        table.add("versions_first_page", try await measure(listed.count) { index in
            let json = try registry.versionsJSON(model: listed[index], limit: pageSize)
            try check(json.count > pageSize * newest, "the first page is wrong")
        })
        // The last page: the keyset cursor should make it cost what the first one costs.
        table.add("versions_deep_page", try await measure(listed.count) { index in
            let json = try registry.versionsJSON(model: listed[index], limit: pageSize, cursor: deepCursor)
            try check(json.count > pageSize * newest, "the deep page is wrong")
        })
    }

    /// `resolve` of random request keys on random models; `underRollout` checks every answer
    /// comes from a rollout.
    static func resolve(
        _ registry: Registry, names: [String], count: Int, random: inout SplitMix64, underRollout: Bool
    ) async throws -> OperationFigure {
        let picks = (0..<count).map { _ in
            (model: names.randomElement(using: &random)!, key: Workload.requestKeys.randomElement(using: &random)!)
        }
        return try await measure(picks.count) { index in
            let resolution = try registry.resolve(model: picks[index].model, key: picks[index].key)
            try check((resolution.rolloutID != nil) == underRollout, "resolve answered rollout \(resolution.rolloutID.map(String.init) ?? "none")")
        }
    }
}
