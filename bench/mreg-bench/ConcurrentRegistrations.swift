import Dispatch
import RegistryCore

/// Registrations from many callers at once, as `mreg serve` runs them: registrations that queue
/// up behind each other share a commit, and each call returns only once its registration is
/// committed. No HTTP: the figure is the
/// registry's own write rate under concurrency, against which the server's can be read.
struct ConcurrentRegistrations {
    let clients: Int
    let count: Int

    /// The figure (latency of each call, from its start to its commit) and the mean number of
    /// registrations per commit.
    func run(_ registry: Registry, model: String, random: inout SplitMix64) async throws -> (figure: OperationFigure, meanGroup: Double) {
        // No parents: with callers racing, the version a request gets is not known in advance.
        let requests = (0..<count).map { index in
            var request = Workload.registerRequest(model: model, version: index + 1, random: &random)
            request.parent = nil
            return request
        }
        let (clients, count) = (self.clients, self.count)
        let before = registry.writeTotals
        let clock = ContinuousClock()
        let start = clock.now
        let samples = try await withThrowingTaskGroup(of: [Duration].self) { group in
                for client in 0..<clients {
                    group.addTask {
                        var samples: [Duration] = []
                        for index in stride(from: client, to: count, by: clients) {
                            let callStart = clock.now
                            _ = try await registry.register(model: model, requests[index], by: Workload.engineer)
                            samples.append(callStart.duration(to: clock.now))
                        }
                        return samples
                    }
                }
                var all: [Duration] = []
                for try await samples in group { all += samples }
                return all
        }
        let figure = OperationFigure(samples: samples, total: start.duration(to: clock.now))
        let newest = try registry.versions(model: model, limit: 1).items.first?.version
        try check(newest == count, "\(count) concurrent registrations left version \(newest ?? 0) as the newest")
        let after = registry.writeTotals
        let meanGroup = Double(after.writes - before.writes) / Double(max(1, after.commits - before.commits))
        return (figure, meanGroup)
    }
}

