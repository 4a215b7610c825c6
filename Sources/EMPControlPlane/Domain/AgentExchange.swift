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
        let departed = try evms(EVMFilter(previousHostID: hostID)).filter { $0.hostID != hostID }.map(\.id)
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

    /// Records a report that changes more than heartbeat and usage (``ReportOutcome/durable``): moves EVMs
    /// `creating → running` once their domain runs, forgets `deleting` EVMs once their domain is gone (releasing
    /// their allocation), marks the host ready again, records an interruption notice. Refuses implausible figures.
    func applyReport(_ report: HostReport, from hostID: String, at time: Date) throws -> ReportOutcome {
        let outcome = try reportOutcome(report, from: hostID, at: time)
        var host = outcome.host
        for evm in outcome.deleted {
            try deleteEVM(evm.id)
            host.allocated -= evm.shape.resources
        }
        for evm in outcome.forgotten { try deleteEVM(evm.id) }
        for evm in outcome.evms { try save(evm) }
        try save(host)
        for event in outcome.events { try append(event) }
        if outcome.interruptionNoticed || outcome.becameHot { try bumpRevision(RebalanceRevision.scope) }
        if !outcome.deleted.isEmpty || !outcome.forgotten.isEmpty { try bumpRevision(HostRevision.scope(hostID)) }
        var applied = outcome
        applied.host = host
        return applied
    }
}

extension StoreReading {
    /// What `report` changes, worked out from the host and its EVMs as stored (one indexed read of the host's).
    func reportOutcome(_ report: HostReport, from hostID: String, at time: Date) throws -> ReportOutcome {
        guard let host = try self.host(hostID) else { throw DomainError.notFound("host \(hostID)") }
        let usable = try pool(host.poolID).map { $0.policy.usable(host.capacity) }
        return try ReportOutcome(report, host: host, evms: try evms(EVMFilter(hostID: hostID)), usable: usable, at: time)
    }
}

/// What one agent report changes. Most reports change only heartbeat and usage (soft state, kept in memory and
/// flushed in batches); the rest (``durable``) need a write transaction.
struct ReportOutcome: Sendable {
    /// The host with the report's heartbeat, usage, state and deadline.
    var host: EMPModel.Host
    /// The host's EVMs that remain, with their usage and phase.
    var evms: [EVM]
    /// `deleting` EVMs whose domain is gone: removed, their allocation released.
    var deleted: [EVM]
    /// `lost` EVMs whose domain is gone (a returned host destroyed them): removed; their allocation was released
    /// when they were written off.
    var forgotten: [EVM]
    var events: [Event]
    /// A new interruption deadline: the rebalancer is woken.
    var interruptionNoticed: Bool
    /// The host's use crossed its pool's watermark with this report: the rebalancer is woken rather than left to
    /// find it at its next interval.
    var becameHot: Bool
    /// A change no event records: the host's state set to ready, an EVM's error message.
    private var quietlyChanged: Bool

    /// True when something beyond heartbeat and usage changed (every deletion, phase change and notice has its
    /// event).
    var durable: Bool { !events.isEmpty || quietlyChanged }

    /// Refuses implausible figures (``DomainError/Code/invalid``).
    /// `usable`: the most the host may use under its pool's watermark (nil: no pool, never hot).
    init(_ report: HostReport, host storedHost: EMPModel.Host, evms stored: [EVM], usable: Resources? = nil, at time: Date) throws {
        var host = storedHost
        let hostID = host.id
        do {
            try report.validate(capacity: host.capacity, evms: Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
        } catch let error as ValidationError {
            throw DomainError.invalid(error)
        }
        var events: [Event] = []
        var changed = host.state != .ready
        if host.state == .notReady {
            events.append(Event(time: time, object: ObjectRef(.host, hostID), reason: "HostReady", message: "agent reports again"))
        } else if host.state == .lost {
            events.append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: "HostReturned",
                    message:
                        "agent reports again after the host was lost; it destroys the written-off EVMs, and the host stays cordoned until `empctl host uncordon \(hostID)`",
                    type: .warning))
        }
        host.state = .ready
        host.used = report.used
        host.lastHeartbeat = time
        var noticed = false
        if let deadline = report.interruptionDeadline, host.deadline != deadline {
            host.deadline = deadline
            events.append(
                Event(
                    time: time, object: ObjectRef(.host, hostID), reason: "InterruptionNotice",
                    message: "the provider takes the host away at \(deadline.formatted(.iso8601)); evacuating", type: .warning))
            noticed = true
        }
        let observed = Dictionary(report.domains.map { ($0.evmID, $0) }, uniquingKeysWith: { a, _ in a })
        var kept: [EVM] = []
        var deleted: [EVM] = []
        var forgotten: [EVM] = []
        // CPU is measured per EVM (a rate between reports); the host's is their sum when the agent sends none.
        var evmCPU: Int64 = 0
        for var evm in stored {
            let domain = observed[evm.id]
            if let domain, evm.phase != .deleting, evm.phase != .lost { AgentReports.recordUsage(domain, into: &evm, at: time) }
            if let steps = domain?.provisioning, evm.provisioning != steps {
                evm.provisioning = steps
                changed = true
            }
            switch evm.phase {
            case .creating where domain?.running == true:
                evm.phase = evm.warm != nil ? .warm : .running
                evm.message = nil
                let warm = evm.warm.map { "; held as warm capacity (\($0.rawValue))" } ?? ""
                events.append(
                    Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Running", message: "domain running on \(hostID)\(warm)"))
            case .creating where domain?.error != nil && domain?.error != evm.message:
                evm.message = domain?.error
                changed = true
            case .deleting where domain == nil:
                deleted.append(evm)
                events.append(
                    Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Deleted", message: "domain removed from \(hostID)"))
                continue
            case .lost where domain == nil:
                forgotten.append(evm)
                events.append(
                    Event(
                        time: time, object: ObjectRef(.evm, evm.id), reason: "Deleted",
                        message: "the returned host \(hostID) destroyed the written-off domain"))
                continue
            default:
                break
            }
            kept.append(evm)
            evmCPU += evm.used?.cpuMillis ?? 0
        }
        if report.used.cpuMillis == 0 { host.used.cpuMillis = evmCPU }
        self.host = host
        self.evms = kept
        self.deleted = deleted
        self.forgotten = forgotten
        self.events = events
        self.interruptionNoticed = noticed
        self.becameHot = usable.map { !host.used.fits(in: $0) && storedHost.used.fits(in: $0) } ?? false
        self.quietlyChanged = changed
    }
}

/// How reported domain figures become an EVM's usage.
enum AgentReports {
    /// Memory from RSS; CPU as the rate between this report's CPU time and the previous one of the same domain
    /// instance, at most the EVM's vCPUs.
    static func recordUsage(_ domain: DomainReport, into evm: inout EVM, at time: Date) {
        var used = evm.used ?? .zero
        if let rss = domain.rssBytes { used.memoryBytes = rss }
        var contention = evm.contention ?? Contention()
        if let cpu = domain.cpuTimeNanoseconds {
            let sample = CPUSample(cpuTimeNanoseconds: cpu, at: time, instance: domain.instance, stealNanoseconds: domain.stealNanoseconds)
            if let rate = evm.cpuSample?.millicores(until: sample, limit: evm.shape.resources.cpuMillis) { used.cpuMillis = rate }
            if let steal = evm.cpuSample?.stealMillicores(until: sample) { contention.stealMillis = steal }
            evm.cpuSample = sample
        }
        contention.memory = domain.swap ?? contention.memory
        evm.used = used
        if contention != Contention() { evm.contention = contention }
    }
}
