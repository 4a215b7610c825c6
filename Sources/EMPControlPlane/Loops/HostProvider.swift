public import EMPModel
public import EMPStore
public import Foundation

/// Where more bare-metal hosts come from when a pool's hosts lack room for the EVMs it needs. The autoscaler
/// asks only while the pool has fewer hosts than its `maxHosts`; cloud providers (which would order machines that
/// join with a token) come later.
public protocol HostProvider: Sendable {
    /// Asks for `count` more hosts for `pool`; returns how many were requested (0 when none can be).
    func request(_ count: Int, for pool: Pool, store: any StateStore, at time: Date) async throws -> Int
}

/// The provider for a fixed fleet: it cannot order machines, so it tells the operator — a `HostsRequested` event on
/// the pool saying how many hosts to join — once per shortage size, not at every pass.
public final class StaticHostProvider: HostProvider {
    public init() {}

    public func request(_ count: Int, for pool: Pool, store: any StateStore, at time: Date) async throws -> Int {
        try await store.write { tx in
            let hosts = try tx.hosts(pool: pool.id).count
            let wanted = min(count, max(0, pool.policy.maxHosts - hosts))
            guard wanted > 0 else { return 0 }
            let message =
                "\(wanted) more hosts wanted (\(hosts) of at most \(pool.policy.maxHosts)); join them with `empctl host token \(pool.id)`"
            try tx.appendOnce(
                Event(time: time, object: ObjectRef(.pool, pool.id), reason: "HostsRequested", message: message, type: .warning))
            return wanted
        }
    }
}

extension StoreWriting {
    /// Appends `event` unless its object's last event of the same reason said the same within five minutes, so a
    /// condition that lasts (hosts wanted, a pool at its maximum) is one event, not one per pass.
    func appendOnce(_ event: Event) throws {
        let recent = try events(EventFilter(object: event.object, limit: 100_000)).last { $0.reason == event.reason }
        if recent?.message == event.message, let last = recent?.time, event.time.timeIntervalSince(last) < 300 { return }
        try append(event)
    }
}
