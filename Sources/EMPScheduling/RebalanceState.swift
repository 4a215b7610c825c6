import EMPModel

/// One pool while the rebalancer plans it: where each EVM is, each host's load, and the moves so far.
struct RebalanceState {
    struct HostLoad {
        let snapshot: HostSnapshot
        var used: Resources
        var allocated: Resources
        /// Indices into `evms` of the EVMs on it now.
        var evms: [Int]
        /// Consolidation is emptying it: nothing may land here any more.
        var freeing = false

        var mustEvacuate: Bool { snapshot.mustEvacuate }
        var canReceive: Bool { snapshot.canReceive && !freeing }
        /// Used share of capacity per dimension.
        var memoryShare: Double { Double(used.memoryBytes) / Double(max(1, snapshot.capacity.memoryBytes)) }
        var cpuShare: Double { Double(used.cpuMillis) / Double(max(1, snapshot.capacity.cpuMillis)) }
        var isHot: Bool { !used.fits(in: snapshot.usageLimit) }
    }

    struct EVMLoad {
        let snapshot: EVMSnapshot
        var host: Int
        /// Moving now (in flight) or already moved by this plan: it does not move again.
        var pinned: Bool
        var inCooldown: Bool
        /// Memory the migration copies: RSS when reported, else the EVM's size.
        var memoryToCopy: Int64 { snapshot.used.memoryBytes > 0 ? snapshot.used.memoryBytes : snapshot.size.memoryBytes }
    }

    var hosts: [HostLoad]
    var evms: [EVMLoad]
    let hostIndex: [String: Int]
    let settings: RebalanceSettings
    var schedule: LaneSchedule
    var moves: [PlannedMove] = []
    var unresolved: [Unresolved] = []

