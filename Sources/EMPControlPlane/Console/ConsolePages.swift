import EMPModel
import EMPScheduling
import EMPStore
import Foundation

/// What each console page shows, read from the store in one transaction and turned into display strings. The
/// templates only lay these out.
enum ConsolePages {
    struct PhaseCount: Sendable {
        let phase: String
        let count: Int
    }

    struct StateCount: Sendable {
        let state: String
        let count: Int
    }

    /// EVMs by phase (phases with none left out), counted without reading the EVMs.
    static func phases(_ tx: any StoreReading, pool: String? = nil, host: String? = nil) throws -> [PhaseCount] {
        try EVMPhase.allCases.compactMap { phase in
            let count = try tx.evmCount(EVMFilter(poolID: pool, hostID: host, phases: [phase]))
            return count > 0 ? PhaseCount(phase: phase.rawValue, count: count) : nil
        }
    }

    /// The pool's CPU and memory gauges: limit (capacity × overcommit of the hosts that count), allocated, used.
    static func gauges(pool: Pool, hosts: [EMPModel.Host]) -> (cpu: String, memory: String) {
        let totals = CostModel.totals(pool: pool, hosts: hosts)
        return gauges(limit: totals.limit, allocated: totals.allocated, used: totals.used)
    }

    static func gauges(limit: Resources, allocated: Resources, used: Resources) -> (cpu: String, memory: String) {
        (
            ConsoleGraphics.gauge(
                title: "CPU", limit: Double(limit.cpuMillis) / 1000, allocated: Double(allocated.cpuMillis) / 1000,
                used: Double(used.cpuMillis) / 1000, unit: ConsoleGraphics.cores),
            ConsoleGraphics.gauge(
                title: "Memory", limit: Double(limit.memoryBytes), allocated: Double(allocated.memoryBytes), used: Double(used.memoryBytes),
                unit: ConsoleGraphics.gibibytes)
        )
    }

    // MARK: Pools

    struct PoolCard: Sendable {
        let id: String
        let hosts: Int
        let evms: Int
        let phases: [PhaseCount]
        let pending: Int
        let cpuGauge: String
        let memoryGauge: String
        let savingMonthly: String
        let savingPercent: String
    }

    struct PoolsPage: Sendable { let pools: [PoolCard] }

    static func pools(_ tx: any StoreReading, model: CostModel, pending: PendingBoard, at time: Date) throws -> PoolsPage {
        PoolsPage(
            pools: try tx.pools().map { pool in
                let hosts = try tx.hosts(pool: pool.id)
                let phases = try phases(tx, pool: pool.id)
                let (cpu, memory) = gauges(pool: pool, hosts: hosts)
                let estimate = try tx.costEstimate(pool, hosts: hosts, model: model, at: time)
                return PoolCard(
                    id: pool.id, hosts: hosts.count, evms: phases.reduce(0) { $0 + $1.count }, phases: phases,
                    pending: pending.pods(pool: pool.id).count, cpuGauge: cpu, memoryGauge: memory,
                    savingMonthly: Money.format(estimate.savingMonthly), savingPercent: Money.percent(estimate.savingPercent))
            })
    }

    // MARK: Pool dashboard

    struct HostRow: Sendable {
        let id: String
        let state: String
        let evms: Int
        let cpu: String
        let memory: String
    }

    struct EVMRow: Sendable {
        let id: String
        let phase: String
        let host: String
        let node: String
        let cpu: String
        let memory: String
        let steal: String
    }

    struct MigrationRow: Sendable {
        let evm: String
        let from: String
        let to: String
        let state: String
        let progress: String
        let reason: String
    }

    struct MoveRow: Sendable {
        let evm: String
        let from: String
        let to: String
        let reason: String
        let bytes: String
    }

    struct PoolPage: Sendable {
        let id: String
        let summary: String
        let cpuGauge: String
        let memoryGauge: String
        let hostsHourly: String
        let evmsHourly: String
        let runningEVMs: Int
        let instanceType: String
        let savingHourly: String
        let savingPercent: String
        let savedTotal: String
        let hostStates: [StateCount]
        let hosts: [HostRow]
        let moreHosts: String?
        let phases: [PhaseCount]
        let evms: [EVMRow]
        let moreEVMs: String?
        let pending: [String]
        let migrations: [MigrationRow]
        let moves: [MoveRow]
        let moreMoves: String?
        let planned: String
        let freed: String?
        let unresolved: [String]
        let cpuChart: String
        let memoryChart: String
    }

    /// Hosts and EVMs listed on a dashboard at most; the rest are counted.
    static let rows = 200

