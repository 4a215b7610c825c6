import EMPModel
import EMPStore
import Foundation
import Hummingbird

/// The agent API: join with a one-time token, then, with the host's credential, long-poll the desired EVM
/// set and report observed state and usage.
struct AgentRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let configuration: ControlPlaneConfiguration

    func register(join group: RouterGroup<Context>, host hostGroup: RouterGroup<Context>) {
        group.post("join") { request, _ in try await join(request) }
        hostGroup.get("desired") { request, context in
            try await desired(request, hostID: try context.parameters.require("id"))
        }
        hostGroup.post("report") { request, context in
            try await report(request, hostID: try context.parameters.require("id"))
        }
    }

    // MARK: Join

    func join(_ request: Request) async throws -> JSONResponse<JoinResponse> {
        let body = try await StrictJSON.decode(JoinWire.self, from: request, maxBytes: configuration.maxBodyBytes).request
        let parts = body.token.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw APIError(.unauthorized, code: "unauthorized", "join token is malformed") }
        let hostID = body.hostID ?? HostName.sanitize(body.inventory.hostname)
        do {
            try HostName.validate(hostID)
        } catch let error as ValidationError {
            throw APIError.invalid(error.message, field: "hostID")
        }
        let time = now()
        let secret = Secrets.random()
        let credential = "emph_" + secret
        let poolID = try await store.write { tx -> String in
            guard var token = try tx.joinToken(parts[0]), Secrets.constantTimeEqual(token.secretHash, Secrets.hash(parts[1])),
                token.isUsable(at: time)
            else {
                throw APIError(.unauthorized, code: "unauthorized", "join token is unknown, expired, revoked or already used")
            }
            var host =
                try tx.host(hostID)
                ?? EMPModel.Host(id: hostID, poolID: token.poolID, capacity: .zero)
            guard host.poolID == token.poolID else {
                throw APIError.conflict("host \(hostID) already belongs to pool \(host.poolID)")
            }
            let rejoin = host.capacity != .zero
            host.inventory = body.inventory
            host.capacity = Resources(cpuMillis: Int64(body.inventory.cores) * 1000, memoryBytes: body.inventory.memoryBytes)
            host.state = .ready
            host.lastHeartbeat = time
            token.usedByHost = hostID
            try tx.save(token)
            try tx.save(host)
            try tx.save(AgentCredential(hostID: hostID, secretHash: Secrets.hash(credential), issuedAt: time))
            try tx.append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: rejoin ? "Rejoined" : "Joined",
                    message:
                        "\(body.inventory.cores) cores, \(Resources.formatBytes(body.inventory.memoryBytes)) memory, libvirt \(body.inventory.libvirtVersion)"
                )
            )
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
        // Revision and EVMs are read together, so the answer is one consistent state.
        let state = try await store.read { tx in
            let pool = try tx.host(hostID).flatMap { try tx.pool($0.poolID) }
            return DesiredState(revision: try tx.revision(scope), evms: try tx.evms(EVMFilter(hostID: hostID)), kubelet: pool?.kubelet)
        }
        return JSONResponse(state)
    }

    // MARK: Report

    /// Memory from RSS; CPU as the rate between this report's CPU time and the previous one.
    static func recordUsage(_ domain: DomainReport, into evm: inout EVM, at time: Date) {
        var used = evm.used ?? .zero
        if let rss = domain.rssBytes { used.memoryBytes = rss }
        if let cpu = domain.cpuTimeNanoseconds {
            let sample = CPUSample(cpuTimeNanoseconds: cpu, at: time)
            if let rate = evm.cpuSample?.millicores(until: sample) { used.cpuMillis = rate }
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
            if host.state == .notReady {
                try tx.append(Event(time: time, object: ObjectRef(.host, hostID), reason: "HostReady", message: "agent reports again"))
            }
            host.state = .ready
            host.used = report.used
            host.lastHeartbeat = time
            let observed = Dictionary(report.domains.map { ($0.evmID, $0) }, uniquingKeysWith: { a, _ in a })
            var changed = false
            for var evm in try tx.evms(EVMFilter(hostID: hostID)) {
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
            }
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
