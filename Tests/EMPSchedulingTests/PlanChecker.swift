import EMPModel
import EMPScheduling

/// Checks a rebalance plan against every rule, written from the issue's text and independently of the planner:
/// it replays the moves in order on the snapshot and sweeps the schedule for concurrency.
struct PlanChecker {
    let snapshot: Snapshot
    let settings: RebalanceSettings

    /// Every rule the plan breaks, in words; empty when the plan is valid.
    func violations(of plan: RebalancePlan) -> [String] {
        var problems: [String] = []
        var hosts = Dictionary(uniqueKeysWithValues: snapshot.hosts.map { ($0.id, $0) })
        var location = Dictionary(uniqueKeysWithValues: snapshot.evms.map { ($0.id, $0.hostID) })
        let evms = Dictionary(uniqueKeysWithValues: snapshot.evms.map { ($0.id, $0) })
        let inFlight = Set(snapshot.inFlight.map(\.evmID))
        var moved: Set<String> = []
        for move in plan.moves {
            let label = "\(move.evmID) \(move.from)→\(move.to) (\(move.reason))"
            guard let evm = evms[move.evmID], let source = hosts[move.from], let target = hosts[move.to] else {
                problems.append("\(label): unknown EVM or host")
                continue
            }
            if location[evm.id] != move.from { problems.append("\(label): the EVM is on \(location[evm.id] ?? "?")") }
            if inFlight.contains(evm.id) { problems.append("\(label): already migrating") }
            if !moved.insert(evm.id).inserted { problems.append("\(label): moved twice in one plan") }
            if source.poolID != target.poolID { problems.append("\(label): crosses pools") }
            if move.from == move.to { problems.append("\(label): goes nowhere") }
            if target.state != .ready || target.deadlineSeconds != nil {
                problems.append("\(label): target cannot receive (\(target.state))")
            }
            let evacuating = source.state == .maintenance || source.deadlineSeconds != nil
            if move.reason == .evacuate, !evacuating { problems.append("\(label): evacuates a host that need not be emptied") }
            if move.reason != .evacuate {
                if let since = evm.secondsSinceMigration, since < settings.cooldownSeconds { problems.append("\(label): in cooldown") }
                if evm.previousHostID == move.to { problems.append("\(label): goes back to the host it left") }
            }
            if let deadline = source.deadlineSeconds, move.startSeconds + move.durationSeconds > deadline + 1e-9 {
                problems.append("\(label): ends after the source's deadline")
            }
            if move.startSeconds < 0 { problems.append("\(label): starts in the past") }
            var s = source
            var t = target
            s.allocated = s.allocated - evm.size
            s.used = s.used - evm.used
            t.allocated = t.allocated + evm.size
            t.used = t.used + evm.used
            let allocCPU = Double(t.capacity.cpuMillis) * t.cpuOvercommit
            let allocMemory = Double(t.capacity.memoryBytes) * t.memoryOvercommit
            if Double(t.allocated.cpuMillis) > allocCPU || Double(t.allocated.memoryBytes) > allocMemory {
                problems.append("\(label): target allocated \(t.allocated) over capacity × ratio")
            }
            if Double(t.used.cpuMillis) > Double(t.capacity.cpuMillis) * t.highWatermark
                || Double(t.used.memoryBytes) > Double(t.capacity.memoryBytes) * t.highWatermark
            {
                problems.append("\(label): target used \(t.used) over its watermark")
            }
            hosts[s.id] = s
            hosts[t.id] = t
            location[evm.id] = move.to
        }
        problems += concurrencyViolations(plan)
        // Goals reached or reported.
        let reported = Set(plan.unresolved.compactMap(\.evmID))
        let hotReported = Set(plan.unresolved.filter { $0.kind == .hot }.map(\.hostID))
        for host in snapshot.hosts where host.state == .maintenance || host.deadlineSeconds != nil {
            let left = location.filter { $0.value == host.id && !reported.contains($0.key) && !inFlight.contains($0.key) }
            if !left.isEmpty { problems.append("\(host.id) must be emptied but keeps \(left.keys.sorted()) unreported") }
        }
        for host in hosts.values where host.state != .maintenance && host.deadlineSeconds == nil {
            let hot =
                Double(host.used.cpuMillis) > Double(host.capacity.cpuMillis) * host.highWatermark
                || Double(host.used.memoryBytes) > Double(host.capacity.memoryBytes) * host.highWatermark
            if hot, !hotReported.contains(host.id) { problems.append("\(host.id) ends above its watermark unreported") }
        }
        return problems
    }

    /// At every moment: ≤ per-pool, per-host outbound and inbound limits, counting migrations already in flight.
    func concurrencyViolations(_ plan: RebalancePlan) -> [String] {
        struct Interval {
            var start: Double, end: Double, from: String, to: String
        }
        var intervals = plan.moves.map {
            Interval(start: $0.startSeconds, end: $0.startSeconds + $0.durationSeconds, from: $0.from, to: $0.to)
        }
        for migration in snapshot.inFlight {
            intervals.append(Interval(start: 0, end: migration.remainingSeconds ?? 0, from: migration.from, to: migration.to))
        }
        let pool = Dictionary(snapshot.hosts.map { ($0.id, $0.poolID ?? "") }, uniquingKeysWith: { a, _ in a })
        var problems: [String] = []
        for probe in intervals where probe.end > probe.start {
            let running = intervals.filter { $0.start <= probe.start && probe.start < $0.end }
            let inPool = running.filter { pool[$0.from] == pool[probe.from] }.count
            if inPool > settings.maxInFlightPerPool { problems.append("\(inPool) migrations at t=\(probe.start) in one pool") }
            let out = running.filter { $0.from == probe.from }.count
            if out > settings.maxOutboundPerHost { problems.append("\(out) migrations leave \(probe.from) at t=\(probe.start)") }
            let into = running.filter { $0.to == probe.to }.count
            if into > settings.maxInboundPerHost { problems.append("\(into) migrations enter \(probe.to) at t=\(probe.start)") }
        }
        return problems
    }
}