    static func pool(
        _ tx: any StoreReading, id: String, model: CostModel, pending: PendingBoard, plans: PlanBoard, settings: RebalanceSettings,
        at time: Date
    ) throws -> PoolPage? {
        guard let pool = try tx.pool(id) else { return nil }
        let hosts = try tx.hosts(pool: id)
        let (cpu, memory) = gauges(pool: pool, hosts: hosts)
        let estimate = try tx.costEstimate(pool, hosts: hosts, model: model, at: time)
        let evms = try tx.evms(EVMFilter(poolID: id), after: nil, limit: rows + 1)
        let phases = try phases(tx, pool: id)
        let total = phases.reduce(0) { $0 + $1.count }
        let evmsPerHost = try tx.evmCountsByHost(pool: id)
        let hostIDs = Set(hosts.map(\.id))
        let migrations = try tx.migrations(MigrationFilter(states: [.preparing, .running])).filter { hostIDs.contains($0.from) }
        // The rebalancer's own latest plan (every pool's) when it runs; a dry run of this pool otherwise.
        let plan: RebalancePlan
        let planned: String
        if let latest = plans.plan {
            let inPool = { (host: String) in hostIDs.contains(host) }
            plan = RebalancePlan(
                moves: latest.plan.moves.filter { inPool($0.from) }, unresolved: latest.plan.unresolved.filter { inPool($0.hostID) },
                freedHosts: latest.plan.freedHosts.filter(inPool))
            planned = "the rebalancer's plan of \(timestamp(latest.at))"
        } else {
            plan = Rebalancer(settings: settings).plan(try tx.snapshot(pool: id, at: time, settings: settings))
            planned = "a dry run now (the rebalancer has not planned yet, or is off)"
        }
        let samples = CostModel.downsample(try tx.poolSamples(pool: id, since: time.addingTimeInterval(-86_400)), points: 288)
        let (cpuChart, memoryChart) = charts(
            times: samples.map(\.at.timeIntervalSince1970), limit: samples.map(\.limit), allocated: samples.map(\.allocated),
            used: samples.map(\.used))
        let policy = pool.policy
        return PoolPage(
            id: id,
            summary:
                "EVMs of \(pool.shape.resources); overcommit CPU ×\(policy.cpuOvercommit), memory ×\(policy.memoryOvercommit); "
                + "\(policy.minEVMs)–\(policy.maxEVMs) EVMs; high watermark \(Int(policy.highWatermark * 100))%; \(policy.placement.rawValue)",
            cpuGauge: cpu, memoryGauge: memory, hostsHourly: Money.format(estimate.hostsHourly),
            evmsHourly: Money.format(estimate.evmsHourly),
            runningEVMs: estimate.runningEVMs, instanceType: estimate.evmInstanceType ?? "-",
            savingHourly: Money.format(estimate.savingHourly),
            savingPercent: Money.percent(estimate.savingPercent), savedTotal: Money.format(estimate.savedTotal),
            hostStates: HostState.allCases.compactMap { state in
                let count = hosts.filter { $0.effectiveState == state }.count
                return count > 0 ? StateCount(state: state.rawValue, count: count) : nil
            },
            hosts: hosts.prefix(rows).map { host in
                let limit = pool.limit(of: host.capacity)
                return HostRow(
                    id: host.id, state: host.effectiveState.rawValue, evms: evmsPerHost[host.id] ?? 0,
                    cpu: "\(cores(host.allocated.cpuMillis)) / \(cores(host.used.cpuMillis)) / \(cores(limit.cpuMillis))",
                    memory: "\(bytes(host.allocated.memoryBytes)) / \(bytes(host.used.memoryBytes)) / \(bytes(limit.memoryBytes))")
            },
            moreHosts: hosts.count > rows ? "\(hosts.count - rows) more: empctl host list --pool \(id)" : nil,
            phases: phases,
            evms: evms.prefix(rows).map { evm in
                EVMRow(
                    id: evm.id, phase: evm.phase.rawValue, host: evm.hostID ?? "-", node: evm.nodeName,
                    cpu: evm.used.map { cores($0.cpuMillis) } ?? "-", memory: evm.used.map { bytes($0.memoryBytes) } ?? "-",
                    steal: evm.contention?.stealMillis.map(cores) ?? "-")
            },
            moreEVMs: total > rows ? "\(total - rows) more: empctl evm list --pool \(id)" : nil,
            pending: pending.pods(pool: id),
            migrations: migrations.map(migrationRow),
            moves: plan.moves.prefix(rows).map { move in
                MoveRow(evm: move.evmID, from: move.from, to: move.to, reason: move.reason.rawValue, bytes: bytes(move.bytes))
            },
            moreMoves: plan.moves.count > rows ? "\(plan.moves.count - rows) more moves: empctl plan --pool \(id)" : nil,
            planned: planned, freed: plan.freedHosts.isEmpty ? nil : plan.freedHosts.joined(separator: ", "),
            unresolved: plan.unresolved.prefix(rows).map { "\($0)" },
            cpuChart: cpuChart, memoryChart: memoryChart)
    }

