import EMPModel
import Foundation

/// The body of `POST /v1/pools`: sizes as Kubernetes quantities (`"16Gi"`), policy fields optional with
/// DESIGN.md's defaults.
struct PoolRequest: StrictDecodable, Sendable {
    struct Shape: Decodable, Sendable {
        var vcpus: Int
        var memory: String
        var disk: String?
        var image: String?
    }

    struct Policy: Decodable, Sendable {
        var cpuOvercommit: Double?
        var memoryOvercommit: Double?
        var minEVMs: Int?
        var maxEVMs: Int?
        var minHosts: Int?
        var maxHosts: Int?
        var highWatermark: Double?
        var placement: PlacementPolicy?
    }

    var id: String
    var cluster: String?
    var shape: Shape
    var policy: Policy?

    static let schema = FieldSchema.object([
        "id": .value,
        "cluster": .value,
        "shape": .object(["vcpus": .value, "memory": .value, "disk": .value, "image": .value]),
        "policy": .object([
            "cpuOvercommit": .value, "memoryOvercommit": .value, "minEVMs": .value, "maxEVMs": .value,
            "minHosts": .value, "maxHosts": .value, "highWatermark": .value, "placement": .value,
        ]),
    ])

    /// The validated pool, or an ``APIError`` naming the request field at fault.
    func pool(createdAt: Date) throws -> Pool {
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
            // The model names byte fields; the request names the quantities the user wrote.
            let field = error.field.replacingOccurrences(of: "memoryBytes", with: "memory")
                .replacingOccurrences(of: "diskBytes", with: "disk")
            throw APIError.invalid("\(field): \(error.message)", field: field)
        }
        return pool
    }

    private static func bytes(_ text: String, field: String) throws -> Int64 {
        do {
            return try Quantity(text).roundedUp
        } catch let error as QuantityError {
            throw APIError.invalid(error.description, field: field)
        }
    }
}
