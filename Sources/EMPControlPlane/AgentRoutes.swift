import EMPModel
import EMPStore
import Foundation
import Hummingbird
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
        let poolID = try await store.write { tx -> String in
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
            try tx.save(host)
            // One credential per host: saving the new one revokes the old.
            try tx.save(AgentCredential(hostID: hostID, secretHash: Secrets.hash(credential), issuedAt: time))
            let inventory =
                "\(body.inventory.cores) cores, \(Resources.formatBytes(body.inventory.memoryBytes)) memory, libvirt \(body.inventory.libvirtVersion)"
            try tx.append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: rejoin == nil ? "Joined" : "Rejoined",
                    message: (rejoin ?? "") + inventory))
            return token.poolID
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
        let state = try await store.read { tx in
            let pool = try tx.host(hostID).flatMap { try tx.pool($0.poolID) }
            var outgoing: [MigrationCommand] = []
            var incoming: [IncomingEVM] = []
            for migration in try tx.migrations(MigrationFilter(hostID: hostID, states: [.preparing, .running])) {
                if migration.from == hostID, migration.state == .running {
                    let destination = try tx.host(migration.to)?.inventory
                    outgoing.append(
                        MigrationCommand(
                            id: migration.id, evmID: migration.evmID, destinationHost: migration.to,
                            destinationURI: destination?.migrationURI ?? "qemu+tcp://\(destination?.hostname ?? migration.to)/system",
                            destinationAddress: destination?.migrationAddress, destinationStateDirectory: destination?.stateDirectory,
                            postCopy: migration.postCopy ?? false, cancel: migration.cancelRequested ?? false))
                } else if migration.to == hostID, let evm = try tx.evm(migration.evmID) {
                    incoming.append(IncomingEVM(migrationID: migration.id, state: migration.state, evm: evm))
                }
            }
            let departed = try tx.evms(EVMFilter(poolID: pool?.id)).filter { $0.previousHostID == hostID && $0.hostID != hostID }.map(\.id)
            return DesiredState(
                revision: try tx.revision(scope), evms: try tx.evms(EVMFilter(hostID: hostID)), kubelet: pool?.kubelet, outgoing: outgoing,
                incoming: incoming, departed: departed)
        }
        return JSONResponse(state)
    }

    // MARK: Migrations

    /// The destination reports `prepared` (the source is then told to start); the source reports progress, then
    /// `completed` or `failed`. Repeating a final report changes nothing.
    func migrationUpdate(_ request: Request, hostID: String, id: String) async throws -> JSONResponse<Migration> {
        let update = try await StrictJSON.decode(MigrationUpdateWire.self, from: request, maxBytes: configuration.maxBodyBytes).update
        let time = now()
        let migration = try await store.write { tx -> Migration in
            guard var migration = try tx.migration(id) else { throw APIError.notFound("migration \(id)") }
            let role = migration.to == hostID ? "destination" : migration.from == hostID ? "source" : nil
            guard let role else { throw APIError(.forbidden, code: "forbidden", "host \(hostID) takes no part in migration \(id)") }
            switch update.step {
            case .prepared:
                guard role == "destination" else { throw APIError.invalid("only the destination reports prepared", field: "step") }
                guard migration.state == .preparing else { return migration }
                migration.state = .running
                migration.startedAt = time
                try tx.save(migration)
                try tx.bumpRevision(HostRevision.scope(migration.from))
                return migration
            case .running:
                guard migration.state == .running else { return migration }
                migration.progress = update.progress ?? migration.progress
                try tx.save(migration)
                return migration
            case .completed:
                guard role == "source" else { throw APIError.invalid("only the source reports completion", field: "step") }
                return try tx.completeMigration(id, progress: update.progress, at: time)
            case .failed:
                return try tx.failMigration(id, message: update.message ?? "failed on \(role) \(hostID)", at: time)
            }
        }
        return JSONResponse(migration)
    }

    // MARK: Report

    /// Memory from RSS; CPU as the rate between this report's CPU time and the previous one of the same domain
    /// instance, at most the EVM's vCPUs.
    static func recordUsage(_ domain: DomainReport, into evm: inout EVM, at time: Date) {
        var used = evm.used ?? .zero
        if let rss = domain.rssBytes { used.memoryBytes = rss }
        if let cpu = domain.cpuTimeNanoseconds {
            let sample = CPUSample(cpuTimeNanoseconds: cpu, at: time, instance: domain.instance)
            if let rate = evm.cpuSample?.millicores(until: sample, limit: evm.shape.resources.cpuMillis) { used.cpuMillis = rate }
            evm.cpuSample = sample
        }
        evm.used = used
    }

    /// Records use and heartbeat, moves EVMs `creating → running` once their domain runs, and forgets
    /// `deleting` EVMs once their domain is gone (releasing their allocation).
    func report(_ request: Request, hostID: String) async throws -> JSONResponse<EMPModel.Host> {
        let report = try await StrictJSON.decode(ReportWire.self, from: request, maxBytes: configuration.maxBodyBytes).report
        let time = now()
        let host = try await store.write { tx -> EMPModel.Host in
            guard var host = try tx.host(hostID) else { throw APIError.notFound("host \(hostID)") }
            let evms = try tx.evms(EVMFilter(hostID: hostID))
            do {
                try report.validate(capacity: host.capacity, evms: Dictionary(evms.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
            } catch let error as ValidationError {
                throw APIError(error)
            }
            if host.state == .notReady {
                try tx.append(Event(time: time, object: ObjectRef(.host, hostID), reason: "HostReady", message: "agent reports again"))
            }
            host.state = .ready
            host.used = report.used
            host.lastHeartbeat = time
            if let deadline = report.interruptionDeadline, host.deadline != deadline {
                host.deadline = deadline
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.host, hostID), reason: "InterruptionNotice",
                        message: "the provider takes the host away at \(deadline.formatted(.iso8601)); evacuating", type: .warning))
                try tx.bumpRevision(RebalanceRevision.scope)
            }
            let observed = Dictionary(report.domains.map { ($0.evmID, $0) }, uniquingKeysWith: { a, _ in a })
            var changed = false
            // CPU is measured per EVM (a rate between reports); the host's is their sum when the agent sends none.
            var evmCPU: Int64 = 0
            for var evm in evms {
                let domain = observed[evm.id]
                if let domain, evm.phase != .deleting {
                    Self.recordUsage(domain, into: &evm, at: time)
                    try tx.save(evm)
                }
                switch evm.phase {
                case .creating where domain?.running == true:
                    evm.phase = .running
                    evm.message = nil
                    try tx.save(evm)
                    try tx.append(
                        Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Running", message: "domain running on \(hostID)"))
                case .creating where domain?.error != nil:
                    evm.message = domain?.error
                    try tx.save(evm)
                case .deleting where domain == nil:
                    try tx.deleteEVM(evm.id)
                    host.allocated -= evm.shape.resources
                    changed = true
                    try tx.append(
                        Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Deleted", message: "domain removed from \(hostID)"))
                default:
                    break
                }
                if !(evm.phase == .deleting && domain == nil) { evmCPU += evm.used?.cpuMillis ?? 0 }
            }
            if report.used.cpuMillis == 0 { host.used.cpuMillis = evmCPU }
            try tx.save(host)
            if changed { try tx.bumpRevision(HostRevision.scope(hostID)) }
            return host
        }
        return JSONResponse(host)
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
