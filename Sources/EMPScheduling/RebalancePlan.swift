public import EMPModel

/// The rebalancer's knobs; every default is the design's.
public struct RebalanceSettings: Sendable, Hashable, Codable {
    /// Goal 3 stops when the standard deviation of hosts' normalized used memory and CPU is at or under this.
    public var balanceThreshold: Double = 0.1
    /// A balancing move must improve σ(memory) + σ(CPU) by more than this × (bytes moved / the pool's memory).
    public var balanceCostWeight: Double = 1.0
    /// Consolidation fills hosts only up to (watermark − this), so noise does not turn them hot at once.
    public var consolidationMargin: Double = 0.1
    /// Migration bandwidth the time estimates assume, bytes per second. Default 1 GiB/s (10 GbE, with room).
    public var bandwidthBytesPerSecond: Double = 1_073_741_824
    /// How many migrations run at once (configured as the three `max…` keys below).
    public var limits = MigrationLimits()
    /// At most this many migrations at once per pool.
    public var maxInFlightPerPool: Int {
        get { limits.perPool }
        set { limits.perPool = newValue }
    }
    /// At most this many migrations leaving one host at once.
    public var maxOutboundPerHost: Int {
        get { limits.outboundPerHost }
        set { limits.outboundPerHost = newValue }
    }
    /// At most this many migrations arriving on one host at once.
    public var maxInboundPerHost: Int {
        get { limits.inboundPerHost }
        set { limits.inboundPerHost = newValue }
    }
    /// An EVM that moved less than this many seconds ago moves again only to leave a host that must be emptied.
    public var cooldownSeconds: Double = 900
    /// Which goals run; evacuation always does.
    public var goals: Set<RebalanceGoal> = Set(RebalanceGoal.allCases)

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case balanceThreshold, balanceCostWeight, consolidationMargin, bandwidthBytesPerSecond
        case maxInFlightPerPool, maxOutboundPerHost, maxInboundPerHost, cooldownSeconds, goals
    }

    /// Every field is optional and defaults as declared; call ``validate()`` on what was read.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RebalanceSettings()
        balanceThreshold = try c.decodeIfPresent(Double.self, forKey: .balanceThreshold) ?? d.balanceThreshold
        balanceCostWeight = try c.decodeIfPresent(Double.self, forKey: .balanceCostWeight) ?? d.balanceCostWeight
        consolidationMargin = try c.decodeIfPresent(Double.self, forKey: .consolidationMargin) ?? d.consolidationMargin
        bandwidthBytesPerSecond = try c.decodeIfPresent(Double.self, forKey: .bandwidthBytesPerSecond) ?? d.bandwidthBytesPerSecond
        maxInFlightPerPool = try c.decodeIfPresent(Int.self, forKey: .maxInFlightPerPool) ?? d.maxInFlightPerPool
        maxOutboundPerHost = try c.decodeIfPresent(Int.self, forKey: .maxOutboundPerHost) ?? d.maxOutboundPerHost
        maxInboundPerHost = try c.decodeIfPresent(Int.self, forKey: .maxInboundPerHost) ?? d.maxInboundPerHost
        cooldownSeconds = try c.decodeIfPresent(Double.self, forKey: .cooldownSeconds) ?? d.cooldownSeconds
        goals = try c.decodeIfPresent(Set<RebalanceGoal>.self, forKey: .goals) ?? d.goals
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(balanceThreshold, forKey: .balanceThreshold)
        try c.encode(balanceCostWeight, forKey: .balanceCostWeight)
        try c.encode(consolidationMargin, forKey: .consolidationMargin)
        try c.encode(bandwidthBytesPerSecond, forKey: .bandwidthBytesPerSecond)
        try c.encode(maxInFlightPerPool, forKey: .maxInFlightPerPool)
        try c.encode(maxOutboundPerHost, forKey: .maxOutboundPerHost)
        try c.encode(maxInboundPerHost, forKey: .maxInboundPerHost)
        try c.encode(cooldownSeconds, forKey: .cooldownSeconds)
        try c.encode(goals, forKey: .goals)
    }

    /// Rejects values no plan can be made with, naming the field.
    public func validate() throws {
        func require(_ ok: Bool, _ field: String, _ message: String) throws {
            if !ok { throw ValidationError(field: field, message) }
        }
        try require(balanceThreshold.isFinite && balanceThreshold >= 0, "balanceThreshold", "must be at least 0")
        try require(balanceCostWeight.isFinite && balanceCostWeight >= 0, "balanceCostWeight", "must be at least 0")
        try require(
            consolidationMargin.isFinite && consolidationMargin >= 0 && consolidationMargin < 1, "consolidationMargin", "must be in [0, 1)")
        try require(bandwidthBytesPerSecond.isFinite && bandwidthBytesPerSecond > 0, "bandwidthBytesPerSecond", "must be more than 0")
        try require(maxInFlightPerPool >= 1, "maxInFlightPerPool", "must be at least 1")
        try require(maxOutboundPerHost >= 1, "maxOutboundPerHost", "must be at least 1")
        try require(maxInboundPerHost >= 1, "maxInboundPerHost", "must be at least 1")
        try require(cooldownSeconds.isFinite && cooldownSeconds >= 0, "cooldownSeconds", "must be at least 0")
    }
}