    /// CPU and memory over the last day: limit, allocated and used.
    static func charts(times: [Double], limit: [Resources], allocated: [Resources], used: [Resources]) -> (cpu: String, memory: String) {
        func series(_ resource: KeyPath<Resources, Int64>, scale: Double) -> [ConsoleGraphics.Series] {
            [
                .init(name: "limit", style: "limit", values: limit.map { Double($0[keyPath: resource]) / scale }),
                .init(name: "allocated", style: "allocated", values: allocated.map { Double($0[keyPath: resource]) / scale }),
                .init(name: "used", style: "used", values: used.map { Double($0[keyPath: resource]) / scale }),
            ]
        }
        return (
            ConsoleGraphics.chart(
                title: "CPU, last 24 h", times: times, series: series(\.cpuMillis, scale: 1000), unit: ConsoleGraphics.cores),
            ConsoleGraphics.chart(
                title: "Memory, last 24 h", times: times, series: series(\.memoryBytes, scale: 1), unit: ConsoleGraphics.gibibytes)
        )
    }

    static func migrationRow(_ migration: Migration) -> MigrationRow {
        var progress = "-"
        if let total = migration.progress?.dataTotalBytes, total > 0, let done = migration.progress?.dataProcessedBytes {
            progress = String(format: "%.0f%% of %@", min(100, Double(done) / Double(total) * 100), bytes(total))
        }
        return MigrationRow(
            evm: migration.evmID, from: migration.from, to: migration.to, state: migration.state.rawValue, progress: progress,
            reason: migration.reason.rawValue)
    }

    // MARK: EVM details

    struct Step: Sendable {
        let key: String
        let name: String
        let time: String
        let offset: String
        let status: String
    }

    struct EventRow: Sendable {
        let time: String
        let reason: String
        let message: String
        let object: String
        let link: String?
        let type: String
    }

    struct EVMMigrationRow: Sendable {
        let from: String
        let to: String
        let state: String
        let reason: String
        let when: String
        let progress: String
    }

    struct EVMPage: Sendable {
        let id: String
        let pool: String
        let phase: String
        let hostLink: String?
        let node: String
        let shape: String
        let message: String?
        let steps: [Step]
        let cpu: String
        let memory: String
        let steal: String
        let swap: String
        let migrations: [EVMMigrationRow]
        let events: [EventRow]
    }

    static func evm(_ tx: any StoreReading, id: String) throws -> EVMPage? {
        guard let evm = try tx.evm(id) else { return nil }
        let events = try tx.events(EventFilter(object: ObjectRef(.evm, id), limit: 200))
        let placed = events.first { $0.reason == "Placed" }?.time ?? (evm.hostID != nil ? evm.createdAt : nil)
        let steps = evm.provisioning
        let timeline: [(String, String, Date?)] = [
            ("requested", "Requested", evm.createdAt),
            ("placed", "Placed on a host", placed),
            ("nodeRegistered", "Node registered", steps?.nodeRegisteredAt),
            ("seedWritten", "Seed written", steps?.seedWrittenAt),
            ("defined", "Domain defined", steps?.definedAt),
            ("booted", "Booted", steps?.bootedAt),
            ("nodeReady", "Node Ready", evm.nodeReadyAt),
        ]
        let migrations = try tx.migrations(MigrationFilter(evmID: id))
        return EVMPage(
            id: id, pool: evm.poolID, phase: evm.phase.rawValue, hostLink: evm.hostID, node: evm.nodeName,
            shape: evm.shape.resources.description, message: evm.message,
            steps: timeline.map { key, name, time in
                Step(
                    key: key, name: name, time: time.map(timestamp) ?? "—",
                    offset: time.map { String(format: "+%.1f s", $0.timeIntervalSince(evm.createdAt)) } ?? "",
                    status: time == nil ? "pending" : "done")
            },
            cpu: evm.used.map { cores($0.cpuMillis) } ?? "not reported", memory: evm.used.map { bytes($0.memoryBytes) } ?? "not reported",
            steal: evm.contention?.stealMillis.map(cores) ?? "not reported", swap: swap(evm.contention?.memory),
            migrations: migrations.map { migration in
                EVMMigrationRow(
                    from: migration.from, to: migration.to, state: migration.state.rawValue, reason: migration.reason.rawValue,
                    when: timestamp(migration.createdAt), progress: migrationRow(migration).progress)
            },
            events: events.reversed().map(eventRow))
    }

