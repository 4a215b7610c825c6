import EMPModel
import EMPStore
import Foundation
import Hummingbird
import Metrics
import ServerGuard

/// The agent API: join with a one-time token, then, with the host's credential, long-poll the desired EVM
/// set and report observed state and usage.
struct AgentRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(join group: RecordingRoutes<Context>, host hostGroup: RecordingRoutes<Context>) {
        group.post("join") { request, _ in try await join(request) }
        hostGroup.get("desired") { request, context in
            try await desired(request, hostID: try context.parameters.require("id"))
        }
        hostGroup.post("report") { request, context in
            try await report(request, hostID: try context.parameters.require("id"))
        }
        hostGroup.post("migrations/{migration}") { request, context in
            try await migrationUpdate(
                request, hostID: try context.parameters.require("id"), id: try context.parameters.require("migration"))
        }
    }

    // MARK: Join

    /// A host id is claimed once. Joining as a host that already has a credential is a rejoin, allowed only with
    /// that credential (`Authorization: Bearer emph_…`, rotating it) or, for a reinstalled machine, with the same
    /// `hostUUID` after an operator's `empctl host rejoin`. The old credential stops working only then.
    func join(_ request: Request) async throws -> JSONResponse<JoinResponse> {
        let body = try await StrictJSON.decode(JoinWire.self, from: request, maxBytes: configuration.maxBodyBytes).request
        let parts = body.token.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw APIError(.unauthorized, code: "unauthorized", "join token is malformed") }
        let hostID = body.hostID ?? HostName.sanitize(body.inventory.hostname)
        do {
            try HostName.validate(hostID)
            try body.inventory.validate()
        } catch let error as ValidationError {
            throw APIError(error)
        }
        let presented = Secrets.bearer(request.headers).map(Secrets.hash)
        let time = now()
        let secret = Secrets.random()
        let credential = "emph_" + secret
        let (poolID, launchToJoin) = try await store.write { tx -> (String, Double?) in
            guard var token = try tx.joinToken(parts[0]), Secrets.constantTimeEqual(token.secretHash, Secrets.hash(parts[1])),
                token.isUsable(at: time)
            else {
                throw APIError(.unauthorized, code: "unauthorized", "join token is unknown, expired, revoked or already used")
            }
            if let scoped = token.hostID, scoped != hostID {
                throw APIError(.forbidden, code: "forbidden", "join token \(token.id) is for host \(scoped) only")
            }
            var host = try tx.host(hostID) ?? EMPModel.Host(id: hostID, poolID: token.poolID, capacity: .zero)
            guard host.poolID == token.poolID else {
                throw APIError.conflict("host \(hostID) already belongs to pool \(host.poolID)")
            }
            // What the event says: nil for a first join.
            var rejoin: String?
            if let existing = try tx.credential(host: hostID) {
                if let presented, Secrets.constantTimeEqual(existing.secretHash, presented) {
                    rejoin = "rejoined with its credential (rotated): "
                } else if let uuid = body.inventory.hostUUID, uuid == host.inventory?.hostUUID, host.rejoinApprovedAt != nil {
                    rejoin = "rejoined as approved by an operator; the previous credential is revoked: "
                } else if let uuid = body.inventory.hostUUID, uuid == host.inventory?.hostUUID {
                    throw APIError(
                        .forbidden, code: "rejoin_not_approved",
                        "host \(hostID) has already joined; to let this machine (same hostUUID) take it over, an operator runs: empctl host rejoin \(hostID)"
                    )
                } else {
                    throw APIError.conflict("host id \(hostID) is already claimed by another machine; join with another hostID")
                }
            }
            host.inventory = body.inventory
            host.capacity = body.inventory.capacity
            host.state = .ready
            host.lastHeartbeat = time
            host.rejoinApprovedAt = nil
            token.usedByHost = hostID
            try tx.save(token)
            let launchToJoin = try HostFleet.noteJoin(tx, token: token.id, host: &host, at: time)
            try tx.save(host)
            // One credential per host: saving the new one revokes the old.
            try tx.save(AgentCredential(hostID: hostID, secretHash: Secrets.hash(credential), issuedAt: time))
            let inventory =
                "\(body.inventory.cores) cores, \(Resources.formatBytes(body.inventory.memoryBytes)) memory, libvirt \(body.inventory.libvirtVersion)"
            try tx.append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: rejoin == nil ? "Joined" : "Rejoined",
                    message: (rejoin ?? "") + inventory))
            return (token.poolID, launchToJoin)
        }
        if let launchToJoin {
            Metrics.Recorder(label: "emp_host_launch_to_join_seconds", dimensions: [("pool", poolID)]).record(launchToJoin)
        }
        return JSONResponse(JoinResponse(hostID: hostID, poolID: poolID, credential: credential), status: .created)
    }

    // MARK: Desired state (long poll)

    /// Returns at once when the host's revision is newer than `?revision=`, else waits up to `?wait=` seconds
    /// (default 30, at most 60) for it to change.
    func desired(_ request: Request, hostID: String) async throws -> JSONResponse<DesiredState> {
        let query = request.uri.queryParameters
        let known = query.get("revision", as: Int64.self) ?? -1
        let wait = min(60, max(0, query.get("wait", as: Int.self) ?? 30))
        let scope = HostRevision.scope(hostID)
        _ = try await store.waitForRevision(scope, differentFrom: known, timeout: .seconds(wait))
        // Revision, EVMs and migrations are read together, so the answer is one consistent state.
        let state = try await store.read { try $0.desiredState(hostID: hostID) }
        return JSONResponse(state)
    }

    // MARK: Migrations

    /// The destination reports `prepared` (the source is then told to start); the source reports progress, then
    /// `completed` or `failed`. Repeating a final report changes nothing.
    func migrationUpdate(_ request: Request, hostID: String, id: String) async throws -> JSONResponse<Migration> {
        let update = try await StrictJSON.decode(MigrationUpdateWire.self, from: request, maxBytes: configuration.maxBodyBytes).update
        let time = now()
        let (before, migration) = try await store.write { tx in
            (try tx.migration(id)?.state, try tx.applyMigrationUpdate(update, from: hostID, migration: id, at: time))
        }
        if before != migration.state { FleetMetrics.ended(migration) }
        return JSONResponse(migration)
    }

    // MARK: Report

    /// Records use and heartbeat, moves EVMs `creating → running` once their domain runs, and forgets
    /// `deleting` EVMs once their domain is gone (releasing their allocation).
    ///
    /// A report that changes only heartbeat and usage (most of them) is read, checked and kept in memory without
    /// a write transaction; the store flushes those figures in batches (``StateStore/flushSoftState(batch:evms:)``).
    func report(_ request: Request, hostID: String) async throws -> JSONResponse<EMPModel.Host> {
        let report = try await StrictJSON.decode(ReportWire.self, from: request, maxBytes: configuration.maxBodyBytes).report
        let time = now()
        var outcome = try await store.read { try $0.reportOutcome(report, from: hostID, at: time) }
        // A host that just crossed its watermark wakes the rebalancer (a revision bump: a write, rare).
        if outcome.durable || outcome.becameHot || configuration.persistEveryReport {
            // Worked out again inside the write: what it changes is decided on the state it changes.
            outcome = try await store.write { try $0.applyReport(report, from: hostID, at: time) }
        }
        store.recordSoftState(
            host: outcome.host, evms: outcome.evms, persisted: outcome.durable || outcome.becameHot || configuration.persistEveryReport)
        FleetMetrics.record(outcome)
        return JSONResponse(outcome.host)
    }

}

/// Host ids: DNS labels derived from hostnames.
enum HostName {
    static func sanitize(_ hostname: String) -> String {
        let first = hostname.split(separator: ".").first.map(String.init) ?? hostname
        return String(first.lowercased().map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }.prefix(63))
    }

    static func validate(_ id: String) throws {
        try DNSLabel.validate(id, field: "hostID")
    }
}
