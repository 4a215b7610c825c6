import EMPModel
import Foundation

/// `POST /v1/pools`: a ``PoolSpec`` decoded strictly (unknown fields refused by name).
struct PoolRequest: StrictDecodable, Sendable {
    let spec: PoolSpec

    init(from decoder: any Decoder) throws { spec = try PoolSpec(from: decoder) }

    static let policySchema = FieldSchema.object([
        "cpuOvercommit": .value, "memoryOvercommit": .value, "minEVMs": .value, "maxEVMs": .value,
        "minHosts": .value, "maxHosts": .value, "highWatermark": .value, "placement": .value,
        "headroom": .object(["cpu": .value, "memory": .value, "cpuMillis": .value, "memoryBytes": .value]),
        "warm": .object(["count": .value, "mode": .value]),
        "schedules": .list(
            .object(["name": .value, "cron": .value, "timeZone": .value, "duration": .value, "minEVMs": .value, "warm": .value])),
    ])
    static let kubeletSchema = FieldSchema.object([
        "apiServer": .value, "caCertificate": .value, "bootstrapToken": .value, "extraArgs": .value, "clusterDNS": .value,
        "clusterDomain": .value, "containerRuntimeEndpoint": .value,
    ])
    static let schema = FieldSchema.object([
        "id": .value,
        "cluster": .value,
        "shape": .object(["vcpus": .value, "memory": .value, "disk": .value, "image": .value]),
        "policy": policySchema,
        "kubelet": kubeletSchema,
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

/// `PATCH /v1/pools/{id}`: a ``PoolUpdate`` decoded strictly; `shape` and `id` are not accepted (fixed for life).
struct PoolUpdateRequest: StrictDecodable, Sendable {
    let update: PoolUpdate

    init(from decoder: any Decoder) throws { update = try PoolUpdate(from: decoder) }

    static let schema = FieldSchema.object([
        "cluster": .value, "policy": PoolRequest.policySchema, "kubelet": PoolRequest.kubeletSchema,
    ])
}