    static func eventRow(_ event: Event) -> EventRow {
        let kind = event.object.kind
        let link: String? =
            switch kind {
            case .pool: "/pools/\(event.object.id)"
            case .host: "/hosts/\(event.object.id)"
            case .evm: "/evms/\(event.object.id)"
            default: nil
            }
        return EventRow(
            time: timestamp(event.time), reason: event.reason, message: event.message, object: "\(kind.rawValue)/\(event.object.id)",
            link: link, type: event.type.rawValue)
    }

    // MARK: Host

    struct HostEVMRow: Sendable {
        let id: String
        let phase: String
        let allocated: String
        let cpu: String
        let memory: String
        let steal: String
        let swap: String
    }

    struct HostPage: Sendable {
        let id: String
        let pool: String
        let state: String
        let capacity: String
        let heartbeat: String
        /// The provider's machine (`ec2 i-0abc m5.metal us-east-1a spot, running`) when a provider launched it.
        let machine: String?
        let cpuGauge: String
        let memoryGauge: String
        let cpuChart: String
        let memoryChart: String
        let canAct: Bool
        let csrf: String
        let maintenanceNext: String
        let maintenanceLabel: String
        let evms: [HostEVMRow]
        let events: [EventRow]
    }

    static func host(_ tx: any StoreReading, id: String, session: ConsoleSessions.Session, at time: Date) throws -> HostPage? {
        guard let host = try tx.host(id) else { return nil }
        let pool = try tx.pool(host.poolID)
        let limit = pool?.limit(of: host.capacity) ?? host.capacity
        let (cpu, memory) = gauges(limit: limit, allocated: host.allocated, used: host.used)
        let samples = try tx.hostSamples(host: id, since: time.addingTimeInterval(-86_400))
        let (cpuChart, memoryChart) = charts(
            times: samples.map(\.at.timeIntervalSince1970), limit: samples.map(\.limit), allocated: samples.map(\.allocated),
            used: samples.map(\.used))
        return HostPage(
            id: id, pool: host.poolID, state: host.effectiveState.rawValue, capacity: "capacity \(host.capacity)",
            heartbeat: host.lastHeartbeat.map(timestamp) ?? "never",
            machine: host.provider.map { info in
                let parts = [
                    info.provider, info.machineID ?? info.launchID, info.instanceType, info.zone,
                    info.lifecycle == .spot ? "spot" : "on-demand",
                ]
                return parts.compactMap { $0 }.joined(separator: " ") + (info.machineState.map { ", \($0)" } ?? "")
            },
            cpuGauge: cpu, memoryGauge: memory, cpuChart: cpuChart,
            memoryChart: memoryChart,
            canAct: session.role == .operator, csrf: session.csrf, maintenanceNext: host.maintenance ? "false" : "true",
            maintenanceLabel: host.maintenance ? "End maintenance" : "Start maintenance",
            evms: try tx.evms(EVMFilter(hostID: id)).map { evm in
                HostEVMRow(
                    id: evm.id, phase: evm.phase.rawValue, allocated: evm.shape.resources.description,
                    cpu: evm.used.map { cores($0.cpuMillis) } ?? "-", memory: evm.used.map { bytes($0.memoryBytes) } ?? "-",
                    steal: evm.contention?.stealMillis.map(cores) ?? "-", swap: swap(evm.contention?.memory))
            },
            events: try tx.events(EventFilter(object: ObjectRef(.host, id), limit: 100)).reversed().map(eventRow))
    }

    // MARK: Events

    struct KindOption: Sendable {
        let value: String
        let selected: Bool
    }

    struct EventsPage: Sendable {
        let kinds: [KindOption]
        let id: String
        let reason: String
        let error: String?
        let rows: [EventRow]
    }

