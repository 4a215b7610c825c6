import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `/v1/pools/{id}/evms` and `/v1/evms`: create N (placed in the same transaction as their hosts'
/// allocations), list with filters, get, delete.
struct EVMRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(on group: RecordingRoutes<Context>) {
        group.post("pools/{id}/evms") { request, context in
            try await create(request, pool: try context.parameters.require("id"))
        }
        group.get("evms") { request, _ in try await list(request) }
        group.get("evms/{id}") { _, context in try await get(try context.parameters.require("id")) }
        group.delete("evms/{id}") { _, context in try await delete(try context.parameters.require("id")) }
    }

    func create(_ request: Request, pool poolID: String) async throws -> JSONResponse<[EVM]> {
        let body = try await StrictJSON.decode(EVMCreateRequest.self, from: request, maxBytes: configuration.maxBodyBytes)
        guard (1...1000).contains(body.count) else {
            throw APIError.invalid("must be between 1 and 1000 (got \(body.count))", field: "count")
        }
        let evms = try await EVMPlacement(store: store, expectedUseFraction: configuration.expectedUseFraction)
            .create(count: body.count, poolID: poolID, at: now())
        return JSONResponse(evms, status: .created)
    }

    func list(_ request: Request) async throws -> PagedResponse<EVM> {
        let page = try Page(request)
        let query = request.uri.queryParameters
        var phases: Set<EVMPhase>?
        if let text = query.get("phase") {
            guard let phase = EVMPhase(rawValue: text) else {
                let allowed = EVMPhase.allCases.map(\.rawValue).joined(separator: ", ")
                throw APIError.invalid("unknown phase \"\(text)\"; one of \(allowed)", field: "phase")
            }
            phases = [phase]
        }
        let filter = EVMFilter(poolID: query.get("pool"), hostID: query.get("host"), phases: phases)
        // One more than the page: the answer then knows whether another page follows.
        let evms = try await store.read { try $0.evms(filter, after: page.after, limit: page.limit + 1) }
        return page.response(evms, key: \.id, request: request)
    }

    func get(_ id: String) async throws -> JSONResponse<EVM> {
        guard let evm = try await store.read({ try $0.evm(id) }) else { throw APIError.notFound("EVM \(id)") }
        return JSONResponse(evm)
    }

    /// Marks the EVM `deleting`; its host's agent destroys the domain and then the record goes (agent issue).
    func delete(_ id: String) async throws -> JSONResponse<EVM> {
        let time = now()
        let evm = try await store.write { tx -> EVM in
            guard let evm = try tx.markDeleting(id, at: time, reason: "Deleting", message: "delete requested") else {
                throw APIError.notFound("EVM \(id)")
            }
            return evm
        }
        return JSONResponse(evm, status: .accepted)
    }
}
