public import EMPModel
import Foundation
import NIOConcurrencyHelpers

/// Wakes long polls when a revision scope changes, so agents learn of new desired state at once instead of
/// by polling the database. In-process: correct for one control plane per store; a shared store (PostgreSQL,
/// several control planes) adds its own notification on top.
///
/// - Note: Thread-safe. A waiter passes the generation it saw *before* reading the revision, so a change
///   committed between that read and the wait is never missed.
public final class RevisionNotifier: Sendable {
    private struct State {
        var generations: [String: UInt64] = [:]
        var waiters: [String: [UUID: CheckedContinuation<Void, Never>]] = [:]
        /// Waits cancelled before their continuation was registered: they must not register and sleep forever.
        var cancelledEarly: Set<UUID> = []
        /// Set by ``endAll(prefix:)``: every wait on a scope with one of these prefixes returns at once from then on.
        var ended: [String] = []
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// The scope's current generation; take it before reading the revision.
    public func generation(_ scope: String) -> UInt64 {
        state.withLockedValue { $0.generations[scope, default: 0] }
    }

    /// How many waits are registered now (tests use it to know a long poll is waiting).
    public var waiterCount: Int { state.withLockedValue { $0.waiters.values.reduce(0) { $0 + $1.count } } }

    /// True once ``endAll(prefix:)`` was called for a prefix of `scope`.
    public func isEnded(_ scope: String) -> Bool { state.withLockedValue { $0.ended.contains { scope.hasPrefix($0) } } }

    /// Wakes every waiter on a scope starting with `prefix` and makes later waits there return at once (shutdown:
    /// the agents' long polls end, while the control plane's own loops keep their pace until they are stopped).
    public func endAll(prefix: String) {
        let waiting = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.ended.append(prefix)
            var woken: [CheckedContinuation<Void, Never>] = []
            for scope in state.waiters.keys where scope.hasPrefix(prefix) {
                woken += state.waiters.removeValue(forKey: scope)?.values.map { $0 } ?? []
            }
            return woken
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Called after a commit that changed `scope`.
    public func notify(_ scope: String) {
        let waiting = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            state.generations[scope, default: 0] &+= 1
            return Array((state.waiters.removeValue(forKey: scope) ?? [:]).values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Wakes every waiter on every scope, to read its revision again (a shared store's notification channel was
    /// lost for a while: changes in that time may have gone unannounced).
    public func notifyAll() {
        let waiting = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
            for scope in Set(state.generations.keys).union(state.waiters.keys) { state.generations[scope, default: 0] &+= 1 }
            defer { state.waiters = [:] }
            return state.waiters.values.flatMap(\.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Returns when `scope` moves past `generation`, after `timeout`, or on cancellation, whichever is first.
    public func wait(_ scope: String, since generation: UInt64, timeout: Duration, clock: any EMPClock = SystemClock()) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        let resumeNow = self.state.withLockedValue { state -> Bool in
                            if state.cancelledEarly.remove(id) != nil || state.ended.contains(where: { scope.hasPrefix($0) }) {
                                return true
                            }
                            if state.generations[scope, default: 0] != generation { return true }
                            state.waiters[scope, default: [:]][id] = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.cancel(scope, id)
                }
            }
            group.addTask { try? await clock.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        state.withLockedValue { _ = $0.cancelledEarly.remove(id) }
    }

    /// Resumes the waiter, or, when cancellation won the race with its registration, marks it so it never waits.
    private func cancel(_ scope: String, _ id: UUID) {
        let continuation = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let continuation = state.waiters[scope]?.removeValue(forKey: id) { return continuation }
            state.cancelledEarly.insert(id)
            return nil
        }
        continuation?.resume()
    }
}
