public import EMPModel

/// The autoscaler's decisions in time, pure, so the service (`Autoscaler`) and the what-if simulator
/// (`empctl simulate`) decide with the same code: when a batch of pending pods is decided, which empty EVMs go and
/// when, how many EVMs a floor lacks. Times are readings of a monotonic clock (the service's ``Duration`` uptime,
/// the simulator's simulated time).
///
/// ```swift
/// if timers.observe(pending: pendingUIDs, at: uptime) { scaleUp(); timers.decided() }
/// for id in timers.removals(empty: empty, pool: ids, live: live, minimum: floor.minEVMs, headroom: nil, free: free, at: uptime) { remove(id) }
/// ```
public struct ScalingTimers: Sendable {
    /// Decide once no new pending pod appeared for this long.
    public var idleWindow: Duration
    /// Decide at the latest this long after the first pending pod.
    public var maxWindow: Duration
    /// Remove an EVM whose node has been empty this long.
    public var emptyAfter: Duration

    /// The pending pods last observed.
    public private(set) var pending: Set<String> = []
    /// When the batch's first pod was seen, and when the set last changed.
    public private(set) var firstSeen: Duration?
    public private(set) var lastChange: Duration?
    /// When each EVM's node was first seen empty.
    public private(set) var emptySince: [String: Duration] = [:]

    public init(idleWindow: Duration, maxWindow: Duration, emptyAfter: Duration) {
        self.idleWindow = idleWindow
        self.maxWindow = maxWindow
        self.emptyAfter = emptyAfter
    }

    /// An empty EVM a scale-down may remove: its id and the room its node offers pods.
    public struct EmptyEVM: Sendable, Hashable {
        public var id: String
        public var free: Resources

        public init(id: String, free: Resources) {
            self.id = id
            self.free = free
        }
    }

    /// Records the pending pods seen at `uptime`; true when the batch is due: no new pod for ``idleWindow``, or
    /// ``maxWindow`` since its first pod. Call ``decided()`` once the batch is decided.
    public mutating func observe(pending now: Set<String>, at uptime: Duration) -> Bool {
        if now.isEmpty {
            firstSeen = nil
        } else {
            if firstSeen == nil { firstSeen = uptime }
            if now != pending { lastChange = uptime }
        }
        pending = now
        guard let first = firstSeen, let last = lastChange else { return false }
        return uptime - last >= idleWindow || uptime - first >= maxWindow
    }

    /// The batch was decided: the next pending pod starts a new one, and pods still pending after it (a scale-up
    /// short of hosts) are a new batch, decided again once the idle window passes (EVMs still booting count as
    /// room for them, so nothing is made twice). Without this a batch left pending waited for some other pod to
    /// come or go, even after the hosts it lacked arrived (found with the simulator).
    public mutating func decided() {
        firstSeen = nil
        lastChange = nil
        pending = []
    }

    /// The EVMs of `empty` (newest first) to remove at `uptime`: empty for ``emptyAfter``, while more than
    /// `minimum` EVMs in use remain (`live` now), and only while the room left without each still covers
    /// `headroom` (`free`: the pool's free room now). Starts the timer of every newly empty EVM and stops it for
    /// EVMs of `pool` that are no longer empty.
    public mutating func removals(
        empty: [EmptyEVM], pool: Set<String>, live: Int, minimum: Int, headroom: Resources?, free: Resources, at uptime: Duration
    ) -> [String] {
        let emptyIDs = Set(empty.map(\.id))
        for id in emptySince.keys where !emptyIDs.contains(id) && pool.contains(id) { emptySince[id] = nil }
        var live = live
        var free = free
        var removed: [String] = []
        for evm in empty {
            let since = emptySince[evm.id] ?? uptime
            emptySince[evm.id] = since
            guard uptime - since >= emptyAfter, live > minimum else { continue }
            // Headroom: keep the EVM when the free room without it would not cover the pool's headroom.
            if let headroom, !headroom.fits(in: free - evm.free) { continue }
            free -= evm.free
            emptySince[evm.id] = nil
            removed.append(evm.id)
            live -= 1
        }
        return removed
    }

    /// The next reading after `uptime` at which a decision may change with no new input: every moment while a
    /// batch forms, an empty EVM's removal.
    public func nextDue(after uptime: Duration) -> Duration? {
        var due: [Duration] = firstSeen == nil ? [] : [uptime]
        due += emptySince.values.map { $0 + emptyAfter }.filter { $0 > uptime }
        return due.min()
    }

    /// EVMs a floor of `minimum` EVMs in use lacks, within the pool's `maxEVMs` (`live` counts warm ones too).
    public static func floorMissing(inUse: Int, live: Int, minimum: Int, maxEVMs: Int) -> Int {
        min(max(0, maxEVMs - live), max(0, minimum - inUse))
    }

    /// What keeping a pool's floor asks for now.
    public enum FloorAction: Sendable, Hashable {
        case none
        /// EVMs in use to create (the minimum first: warm ones wait until it is met).
        case create(Int)
        /// Warm EVMs to create.
        case refillWarm(Int)
        /// Warm EVMs to retire (a schedule ended, the count was lowered): not yet joined first, then the newest.
        case retireWarm(Int)
    }

    /// The floor's decision, the service's and the simulator's: EVMs in use up to `minEVMs`; else warm EVMs
    /// refilled to, or retired down to, `warmWanted`; always within `maxEVMs` (`live` counts every EVM).
    public static func floorAction(inUse: Int, warm: Int, live: Int, minEVMs: Int, warmWanted: Int, maxEVMs: Int) -> FloorAction {
        let missing = floorMissing(inUse: inUse, live: live, minimum: minEVMs, maxEVMs: maxEVMs)
        if missing > 0 { return .create(missing) }
        if warm < warmWanted {
            let count = min(max(0, maxEVMs - live), warmWanted - warm)
            return count > 0 ? .refillWarm(count) : .none
        }
        return warm > warmWanted ? .retireWarm(warm - warmWanted) : .none
    }
}
