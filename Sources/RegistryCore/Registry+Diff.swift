import SQLite

extension Registry {
    /// Compares two versions, each named by number, branch or `branch@TIME`.
    /// - Throws: `NOT_FOUND` when either side does not resolve to a version.
    public func diff(model name: String, from fromRef: VersionRef, to toRef: VersionRef) throws(RegistryError) -> VersionDiff {
        try read { connection in
            let model = try connection.modelRow(named: name)
            let old = try connection.version(model, try connection.resolve(model, fromRef))
            let new = try connection.version(model, try connection.resolve(model, toRef))
            let oldReports = try connection.reports(model, old.version, newestPerSuiteOnly: true)
            let newReports = try connection.reports(model, new.version, newestPerSuiteOnly: true)
            var suites: [String: VersionDiff.SuiteChange] = [:]
            for suite in Set(oldReports.map(\.suite)).union(newReports.map(\.suite)) {
                let before = oldReports.first { $0.suite == suite }
                let after = newReports.first { $0.suite == suite }
                suites[suite] = VersionDiff.SuiteChange(
                    from: before?.status, to: after?.status, statusChanged: before?.status != after?.status,
                    metrics: VersionDiff.MetricDelta.compare(before?.metrics ?? [:], after?.metrics ?? [:]))
            }
            let policy = try connection.currentPolicy(model)
            let oldScore = try policy.flatMap { try PromotionGates.score(connection, model: model, version: old, policy: $0) }
            let newScore = try policy.flatMap { try PromotionGates.score(connection, model: model, version: new, policy: $0) }
            return VersionDiff(
                model: name, from: old, to: new,
                artifact: VersionDiff.Artifact(
                    changed: old.artifactURI != new.artifactURI || old.digest != new.digest, fromURI: old.artifactURI,
                    toURI: new.artifactURI, fromDigest: old.digest, toDigest: new.digest),
                params: VersionDiff.MapChanges(from: old.params, to: new.params),
                metrics: VersionDiff.MetricDelta.compare(old.metrics, new.metrics),
                tags: VersionDiff.MapChanges(from: old.tags, to: new.tags),
                reports: suites,
                score: VersionDiff.Score(from: oldScore, to: newScore, delta: oldScore.flatMap { o in newScore.map { $0 - o } }),
                descends: try connection.descends(model, new.version, from: old.version))
        }
    }
}

extension Connection {
    /// Whether `descendant` reaches `ancestor` by following `parent` links.
    func descends(_ model: ModelRow, _ descendant: Int, from ancestor: Int) throws -> Bool {
        var current: Int? = descendant
        var steps = 0
        // Parents always have lower numbers, so the walk ends; the bound is a guard all the same.
        while let number = current, number > ancestor, steps < 1_000_000 {
            current = try queryFirst(
                "SELECT parent FROM versions WHERE model_id = ? AND version = ?", [model.id, number]
            )?.optionalInt(0)
            if current == ancestor { return true }
            steps += 1
        }
        return false
    }
}
