import EMPModel
import EMPStore
import Foundation
import Hummingbird
import Kube
import Logging
import ServerGuard

/// `/v1/pools`: create, list, get, update (policy, cluster, kubelet join), delete (only when the pool has no
/// hosts and no EVMs). Answers never carry the bootstrap token's secret.
struct PoolRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let maxBodyBytes: Int
    /// Reads the cluster DNS Service for joins that name no `clusterDNS` (``ClusterDNS``); nil leaves them as given.
    var kube: KubeClient? = nil
    var logger = Logger(label: "emp-control-plane.pools")

    func register(on group: RecordingRoutes<Context>) {
        group.get("pools") { request, _ in try Page(request).response(try await list().value, key: \.id, request: request) }
        group.post("pools") { request, _ in try await create(request) }
        group.get("pools/{id}") { _, context in try await get(try context.parameters.require("id")) }
        group.patch("pools/{id}") { request, context in try await update(try context.parameters.require("id"), request) }
        group.delete("pools/{id}") { _, context in try await delete(try context.parameters.require("id")) }
    }

    func list() async throws -> JSONResponse<[Pool]> {
        JSONResponse(try await store.read { try $0.pools() }.map(\.redacted))
    }

    func get(_ id: String) async throws -> JSONResponse<Pool> {
        guard let pool = try await store.read({ try $0.pool(id) }) else { throw APIError.notFound("pool \(id)") }
        return JSONResponse(pool.redacted)
    }

    func create(_ request: Request) async throws -> JSONResponse<Pool> {
        let body = try await StrictJSON.decode(PoolRequest.self, from: request, maxBytes: maxBodyBytes)
        var pool = try body.pool(createdAt: now())
        let note: String?
        (pool.kubelet, note) = await ClusterDNS.defaulted(pool.kubelet, kube: kube, logger: logger)
        let created = pool
        try await store.write { tx in
            if try tx.pool(created.id) != nil { throw APIError.conflict("pool \(created.id) already exists") }
            try tx.save(created)
            try tx.append(
                Event(
                    time: created.createdAt, object: ObjectRef(.pool, created.id), reason: "Created",
                    message: "pool created with \(created.shape.resources) EVMs\(note.map { "; \($0)" } ?? "")")
            )
        }
        return JSONResponse(pool.redacted, status: .created)
    }

    func update(_ id: String, _ request: Request) async throws -> JSONResponse<Pool> {
        var decoded = try await StrictJSON.decode(PoolUpdateRequest.self, from: request, maxBytes: maxBodyBytes).update
        if case .some(.some(let join)) = decoded.kubelet {
            decoded.kubelet = .some(await ClusterDNS.defaulted(join, kube: kube, logger: logger).0)
        }
        let change = decoded
        let time = now()
        let pool = try await store.write { tx -> Pool in
            guard let pool = try tx.pool(id) else { throw APIError.notFound("pool \(id)") }
            let updated: Pool
            do {
                updated = try change.applied(to: pool)
            } catch let error as ValidationError {
                throw APIError(error)
            }
            guard updated != pool else { return pool }
            try tx.save(updated)
            try tx.append(
                Event(time: time, object: ObjectRef(.pool, id), reason: "Updated", message: PoolRoutes.describe(pool, updated))
            )
            return updated
        }
        return JSONResponse(pool.redacted)
    }

    /// What changed, for the event log (`maxEVMs 100→20, kubelet join set`).
    static func describe(_ old: Pool, _ new: Pool) -> String {
        var changes: [String] = []
        let oldPolicy = Mirror(reflecting: old.policy).children
        for (before, after) in zip(oldPolicy, Mirror(reflecting: new.policy).children) {
            let (a, b) = ("\(before.value)", "\(after.value)")
            guard a != b, let label = before.label, label != "warm", label != "schedules" else { continue }
            changes.append("\(label) \(a)→\(b)")
        }
        if old.policy.warm != new.policy.warm {
            changes.append("warm " + (new.policy.warm.map { "\($0.count) \($0.mode.rawValue)" } ?? "none"))
        }
        if old.policy.schedules != new.policy.schedules {
            let names = (new.policy.schedules ?? []).map(\.name)
            changes.append("schedules " + (names.isEmpty ? "none" : names.joined(separator: ", ")))
        }
        if old.cluster != new.cluster { changes.append("cluster \"\(old.cluster)\"→\"\(new.cluster)\"") }
        if old.kubelet != new.kubelet {
            changes.append(new.kubelet.map { "kubelet join \($0.apiServer) token \($0.tokenID)" } ?? "kubelet join removed")
        }
        return "pool updated: " + changes.joined(separator: ", ")
    }

    func delete(_ id: String) async throws -> Response {
        let time = now()
        try await store.write { tx in
            guard try tx.pool(id) != nil else { throw APIError.notFound("pool \(id)") }
            let evms = try tx.evmCount(EVMFilter(poolID: id))
            let hosts = try tx.hosts(pool: id).count
            guard evms == 0, hosts == 0 else {
                throw APIError.conflict("pool \(id) still has \(evms) EVMs and \(hosts) hosts; delete them first")
            }
            try tx.deletePool(id)
            try tx.append(Event(time: time, object: ObjectRef(.pool, id), reason: "Deleted", message: "pool deleted"))
        }
        return Response(status: .noContent)
    }
}

/// A Codable value rendered as a JSON response with a chosen status.
struct JSONResponse<Value: Encodable & Sendable>: ResponseGenerator, Sendable {
    let value: Value
    let status: HTTPResponse.Status

    init(_ value: Value, status: HTTPResponse.Status = .ok) {
        self.value = value
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try WireJSON.encoder().encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
