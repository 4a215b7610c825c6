import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `/v1/migrations`, `/v1/evms/{id}/migrate` and `/v1/plan` (dry run).
struct MigrationRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(on group: RecordingRoutes<Context>) {
        let settings = configuration.rebalancer.planner
        group.get("migrations") { request, _ in
            let query = request.uri.queryParameters
            var states: Set<MigrationState>?
            if let state = query.get("state") {
                guard let parsed = MigrationState(rawValue: state) else {
                    throw APIError.invalid(
                        "unknown state \"\(state)\"; one of \(MigrationState.allCases.map(\.rawValue).joined(separator: ", "))",
                        field: "state")
                }
                states = [parsed]
            }
            let filter = MigrationFilter(evmID: query.get("evm"), hostID: query.get("host"), states: states)
            let page = try Page(request)
            return page.response(try await store.read { try $0.migrations(filter) }, key: \.id, request: request)
        }
        group.get("migrations/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let migration = try await store.read({ try $0.migration(id) }) else { throw APIError.notFound("migration \(id)") }
            return JSONResponse(migration)
        }
        group.post("migrations/{id}/cancel") { _, context in
            let id = try context.parameters.require("id")
            let time = now()
            return JSONResponse(try await store.write { tx in try tx.cancelMigration(id, at: time) })
        }
        group.post("evms/{id}/migrate") { request, context in
            let id = try context.parameters.require("id")
            let body = try await StrictJSON.decode(MigrateRequest.self, from: request, maxBytes: configuration.maxBodyBytes)
            let time = now()
            let migration = try await store.write { tx in
                try tx.beginMigration(
                    MigrationRequest(evmID: id, to: body.to, reason: .manual, explanation: "requested by an operator"),
                    limits: settings.limits, at: time)
            }
            return JSONResponse(migration, status: .accepted)
        }
        group.get("plan") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            let time = now()
            let snapshot = try await store.read { try $0.snapshot(pool: pool, at: time, settings: settings) }
            return JSONResponse(Rebalancer(settings: settings).plan(snapshot))
        }
    }
}
