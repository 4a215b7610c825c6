import EMPModel
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `/v1/hosts`: list, get, cordon / uncordon, maintenance on / off, interruption notice.
struct HostRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(on group: RecordingRoutes<Context>) {
        group.get("hosts") { request, _ in
            let pool = request.uri.queryParameters.get("pool")
            let page = try Page(request)
            // One more than the page: the answer then knows whether another page follows.
            let hosts = try await store.read { try $0.hosts(pool: pool, after: page.after, limit: page.limit + 1) }
            return page.response(hosts, key: \.id, request: request)
        }
        group.get("hosts/{id}") { _, context in
            let id = try context.parameters.require("id")
            guard let host = try await store.read({ try $0.host(id) }) else { throw APIError.notFound("host \(id)") }
            return JSONResponse(host)
        }
        group.post("hosts/{id}/cordon") { _, context in try await apply(.cordon, try context.parameters.require("id")) }
        group.post("hosts/{id}/uncordon") { _, context in try await apply(.uncordon, try context.parameters.require("id")) }
        group.post("hosts/{id}/rejoin") { _, context in
            let time = now()
            return try await update(
                try context.parameters.require("id"), reason: "RejoinApproved",
                message: "the next join with this host's hostUUID may take it over; its current credential is revoked then"
            ) { $0.rejoinApprovedAt = time }
        }
        group.post("hosts/{id}/maintenance") { request, context in
            let body = try await StrictJSON.decode(MaintenanceRequest.self, from: request, maxBytes: configuration.maxBodyBytes)
            return try await apply(.maintenance(body.enabled), try context.parameters.require("id"))
        }
        group.post("hosts/{id}/interrupt") { request, context in
            let body = try await StrictJSON.decode(InterruptRequest.self, from: request, maxBytes: configuration.maxBodyBytes)
            let clear = body.clear ?? false
            guard clear || (body.deadlineSeconds.map { $0.isFinite && $0 > 0 && $0 <= 86_400 } ?? false) else {
                throw APIError.invalid("give deadlineSeconds in (0, 86400], or clear: true", field: "deadlineSeconds")
            }
            let deadline = clear ? nil : now().addingTimeInterval(body.deadlineSeconds!)
            return try await update(
                try context.parameters.require("id"),
                reason: clear ? "InterruptionCleared" : "InterruptionNotice",
                message: clear
                    ? "interruption notice withdrawn" : "operator notice: the host goes away in \(Int(body.deadlineSeconds!)) s; evacuating"
            ) { $0.deadline = deadline }
        }
    }

    private func apply(_ operation: HostOperation, _ id: String) async throws -> JSONResponse<EMPModel.Host> {
        let time = now()
        return JSONResponse(try await store.write { try $0.apply(operation, toHost: id, at: time) })
    }

    private func update(
        _ id: String,
        reason: String,
        message: String,
        _ change: @escaping @Sendable (inout EMPModel.Host) throws -> Void
    ) async throws -> JSONResponse<EMPModel.Host> {
        let time = now()
        return JSONResponse(try await store.write { try $0.changeHost(id, reason: reason, message: message, at: time, change) })
    }
}
