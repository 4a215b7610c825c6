public import Foundation

/// What an operator asks for when creating a pool (`POST /v1/pools`, `empctl pool create`): sizes as
/// Kubernetes quantities (`"16Gi"`), every policy field optional with DESIGN.md's defaults.
public struct PoolSpec: Sendable, Hashable, Codable {
    /// The EVM shape as written by people.
    public struct Shape: Sendable, Hashable, Codable {
        public var vcpus: Int
        public var memory: String
        public var disk: String?
        public var image: String?

        public init(vcpus: Int, memory: String, disk: String? = nil, image: String? = nil) {
            self.vcpus = vcpus
            self.memory = memory
            self.disk = disk
            self.image = image
        }
    }

    /// Policy overrides; nil keeps the default.
    public struct Policy: Sendable, Hashable, Codable {
        public var cpuOvercommit: Double?
        public var memoryOvercommit: Double?
        public var minEVMs: Int?
        public var maxEVMs: Int?
        public var minHosts: Int?
        public var maxHosts: Int?
        public var highWatermark: Double?
        public var placement: PlacementPolicy?
        /// `{"cpu": "2", "memory": "8Gi"}`.
        public var headroom: Resources?
        /// `{"count": 2, "mode": "paused"}`; a count of 0 keeps none.
        public var warm: WarmPolicy?
        /// Replaces the whole list when given (`[]` removes every schedule).
        public var schedules: [CapacitySchedule]?

        public init(
            cpuOvercommit: Double? = nil,
            memoryOvercommit: Double? = nil,
            minEVMs: Int? = nil,
            maxEVMs: Int? = nil,
            minHosts: Int? = nil,
            maxHosts: Int? = nil,
            highWatermark: Double? = nil,
            placement: PlacementPolicy? = nil,
            headroom: Resources? = nil,
            warm: WarmPolicy? = nil,
            schedules: [CapacitySchedule]? = nil
        ) {
            self.cpuOvercommit = cpuOvercommit
            self.memoryOvercommit = memoryOvercommit
            self.minEVMs = minEVMs
            self.maxEVMs = maxEVMs
            self.minHosts = minHosts
            self.maxHosts = maxHosts
            self.highWatermark = highWatermark
            self.placement = placement
            self.headroom = headroom
            self.warm = warm
            self.schedules = schedules
        }

        /// `base` with every field given here replacing its own.
        public func applied(to base: PoolPolicy) -> PoolPolicy {
            PoolPolicy(
                cpuOvercommit: cpuOvercommit ?? base.cpuOvercommit,
                memoryOvercommit: memoryOvercommit ?? base.memoryOvercommit,
                minEVMs: minEVMs ?? base.minEVMs,
                maxEVMs: maxEVMs ?? base.maxEVMs,
                minHosts: minHosts ?? base.minHosts,
                maxHosts: maxHosts ?? base.maxHosts,
                highWatermark: highWatermark ?? base.highWatermark,
                placement: placement ?? base.placement,
                headroom: headroom ?? base.headroom,
                warm: warm.map { $0.count == 0 ? nil : $0 } ?? base.warm,
                schedules: schedules.map { $0.isEmpty ? nil : $0 } ?? base.schedules
            )
        }
    }

    public var id: String
    public var cluster: String?
    public var shape: Shape
    public var policy: Policy?
    public var kubelet: KubeletJoin?

    public init(id: String, cluster: String? = nil, shape: Shape, policy: Policy? = nil, kubelet: KubeletJoin? = nil) {
        self.id = id
        self.cluster = cluster
        self.shape = shape
        self.policy = policy
        self.kubelet = kubelet
    }

    /// The validated pool; a ``ValidationError`` names the field as the operator wrote it (`shape.memory`).
    public func pool(createdAt: Date) throws -> Pool {
        let policy = (self.policy ?? Policy()).applied(to: PoolPolicy())
        let shape = EVMShape(
            vcpus: self.shape.vcpus,
            memoryBytes: try Self.bytes(self.shape.memory, field: "shape.memory"),
            diskBytes: try self.shape.disk.map { try Self.bytes($0, field: "shape.disk") } ?? 0,
            image: self.shape.image ?? ""
        )
        let pool = Pool(id: id, shape: shape, policy: policy, cluster: cluster ?? "", kubelet: kubelet, createdAt: createdAt)
        do {
            try pool.validate()
        } catch let error as ValidationError {
            // The model names byte fields; the spec names the quantities the operator wrote.
            let field = error.field.replacingOccurrences(of: "memoryBytes", with: "memory")
                .replacingOccurrences(of: "diskBytes", with: "disk")
            throw ValidationError(field: field, error.message)
        }
        return pool
    }

    private static func bytes(_ text: String, field: String) throws -> Int64 {
        do {
            return try Quantity(text).roundedUp
        } catch let error as QuantityError {
            throw ValidationError(field: field, error.description)
        }
    }
}

/// A change to an existing pool (`PATCH /v1/pools/{id}`, `empctl pool update`): only the fields given change.
/// The shape is fixed for the pool's life; `"kubelet": null` removes the kubelet join.
public struct PoolUpdate: Sendable, Hashable, Codable {
    public var cluster: String?
    public var policy: PoolSpec.Policy?
    /// nil: unchanged; `.some(nil)`: removed.
    public var kubelet: KubeletJoin??

    public init(cluster: String? = nil, policy: PoolSpec.Policy? = nil, kubelet: KubeletJoin?? = nil) {
        self.cluster = cluster
        self.policy = policy
        self.kubelet = kubelet
    }

    enum CodingKeys: String, CodingKey { case cluster, policy, kubelet }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cluster = try container.decodeIfPresent(String.self, forKey: .cluster)
        policy = try container.decodeIfPresent(PoolSpec.Policy.self, forKey: .policy)
        if container.contains(.kubelet) {
            kubelet = .some(try container.decodeNil(forKey: .kubelet) ? nil : container.decode(KubeletJoin.self, forKey: .kubelet))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(cluster, forKey: .cluster)
        try container.encodeIfPresent(policy, forKey: .policy)
        if let kubelet {
            if let kubelet { try container.encode(kubelet, forKey: .kubelet) } else { try container.encodeNil(forKey: .kubelet) }
        }
    }

    /// `pool` with this change, validated; a ``ValidationError`` names the field at fault.
    public func applied(to pool: Pool) throws -> Pool {
        var updated = pool
        if let cluster { updated.cluster = cluster }
        if let policy { updated.policy = policy.applied(to: pool.policy) }
        if let kubelet { updated.kubelet = kubelet }
        try updated.validate()
        return updated
    }
}
