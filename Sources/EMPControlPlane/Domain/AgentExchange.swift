import EMPModel
import EMPStore
import Foundation

// What the control plane does with what agents send and ask: their desired state, migration steps and reports.

extension StoreReading {
    /// A host's desired state: its EVMs, its pool's kubelet settings, the migrations it runs (outgoing) or receives
    /// (incoming) and the EVMs that left it, with the revision they were read at (one consistent read).
    func desiredState(hostID: String) throws -> DesiredState {
        let scope = HostRevision.scope(hostID)
        let pool = try self.host(hostID).flatMap { try self.pool($0.poolID) }
        var outgoing: [MigrationCommand] = []
        var incoming: [IncomingEVM] = []
        for migration in try migrations(MigrationFilter(hostID: hostID, states: [.preparing, .running])) {
            if migration.from == hostID, migration.state == .running {
                let destination = try host(migration.to)?.inventory
                outgoing.append(
                    MigrationCommand(
                        id: migration.id, evmID: migration.evmID, destinationHost: migration.to,
                        destinationURI: destination?.migrationURI ?? "qemu+tcp://\(destination?.hostname ?? migration.to)/system",
                        destinationAddress: destination?.migrationAddress, destinationStateDirectory: destination?.stateDirectory,
                        postCopy: migration.postCopy ?? false, cancel: migration.cancelRequested ?? false))
            } else if migration.to == hostID, let evm = try evm(migration.evmID) {
                incoming.append(IncomingEVM(migrationID: migration.id, state: migration.state, evm: evm))
            }
        }
        let departed = try evms(EVMFilter(poolID: pool?.id)).filter { $0.previousHostID == hostID && $0.hostID != hostID }.map(\.id)
        return DesiredState(
            revision: try revision(scope), evms: try evms(EVMFilter(hostID: hostID)), kubelet: pool?.kubelet, outgoing: outgoing,
            incoming: incoming, departed: departed)
    }
}

extension StoreWriting {
    /// Applies a migration step an agent reports: the destination reports `prepared` (the source is then told to
    /// start); the source reports progress, then `completed` or `failed`. Repeating a final report changes nothing.
    func applyMigrationUpdate(_ update: MigrationUpdate, from hostID: String, migration id: String, at time: Date) throws -> Migration {
        guard var migration = try self.migration(id) else { throw DomainError.notFound("migration \(id)") }
        let role = migration.to == hostID ? "destination" : migration.from == hostID ? "source" : nil
        guard let role else { throw DomainError.forbidden("host \(hostID) takes no part in migration \(id)") }
        switch update.step {
        case .prepared:
            guard role == "destination" else { throw DomainError.invalid("only the destination reports prepared", field: "step") }
            guard migration.state == .preparing else { return migration }
            migration.state = .running
            migration.startedAt = time
            try save(migration)
            try bumpRevision(HostRevision.scope(migration.from))
            return migration
        case .running:
            guard migration.state == .running else { return migration }
            migration.progress = update.progress ?? migration.progress
            try save(migration)
            return migration
        case .completed:
            guard role == "source" else { throw DomainError.invalid("only the source reports completion", field: "step") }
            return try completeMigration(id, progress: update.progress, at: time)
        case .failed:
            return try failMigration(id, message: update.message ?? "failed on \(role) \(hostID)", at: time)
        }
    }

    /// Records a report: use and heartbeat, moves EVMs `creating → running` once their domain runs, and forgets
    /// `deleting` EVMs once their domain is gone (releasing their allocation). Refuses implausible figures.
    func applyReport(_ report: HostReport, from hostID: String, at time: Date) throws -> EMPModel.Host {
        guard var host = try self.host(hostID) else { throw DomainError.notFound("host \(hostID)") }
        let evms = try self.evms(EVMFilter(hostID: hostID))
        do {
            try report.validate(capacity: host.capacity, evms: Dictionary(evms.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch let error as ValidationError {
            throw DomainError.invalid(error)
        }
        if host.state == .notReady {
            try append(Event(time: time, object: ObjectRef(.host, hostID), reason: "HostReady", message: "agent reports again"))
        }
        host.state = .ready
        host.used = report.used
        host.lastHeartbeat = time
        if let deadline = report.interruptionDeadline, host.deadline != deadline {
            host.deadline = deadline
            try append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: "InterruptionNotice",
                    message: "the provider takes the host away at \(deadline.formatted(.iso8601)); evacuating", type: .warning))
            try bumpRevision(RebalanceRevision.scope)
        }
        let observed = Dictionary(report.domains.map { ($0.evmID, $0) }, uniquingKeysWith: { a, _ in a })
        var changed = false
        // CPU is measured per EVM (a rate between reports); the host's is their sum when the agent sends none.
        var evmCPU: Int64 = 0
        for var evm in evms {
            let domain = observed[evm.id]
            if let domain, evm.phase != .deleting {
                AgentReports.recordUsage(domain, into: &evm, at: time)
                try save(evm)
            }
            switch evm.phase {
            case .creating where domain?.running == true:
                evm.phase = .running
                evm.message = nil
                try save(evm)
                try append(
                    Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Running", message: "domain running on \(hostID)"))
            case .creating where domain?.error != nil:
                evm.message = domain?.error
                try save(evm)
            case .deleting where domain == nil:
                try deleteEVM(evm.id)
                host.allocated -= evm.shape.resources
                changed = true
                try append(
                    Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Deleted", message: "domain removed from \(hostID)"))
            default:
                break
            }
            if !(evm.phase == .deleting && domain == nil) { evmCPU += evm.used?.cpuMillis ?? 0 }
        }
        if report.used.cpuMillis == 0 { host.used.cpuMillis = evmCPU }
        try save(host)
        if changed { try bumpRevision(HostRevision.scope(hostID)) }
        return host
    }
}

/// How reported domain figures become an EVM's usage.
enum AgentReports {
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
}