/// The rebalancer's goals, in priority order.
public enum RebalanceGoal: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case evacuate, relieve, balance, consolidate

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What the rebalancer proposes for a snapshot: moves in the order to start them, what it could not fix, and
/// the hosts before and after.
public struct RebalancePlan: Sendable, Hashable, Codable {
    public var moves: [PlannedMove]
    public var unresolved: [Unresolved]
    public var hosts: [HostChange]
    /// Hosts the plan leaves without EVMs that held some before (they can be released).
    public var freedHosts: [String]

    public init(moves: [PlannedMove] = [], unresolved: [Unresolved] = [], hosts: [HostChange] = [], freedHosts: [String] = []) {
        self.moves = moves
        self.unresolved = unresolved
        self.hosts = hosts
        self.freedHosts = freedHosts
    }

    public var totalBytes: Int64 { moves.reduce(0) { $0.saturatingAdd($1.bytes) } }
    /// The moves that can start at once: the executor issues these and plans again when they end.
    public var startable: [PlannedMove] { moves.filter { $0.startSeconds == 0 } }
}

/// One migration in a plan.
public struct PlannedMove: Sendable, Hashable, Codable {
    public var evmID: String
    public var from: String
    public var to: String
    public var reason: MigrationReason
    /// Estimated bytes on the wire: RSS, plus the pages re-sent while the guest dirties memory.
    public var bytes: Int64
    /// When it can start (seconds from now) under the concurrency limits, and how long it should take.
    public var startSeconds: Double
    public var durationSeconds: Double
    /// Switch to post-copy after the first pass: only pre-copy would miss the host's deadline.
    public var postCopy: Bool
    /// Why this move, in words.
    public var explanation: String

    public var endSeconds: Double { startSeconds + durationSeconds }
}

/// Something the plan could not achieve, and why.
public struct Unresolved: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable {
        /// An EVM that cannot leave its host before the host's deadline (the executor drains its Node instead).
        case deadline
        /// An EVM that must leave its host but fits on no other.
        case noTarget
        /// A host left above its watermark.
        case hot
        /// Balance left above the threshold.
        case imbalance
    }

    public var kind: Kind
    public var hostID: String
    public var evmID: String?
    public var message: String
}

/// One host's load before and after the plan.
public struct HostChange: Sendable, Hashable, Codable {
    public var id: String
    public var usedBefore: Resources
    public var usedAfter: Resources
    public var allocatedBefore: Resources
    public var allocatedAfter: Resources
    public var capacity: Resources
    public var evmsBefore: Int
    public var evmsAfter: Int
}
