import EMPModel

/// The state the scheduling algorithms decide on: a pool's hosts and EVMs, resolved ahead of time so the
/// algorithms do no I/O. `GET /v1/snapshot` exports it and the `empctl whatif` commands read it.
public struct Snapshot: Sendable, Hashable, Codable {
    public var hosts: [HostSnapshot]
    public var evms: [EVMSnapshot]

    public init(hosts: [HostSnapshot], evms: [EVMSnapshot] = []) {
        self.hosts = hosts
        self.evms = evms
    }
}

/// One host as the algorithms see it: capacity, limits and current load.
public struct HostSnapshot: Sendable, Hashable, Codable, Identifiable {
    public var id: String
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
        deadlineSeconds: Double? = nil
    ) {
        self.id = id
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
        case id, capacity, allocated, used, cpuOvercommit, memoryOvercommit, highWatermark, state, deadlineSeconds
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
            deadlineSeconds: try c.decodeIfPresent(Double.self, forKey: .deadlineSeconds)
        )
    }

    /// Builds the snapshot of a stored host under its pool's policy.
    public init(_ host: Host, policy: PoolPolicy) {
        self.init(
            id: host.id,
            capacity: host.capacity,
            allocated: host.allocated,
            used: host.used,
            cpuOvercommit: policy.cpuOvercommit,
            memoryOvercommit: policy.memoryOvercommit,
            highWatermark: policy.highWatermark,
            state: host.effectiveState
        )
    }

    /// Most that may be allocated: capacity × overcommit ratio.
    public var allocationLimit: Resources { capacity.scaled(cpu: cpuOvercommit, memory: memoryOvercommit) }
    /// Most that may be used: capacity × high watermark.
    public var usageLimit: Resources { capacity.scaled(cpu: highWatermark, memory: highWatermark) }
    /// Only ready hosts without a deadline receive EVMs.
    public var canReceive: Bool { state == .ready && deadlineSeconds == nil }
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

    public init(
        id: String,
        hostID: String,
        size: Resources,
        used: Resources = .zero,
        dirtyBytesPerSecond: Int64? = nil,
        secondsSinceMigration: Double? = nil
    ) {
        self.id = id
        self.hostID = hostID
        self.size = size
        self.used = used
        self.dirtyBytesPerSecond = dirtyBytesPerSecond
        self.secondsSinceMigration = secondsSinceMigration
    }
}
