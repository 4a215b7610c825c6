import Foundation

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

        public init(
            cpuOvercommit: Double? = nil,
            memoryOvercommit: Double? = nil,
            minEVMs: Int? = nil,
            maxEVMs: Int? = nil,
            minHosts: Int? = nil,
            maxHosts: Int? = nil,
            highWatermark: Double? = nil,
            placement: PlacementPolicy? = nil
        ) {
            self.cpuOvercommit = cpuOvercommit
            self.memoryOvercommit = memoryOvercommit
            self.minEVMs = minEVMs
            self.maxEVMs = maxEVMs
            self.minHosts = minHosts
            self.maxHosts = maxHosts
            self.highWatermark = highWatermark
            self.placement = placement
        }
    }

    public var id: String
    public var cluster: String?
    public var shape: Shape
    public var policy: Policy?

    public init(id: String, cluster: String? = nil, shape: Shape, policy: Policy? = nil) {
        self.id = id
        self.cluster = cluster
        self.shape = shape
        self.policy = policy
    }

    /// The validated pool; a ``ValidationError`` names the field as the operator wrote it (`shape.memory`).
    public func pool(createdAt: Date) throws -> Pool {
        let defaults = PoolPolicy()
        let policy = PoolPolicy(
            cpuOvercommit: self.policy?.cpuOvercommit ?? defaults.cpuOvercommit,
            memoryOvercommit: self.policy?.memoryOvercommit ?? defaults.memoryOvercommit,
            minEVMs: self.policy?.minEVMs ?? defaults.minEVMs,
            maxEVMs: self.policy?.maxEVMs ?? defaults.maxEVMs,
            minHosts: self.policy?.minHosts ?? defaults.minHosts,
            maxHosts: self.policy?.maxHosts ?? defaults.maxHosts,
            highWatermark: self.policy?.highWatermark ?? defaults.highWatermark,
            placement: self.policy?.placement ?? defaults.placement
        )
        let shape = EVMShape(
            vcpus: self.shape.vcpus,
            memoryBytes: try Self.bytes(self.shape.memory, field: "shape.memory"),
            diskBytes: try self.shape.disk.map { try Self.bytes($0, field: "shape.disk") } ?? 0,
            image: self.shape.image ?? ""
        )
        let pool = Pool(id: id, shape: shape, policy: policy, cluster: cluster ?? "", createdAt: createdAt)
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