    init(hosts: [HostSnapshot], evms: [EVMSnapshot], inFlight: [InFlightMigration], settings: RebalanceSettings) {
        self.settings = settings
        var index: [String: Int] = [:]
        for (i, host) in hosts.enumerated() { index[host.id] = i }
        hostIndex = index
        self.hosts = hosts.map { HostLoad(snapshot: $0, used: $0.used, allocated: $0.allocated, evms: []) }
        let moving = Set(inFlight.map(\.evmID))
        self.evms = []
        for evm in evms {
            guard let host = index[evm.hostID] else { continue }
            let cooling = evm.secondsSinceMigration.map { $0 < settings.cooldownSeconds } ?? false
            self.hosts[host].evms.append(self.evms.count)
            self.evms.append(EVMLoad(snapshot: evm, host: host, pinned: moving.contains(evm.id), inCooldown: cooling))
        }
        schedule = LaneSchedule(limits: settings.limits, hostCount: hosts.count)
        let sizes = Dictionary(evms.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for migration in inFlight {
            guard let from = index[migration.from], let to = index[migration.to] else { continue }
            let whole = sizes[migration.evmID].map { Self.estimate(memory: $0.used.memoryBytes, dirty: $0.dirtyBytesPerSecond, settings) }
            _ = schedule.reserve(from: from, to: to, duration: migration.remainingSeconds ?? whole?.seconds ?? 0)
        }
    }

    // MARK: Estimates

    /// Pre-copy transfer of `memory` bytes while the guest dirties `dirty` bytes/s: each pass re-sends what the last
    /// one dirtied, a geometric series; auto-converge throttles a guest that dirties faster than half the link.
    static func estimate(memory: Int64, dirty: Int64?, _ settings: RebalanceSettings) -> (bytes: Int64, seconds: Double) {
        let ratio = min(0.5, Double(dirty ?? 0) / settings.bandwidthBytesPerSecond)
        let bytes = Double(memory) / (1 - ratio)
        return (Int64(clamping: bytes.rounded()), bytes / settings.bandwidthBytesPerSecond)
    }

    /// Post-copy: one pass, then the destination pulls what is left on demand.
    static func postCopySeconds(memory: Int64, _ settings: RebalanceSettings) -> Double {
        Double(memory) / settings.bandwidthBytesPerSecond
    }

    func estimate(_ evm: Int) -> (bytes: Int64, seconds: Double) {
        Self.estimate(memory: evms[evm].memoryToCopy, dirty: evms[evm].snapshot.dirtyBytesPerSecond, settings)
    }

    // MARK: Rules

    /// May `evm` leave its host for `reason`? In flight or moved already: never; in cooldown: only to evacuate.
    func movable(_ evm: Int, for reason: MigrationReason) -> Bool {
        !evms[evm].pinned && (reason == .evacuate || !evms[evm].inCooldown)
    }

    /// May `evm` land on `target` for `reason`, with the target's usage kept at or under `usageShare` × capacity
    /// (the watermark unless consolidating)?
    func fits(_ evm: Int, on target: Int, for reason: MigrationReason, usageShare: Double? = nil) -> Bool {
        let host = hosts[target]
        let load = evms[evm]
        guard target != load.host, host.canReceive else { return false }
        if reason != .evacuate, load.snapshot.previousHostID == host.snapshot.id { return false }
        guard (host.allocated + load.snapshot.size).fits(in: host.snapshot.allocationLimit) else { return false }
        let limit = usageShare.map { host.snapshot.capacity.scaled(cpu: $0, memory: $0) } ?? host.snapshot.usageLimit
        return (host.used + load.snapshot.used).fits(in: limit)
    }

    /// Moves `evm` to `target` in the working state (no schedule): used by goals that try and undo.
    mutating func shift(_ evm: Int, to target: Int) {
        let source = evms[evm].host
        let load = evms[evm].snapshot
        hosts[source].used -= load.used
        hosts[source].allocated -= load.size
        hosts[source].evms.removeAll { $0 == evm }
        hosts[target].used += load.used
        hosts[target].allocated += load.size
        hosts[target].evms.append(evm)
        evms[evm].host = target
    }

    /// Commits the move of `evm` to `target`: state, schedule and plan.
    @discardableResult
    mutating func commit(_ evm: Int, to target: Int, reason: MigrationReason, explanation: String, postCopy: Bool = false) -> PlannedMove {
        let source = evms[evm].host
        let (bytes, seconds) = estimate(evm)
        let duration = postCopy ? Self.postCopySeconds(memory: evms[evm].memoryToCopy, settings) : seconds
        let start = schedule.reserve(from: source, to: target, duration: duration)
        shift(evm, to: target)
        evms[evm].pinned = true
        let move = PlannedMove(
            evmID: evms[evm].snapshot.id, from: hosts[source].snapshot.id, to: hosts[target].snapshot.id, reason: reason,
            bytes: postCopy ? evms[evm].memoryToCopy : bytes, startSeconds: start, durationSeconds: duration, postCopy: postCopy,
            explanation: explanation)
        moves.append(move)
        return move
    }

    /// Among `candidates`, the receiving host that `evm` fits best: with `soonest` the one it can start moving to
    /// first (evacuations race the clock), then occupied hosts before empty ones (so relief does not undo
    /// consolidation), then the lowest resulting used share; ties by id.
    func spreadTarget(for evm: Int, reason: MigrationReason, among candidates: [Int]? = nil, soonest: Bool = false) -> Int? {
        var best: (index: Int, key: (Double, Int, Double, String))?
        let used = evms[evm].snapshot.used
        let source = evms[evm].host
        for target in candidates ?? Array(hosts.indices) where fits(evm, on: target, for: reason) {
            let host = hosts[target]
            let after = host.used + used
            let start = soonest ? schedule.earliestStart(from: source, to: target) : 0
            let key = (start, host.evms.isEmpty ? 1 : 0, after.dominantShare(of: host.snapshot.capacity), host.snapshot.id)
            if best == nil || key < best!.key { best = (target, key) }
        }
        return best?.index
    }

    func name(_ host: Int) -> String { hosts[host].snapshot.id }
    func name(evm: Int) -> String { evms[evm].snapshot.id }
}

/// Concurrency lanes: per pool, per host outbound and per host inbound, as many of each as ``MigrationLimits``
/// allows. A migration takes one lane of each for its estimated duration and starts when all three are free;
/// earlier reservations never move.
struct LaneSchedule {
    var pool: [Double]
    var outbound: [[Double]]
    var inbound: [[Double]]

    init(limits: MigrationLimits, hostCount: Int) {
        pool = Array(repeating: 0, count: limits.perPool)
        outbound = Array(repeating: Array(repeating: 0, count: limits.outboundPerHost), count: hostCount)
        inbound = Array(repeating: Array(repeating: 0, count: limits.inboundPerHost), count: hostCount)
    }

    /// The earliest start for a migration `from` → `to`, without reserving.
    func earliestStart(from: Int, to: Int) -> Double {
        max(pool.min()!, outbound[from].min()!, inbound[to].min()!)
    }

    /// Reserves lanes for a migration and returns its start time.
    mutating func reserve(from: Int, to: Int, duration: Double) -> Double {
        let start = earliestStart(from: from, to: to)
        let end = start + duration
        Self.take(&pool, start: start, end: end)
        Self.take(&outbound[from], start: start, end: end)
        Self.take(&inbound[to], start: start, end: end)
        return start
    }

    /// Takes the lane that frees up last before `start`, keeping earlier-free lanes for other migrations.
    private static func take(_ lanes: inout [Double], start: Double, end: Double) {
        let lane = lanes.indices.filter { lanes[$0] <= start }.max { lanes[$0] < lanes[$1] }!
        lanes[lane] = end
    }
}
