public import EMPModel
public import Foundation

/// The state the scheduling algorithms decide on: a pool's hosts and EVMs, resolved ahead of time so the
/// algorithms do no I/O. `GET /v1/snapshot` exports it and the `empctl whatif` commands read it.
public struct Snapshot: Sendable, Hashable, Codable {
    public var hosts: [HostSnapshot]
    public var evms: [EVMSnapshot]
    /// Migrations already under way: they hold their lanes and their EVMs do not move again.
    public var inFlight: [InFlightMigration]
    /// Pool limits the rebalancer respects (min hosts); a pool not listed has none.
    public var pools: [PoolSnapshot]

    public init(hosts: [HostSnapshot], evms: [EVMSnapshot] = [], inFlight: [InFlightMigration] = [], pools: [PoolSnapshot] = []) {
        self.hosts = hosts
        self.evms = evms
        self.inFlight = inFlight
        self.pools = pools
    }

    private enum CodingKeys: String, CodingKey { case hosts, evms, inFlight, pools }

    /// Only `hosts` is required, so hand-written what-if files stay short.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            hosts: try c.decode([HostSnapshot].self, forKey: .hosts),
            evms: try c.decodeIfPresent([EVMSnapshot].self, forKey: .evms) ?? [],
            inFlight: try c.decodeIfPresent([InFlightMigration].self, forKey: .inFlight) ?? [],
            pools: try c.decodeIfPresent([PoolSnapshot].self, forKey: .pools) ?? []
        )
    }
}

/// A pool's limits as the rebalancer sees them.
public struct PoolSnapshot: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// Consolidation never leaves fewer hosts holding EVMs than this.
    public var minHosts: Int

    public init(id: String, minHosts: Int = 0) {
        self.id = id
        self.minHosts = minHosts
    }
}

/// A migration the executor is running: it occupies a lane on both hosts until it ends.
public struct InFlightMigration: Sendable, Hashable, Codable {
    public var evmID: String
    public var from: String
    public var to: String
    /// Estimated seconds until it ends; nil counts a whole migration of the EVM.
    public var remainingSeconds: Double?

    public init(evmID: String, from: String, to: String, remainingSeconds: Double? = nil) {
        self.evmID = evmID
        self.from = from
        self.to = to
        self.remainingSeconds = remainingSeconds
    }
}

/// One host as the algorithms see it: capacity, limits and current load.
public struct HostSnapshot: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    /// The host's pool; the rebalancer never moves an EVM between pools. Nil is one unnamed pool.
    public var poolID: String?
    public var capacity: Resources
    /// Sum of EVM sizes placed here.
    public var allocated: Resources
    /// Measured use.
    public var used: Resources
    public var cpuOvercommit: Double
    public var memoryOvercommit: Double
    public var highWatermark: Double
    public var state: HostState
    /// Seconds from the snapshot's time until the host goes away (interruption notice), if any.
    public var deadlineSeconds: Double?

    public init(
        id: String,
        capacity: Resources,
        allocated: Resources = .zero,
        used: Resources = .zero,
        cpuOvercommit: Double = 1,
        memoryOvercommit: Double = 1,
        highWatermark: Double = PoolPolicy.defaultHighWatermark,
        state: HostState = .ready,
        deadlineSeconds: Double? = nil,
        poolID: String? = nil
    ) {
        self.id = id
        self.poolID = poolID
        self.capacity = capacity
        self.allocated = allocated
        self.used = used
        self.cpuOvercommit = cpuOvercommit
        self.memoryOvercommit = memoryOvercommit
        self.highWatermark = highWatermark
        self.state = state
        self.deadlineSeconds = deadlineSeconds
    }

    private enum CodingKeys: String, CodingKey {
        case id, poolID, capacity, allocated, used, cpuOvercommit, memoryOvercommit, highWatermark, state, deadlineSeconds
    }

    /// Decodes with the defaults of ``init(id:capacity:allocated:used:cpuOvercommit:memoryOvercommit:highWatermark:state:deadlineSeconds:)``
    /// for every field but `id` and `capacity`, so hand-written what-if files stay short.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id),
            capacity: try c.decode(Resources.self, forKey: .capacity),
            allocated: try c.decodeIfPresent(Resources.self, forKey: .allocated) ?? .zero,
            used: try c.decodeIfPresent(Resources.self, forKey: .used) ?? .zero,
            cpuOvercommit: try c.decodeIfPresent(Double.self, forKey: .cpuOvercommit) ?? 1,
            memoryOvercommit: try c.decodeIfPresent(Double.self, forKey: .memoryOvercommit) ?? 1,
            highWatermark: try c.decodeIfPresent(Double.self, forKey: .highWatermark) ?? PoolPolicy.defaultHighWatermark,
            state: try c.decodeIfPresent(HostState.self, forKey: .state) ?? .ready,
            deadlineSeconds: try c.decodeIfPresent(Double.self, forKey: .deadlineSeconds),
            poolID: try c.decodeIfPresent(String.self, forKey: .poolID)
        )
    }

    /// Builds the snapshot of a stored host under its pool's policy; `now` turns its deadline into seconds (the
    /// caller's clock: this module reads none).
    public init(_ host: EMPModel.Host, policy: PoolPolicy, now: Date) {
        self.init(
            id: host.id,
            capacity: host.capacity,
            allocated: host.allocated,
            used: host.used,
            cpuOvercommit: policy.cpuOvercommit,
            memoryOvercommit: policy.memoryOvercommit,
            highWatermark: policy.highWatermark,
            state: host.effectiveState,
            deadlineSeconds: host.deadline.map { max(0, $0.timeIntervalSince(now)) },
            poolID: host.poolID
        )
    }

    /// Most that may be allocated: capacity × overcommit ratio.
    public var allocationLimit: Resources { capacity.scaled(cpu: cpuOvercommit, memory: memoryOvercommit) }
    /// Most that may be used: capacity × high watermark.
    public var usageLimit: Resources { capacity.scaled(cpu: highWatermark, memory: highWatermark) }
    /// Only ready hosts without a deadline receive EVMs.
    public var canReceive: Bool { state == .ready && deadlineSeconds == nil }
    /// Hosts in maintenance or under an interruption notice are emptied.
    public var mustEvacuate: Bool { state == .maintenance || deadlineSeconds != nil }
}

/// One EVM as the algorithms see it.
public struct EVMSnapshot: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var hostID: String
    /// What it takes from its host's allocation.
    public var size: Resources
    /// Measured use (memory = RSS).
    public var used: Resources
    /// Pages dirtied per second × page size, when known.
    public var dirtyBytesPerSecond: Int64?
    /// Seconds since its last migration ended, when it has moved before.
    public var secondsSinceMigration: Double?
    /// The host it last left: only an evacuation may send it back there (no ping-pong).
    public var previousHostID: String?
    /// Warm capacity (no pods): moving it disturbs no workload, so consolidation frees hosts holding only warm EVMs
    /// first.
    public var warm: Bool?

    public init(
        id: String,
        hostID: String,
        size: Resources,
        used: Resources = .zero,
        dirtyBytesPerSecond: Int64? = nil,
        secondsSinceMigration: Double? = nil,
        previousHostID: String? = nil,
        warm: Bool? = nil
    ) {
        self.id = id
        self.hostID = hostID
        self.size = size
        self.used = used
        self.dirtyBytesPerSecond = dirtyBytesPerSecond
        self.secondsSinceMigration = secondsSinceMigration
        self.previousHostID = previousHostID
        self.warm = warm
    }
}
