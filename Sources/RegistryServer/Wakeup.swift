import Synchronization

/// A nap another task can cut short: a background service sleeps in `nap(for:)` and wakes
/// at the end of it, when `poke()` is called (from any thread), or when its task is cancelled.
/// A poke that comes while the service is awake is kept for its next nap, so none is lost.
final class Wakeup: Sendable {
    private let state = Mutex<(poked: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func poke() {
        let waiting = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.poked = true
            defer { state.continuation = nil }
            return state.continuation
        }
        waiting?.resume()
    }

    /// Waits `duration`, or until `poke()`, or until the task is cancelled.
    func nap(for duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                if (try? await Task.sleep(for: duration)) != nil { poke() }
            }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let now = state.withLock { state -> Bool in
                        guard !state.poked else { return true }
                        state.continuation = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            } onCancel: { [self] in
                poke()
            }
            state.withLock { $0.poked = false }
            group.cancelAll()
        }
    }
}
