public import EMPModel
public import EMPStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// This replica's role among the replicas sharing a PostgreSQL store, as the election last found it: what the
/// leader-only loops wait on, what `/readyz` and `/leaderz` report, and where a follower sends writers.
public final class Leadership: Sendable {
    /// A replica's role. Two leaderships are the same when holder and token are (a renewal changes neither).
    public enum Role: Sendable, Equatable {
        case leader(Lease)
        /// Following the replica at this address (nil: none leads, or it advertised none).
        case follower(leader: String?)

        public static func == (left: Role, right: Role) -> Bool {
            switch (left, right) {
            case (.leader(let a), .leader(let b)): a.holder == b.holder && a.token == b.token
            case (.follower(let a), .follower(let b)): a == b
            default: false
            }
        }
    }

    private struct State {
        var role: Role = .follower(leader: nil)
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    /// This replica's id and advertised address.
    public let replicaID: String
    public let address: String

    public init(replicaID: String, address: String) {
        self.replicaID = replicaID
        self.address = address
    }

    public var role: Role { state.withLock { $0.role } }

    /// Tasks waiting for a change of role (tests use it to know a leader-only loop is parked).
    var waiterCount: Int { state.withLock { $0.waiters.count } }

    public var isLeader: Bool {
        if case .leader = role { true } else { false }
    }

    /// The leader's address as far as this replica knows (its own when it leads).
    public var leaderAddress: String? {
        switch role {
        case .leader: address
        case .follower(let leader): leader
        }
    }

    /// Records `role` and wakes everyone waiting for a change when it is one.
    func set(_ role: Role) {
        if case .leader = role { Gauge(label: "emp_leader").record(1) } else { Gauge(label: "emp_leader").record(0) }
        let woken = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            let changed = state.role != role
            state.role = role
            guard changed else { return [] }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in woken { waiter.resume() }
    }

    /// Returns once the role differs from `role` (or the task is cancelled).
    func waitForChange(from role: Role) async {
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state -> Bool in
                    if state.role != role || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Keeps this replica's claim on the lease: renews it every `renewEvery` while leading, takes it over once the
/// leader's has expired, and steps down when a renewal fails for longer than the lease lasts (or another replica
/// holds it). Each change of role is logged, counted, and recorded as an event.
public struct LeaderElection: Service {
    let store: PostgresStore
    let leadership: Leadership
    let ttl: Duration
    let renewEvery: Duration
    let clock: any EMPClock
    let logger: Logger

    public init(
        store: PostgresStore, leadership: Leadership, ttl: Duration = .seconds(10), renewEvery: Duration = .seconds(2),
        clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.store = store
        self.leadership = leadership
        self.ttl = ttl
        self.renewEvery = renewEvery
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        store.fence(nil)
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await step()
                try await clock.sleep(for: renewEvery)
            }
        }
        if case .leader(let lease) = leadership.role {
            // A clean stop hands over at once instead of after the lease's expiry.
            store.fence(nil)
            leadership.set(.follower(leader: nil))
            try? await store.releaseLease(lease)
            logger.info("leadership released", metadata: ["replica": "\(leadership.replicaID)"])
        }
    }

    /// One round: claim or renew, then record the role.
    func step() async {
        let now = clock.date
        do {
            if let lease = try await store.acquireLease(holder: leadership.replicaID, address: leadership.address, ttl: ttl, now: now) {
                if case .leader(let held) = leadership.role, held.token == lease.token {
                    store.fence(lease)
                    leadership.set(.leader(lease))
                    return
                }
                // A new leadership (or a new token after losing it): fence first, then pick up where the last leader
                // left off: heartbeats read again so no host looks silent because this replica saw no reports.
                store.fence(lease)
                try await store.reseedSoftState()
                leadership.set(.leader(lease))
                Counter(label: "emp_leader_transitions_total", dimensions: [("to", "leader")]).increment()
                logger.notice("leading the control plane", metadata: ["replica": "\(leadership.replicaID)", "token": "\(lease.token)"])
                _ = try? await store.write { tx in
                    try tx.append(
                        Event(
                            time: now, object: ObjectRef(.controlPlane, leadership.replicaID), reason: "LeaderElected",
                            message: "replica \(leadership.replicaID) leads (fencing token \(lease.token))"))
                }
            } else {
                let holder = try await store.leader()
                follow(holder?.address, reason: "replica \(holder?.holder ?? "?") holds the lease")
            }
        } catch {
            // The database is unreachable: a leader keeps leading until its lease would have expired anyway,
            // since nobody else can take it over sooner.
            if case .leader(let lease) = leadership.role, clock.date < lease.expiresAt {
                logger.warning("renewing the lease failed; still leading until it expires", metadata: ["error": "\(error)"])
                return
            }
            follow(nil, reason: "the store is unreachable: \(error)")
        }
    }

    private func follow(_ leader: String?, reason: String) {
        let wasLeader = leadership.isLeader
        store.fence(nil)
        leadership.set(.follower(leader: leader.flatMap { $0.isEmpty ? nil : $0 }))
        if wasLeader {
            Counter(label: "emp_leader_transitions_total", dimensions: [("to", "follower")]).increment()
            logger.warning("stepped down", metadata: ["replica": "\(leadership.replicaID)", "reason": "\(reason)"])
        }
    }
}

/// Runs `service` only while this replica leads: starts it on becoming leader, cancels it on stepping down, and
/// starts it again on the next leadership. The autoscaler, rebalancer, host health, host providers, cost sampler
/// and soft-state flusher run this way, so two replicas never act on the fleet at once.
public struct LeaderOnly: Service {
    let service: any Service
    let leadership: Leadership

    public init(_ service: any Service, leadership: Leadership) {
        self.service = service
        self.leadership = leadership
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let role = leadership.role
            guard case .leader = role else {
                await cancelWhenGracefulShutdown { await leadership.waitForChange(from: role) }
                continue
            }
            // The loop handles a graceful shutdown itself (a final flush, say) and then returns; a step-down cancels it.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await service.run() }
                group.addTask { await leadership.waitForChange(from: role) }
                _ = await group.next()
                group.cancelAll()
            }
        }
    }
}
