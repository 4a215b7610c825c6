public import EMPScheduling
public import Foundation
import Synchronization

/// The pods each pool's autoscaler currently sees Pending for want of an EVM, for the console.
public final class PendingBoard: Sendable {
    private let pending = Mutex<[String: [String]]>([:])

    public init() {}

    /// The autoscaler's latest view of `pool`: `namespace/name` of each pod waiting for an EVM.
    public func set(pool: String, pods: [String]) { pending.withLock { $0[pool] = pods } }
    public func pods(pool: String) -> [String] { pending.withLock { $0[pool] ?? [] } }
}

/// The rebalancer's latest plan and when it was made: the pool dashboard shows it instead of planning again (a plan
/// of a thousand hosts takes about a second).
public final class PlanBoard: Sendable {
    private let latest = Mutex<(plan: RebalancePlan, at: Date)?>(nil)

    public init() {}

    public func publish(_ plan: RebalancePlan, at time: Date) { latest.withLock { $0 = (plan, time) } }
    public var plan: (plan: RebalancePlan, at: Date)? { latest.withLock { $0 } }
}
