import EMPModel
import Foundation

/// `POST /v1/pools`: a ``PoolSpec`` decoded strictly (unknown fields refused by name).
struct PoolRequest: StrictDecodable, Sendable {
    let spec: PoolSpec

    init(from decoder: any Decoder) throws { spec = try PoolSpec(from: decoder) }

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
        do {
            return try spec.pool(createdAt: createdAt)
        } catch let error as ValidationError {
            throw APIError(error)
        }
    }
}