    /// The newest events (500 looked at), by object and reason when given; an unknown kind is said, not ignored.
    static func events(_ tx: any StoreReading, kind: String?, id: String?, reason: String?) throws -> EventsPage {
        let kind = kind.flatMap { $0.isEmpty ? nil : $0 }
        let id = id.flatMap { $0.isEmpty ? nil : $0 }
        let reason = reason.flatMap { $0.isEmpty ? nil : $0 }
        var error: String?
        var object: ObjectRef?
        var rows: [Event] = []
        if let kind {
            if let parsed = ObjectKind(rawValue: kind) {
                if let id { object = ObjectRef(parsed, id) }
            } else {
                error = "unknown kind \"\(kind)\"; one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))"
            }
        }
        if error == nil {
            rows = try tx.events(EventFilter(object: object, limit: 500)).reversed().filter { event in
                (kind == nil || event.object.kind.rawValue == kind) && (id == nil || event.object.id == id)
                    && (reason == nil || event.reason.localizedCaseInsensitiveContains(reason!))
            }
        }
        return EventsPage(
            kinds: ObjectKind.allCases.map { KindOption(value: $0.rawValue, selected: $0.rawValue == kind) }, id: id ?? "",
            reason: reason ?? "", error: error, rows: rows.map(eventRow))
    }

    // MARK: Savings

    struct SavingsRow: Sendable {
        let id: String
        let hosts: Int
        let hostsHourly: String
        let evms: Int
        let instance: String
        let evmsHourly: String
        let savingHourly: String
        let savingPercent: String
        let since: String
        let savedTotal: String
    }

    struct SavingsPage: Sendable {
        let note: String
        let hostsHourly: String
        let evmsHourly: String
        let savingHourly: String
        let savingPercent: String
        let savingMonthly: String
        let savedTotal: String
        let pools: [SavingsRow]
        let charts: [String]
    }

    static func savings(_ tx: any StoreReading, model: CostModel, at time: Date) throws -> SavingsPage {
        var estimates: [CostEstimate] = []
        var charts: [String] = []
        for pool in try tx.pools() {
            estimates.append(try tx.costEstimate(pool, hosts: try tx.hosts(pool: pool.id), model: model, at: time))
            let samples = CostModel.downsample(try tx.poolSamples(pool: pool.id, since: time.addingTimeInterval(-30 * 86_400)), points: 300)
            let times = samples.map(\.at.timeIntervalSince1970)
            charts.append(
                ConsoleGraphics.chart(
                    title: "\(pool.id): saved so far", times: times,
                    series: [.init(name: "saved", style: "saving-line", values: samples.map { max(0, $0.savedTotal) })],
                    unit: ConsoleGraphics.dollars))
            charts.append(
                ConsoleGraphics.chart(
                    title: "\(pool.id): cost per hour", times: times,
                    series: [
                        .init(name: "as instances", style: "saving-line", values: samples.map(\.evmsHourly)),
                        .init(name: "hosts", style: "cost-line", values: samples.map(\.hostsHourly)),
                    ], unit: ConsoleGraphics.dollars))
        }
        let overall = CostOverview(pools: estimates)
        return SavingsPage(
            note: CostEstimate.note.prefix(1).uppercased() + CostEstimate.note.dropFirst(), hostsHourly: Money.format(overall.hostsHourly),
            evmsHourly: Money.format(overall.evmsHourly), savingHourly: Money.format(overall.savingHourly),
            savingPercent: Money.percent(overall.savingPercent), savingMonthly: Money.format(overall.savingMonthly),
            savedTotal: Money.format(overall.savedTotal),
            pools: estimates.map { estimate in
                SavingsRow(
                    id: estimate.poolID, hosts: estimate.hosts, hostsHourly: Money.format(estimate.hostsHourly), evms: estimate.runningEVMs,
                    instance: estimate.evmInstanceType.map { "\($0) at \(Money.format(estimate.evmInstanceHourly))/h" } ?? "-",
                    evmsHourly: Money.format(estimate.evmsHourly), savingHourly: Money.format(estimate.savingHourly),
                    savingPercent: Money.percent(estimate.savingPercent), since: estimate.since.map(timestamp) ?? "-",
                    savedTotal: Money.format(estimate.savedTotal))
            }, charts: charts)
    }

    // MARK: Formatting

    static func cores(_ millis: Int64) -> String { ConsoleGraphics.cores(Double(millis) / 1000) }
    static func bytes(_ bytes: Int64) -> String { ConsoleGraphics.gibibytes(Double(bytes)) }
    static func timestamp(_ date: Date) -> String { date.formatted(.iso8601) }
    static func swap(_ memory: GuestMemory?) -> String {
        guard let memory, memory.swapInBytes != nil || memory.swapOutBytes != nil else { return "not reported" }
        return "\(bytes(memory.swapInBytes ?? 0)) / \(bytes(memory.swapOutBytes ?? 0))"
    }
}
