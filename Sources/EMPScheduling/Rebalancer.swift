import EMPModel

/// Plans live migrations for a snapshot: pure and deterministic (same snapshot, same plan).
///
/// Goals, in priority order:
/// 1. **Evacuate**: hosts in maintenance or under an interruption deadline end with no EVM. Shortest migrations
///    go first (most EVMs make the deadline); one that would miss it with pre-copy is planned as post-copy, and
///    one that would miss it even so is reported (``Unresolved/Kind/deadline``) for the executor to drain.
/// 2. **Relieve**: every host's used CPU and memory at or under its watermark, moving the fewest bytes (the
///    cheapest set of EVMs that covers the excess, found exactly for hosts of up to 16 movable EVMs).
/// 3. **Consolidate**: while the pool's EVMs fit on fewer hosts (under watermark − margin and the overcommit
///    limits), empty the least-loaded hosts so they can be released, never below the pool's min hosts.
/// 4. **Balance**: σ of the hosts' used-memory and used-CPU shares at or under the threshold, through moves whose
///    improvement outweighs their bytes.
///
/// Consolidation is decided before balancing so that balancing never spreads load onto a host being freed;
/// balancing then evens out the hosts that remain. Always: a target receives (ready, not cordoned, not in
/// maintenance, no deadline) and stays within capacity × overcommit and its watermark after the move; an EVM
/// moves at most once per plan, not within its cooldown (unless evacuating) and never back to the host it last
/// left (unless evacuating); start times respect the per-pool and per-host concurrency limits.
///
/// ```swift
/// let plan = Rebalancer().plan(snapshot)
/// for move in plan.startable { issue(move) }
/// ```
public struct Rebalancer: Sendable {
    public var settings: RebalanceSettings

    public init(settings: RebalanceSettings = RebalanceSettings()) {
        self.settings = settings
    }

    /// Plans every pool of `snapshot` separately and concatenates the plans (moves never cross pools).
    public func plan(_ snapshot: Snapshot) -> RebalancePlan {
        let pools = Array(Set(snapshot.hosts.map { $0.poolID ?? "" })).sorted()
        var result = RebalancePlan()
        for pool in pools {
            let hosts = snapshot.hosts.filter { ($0.poolID ?? "") == pool }
            let ids = Set(hosts.map(\.id))
            let minHosts = snapshot.pools.first { $0.id == pool }?.minHosts ?? 0
            let part = planPool(
                hosts: hosts, evms: snapshot.evms.filter { ids.contains($0.hostID) },
                inFlight: snapshot.inFlight.filter { ids.contains($0.from) }, minHosts: minHosts)
            result.moves += part.moves
            result.unresolved += part.unresolved
            result.hosts += part.hosts
            result.freedHosts += part.freedHosts
        }
        return result
    }

    func planPool(hosts: [HostSnapshot], evms: [EVMSnapshot], inFlight: [InFlightMigration], minHosts: Int) -> RebalancePlan {
        var state = RebalanceState(hosts: hosts, evms: evms, inFlight: inFlight, settings: settings)
        let before = state.hosts
        evacuate(&state)
        if settings.goals.contains(.relieve) { relieve(&state) }
        if settings.goals.contains(.consolidate) { consolidate(&state, minHosts: minHosts) }
        if settings.goals.contains(.balance) { balance(&state) }
        let changes = zip(before, state.hosts).map { old, new in
            HostChange(
                id: new.snapshot.id, usedBefore: old.used, usedAfter: new.used, allocatedBefore: old.allocated,
                allocatedAfter: new.allocated, capacity: new.snapshot.capacity, evmsBefore: old.evms.count, evmsAfter: new.evms.count)
        }
        return RebalancePlan(
            moves: state.moves, unresolved: state.unresolved, hosts: changes,
            freedHosts: changes.filter { $0.evmsBefore > 0 && $0.evmsAfter == 0 }.map(\.id))
    }

    // MARK: 1. Evacuate

    func evacuate(_ state: inout RebalanceState) {
        let leaving = state.hosts.indices.filter { state.hosts[$0].mustEvacuate }.sorted {
            let (a, b) = (state.hosts[$0].snapshot, state.hosts[$1].snapshot)
            return (a.deadlineSeconds ?? .infinity, a.id) < (b.deadlineSeconds ?? .infinity, b.id)
        }
        for host in leaving {
            let deadline = state.hosts[host].snapshot.deadlineSeconds
            let why = deadline.map { "host \(state.name(host)) goes away in \(Int($0)) s" } ?? "host \(state.name(host)) is in maintenance"
            // Shortest first when racing a deadline (most EVMs make it); otherwise largest first (packs best).
            let order = state.hosts[host].evms.filter { state.movable($0, for: .evacuate) }.sorted { a, b in
                let (ea, eb) = (state.estimate(a).seconds, state.estimate(b).seconds)
                if ea != eb { return deadline != nil ? ea < eb : ea > eb }
                return state.name(evm: a) < state.name(evm: b)
            }
            for evm in order {
                guard let target = state.spreadTarget(for: evm, reason: .evacuate, soonest: true) else {
                    state.unresolved.append(
                        Unresolved(
                            kind: .noTarget, hostID: state.name(host), evmID: state.name(evm: evm),
                            message: "\(why), but no host can take \(state.name(evm: evm)) (\(state.evms[evm].snapshot.size))"))
                    continue
                }
                guard let deadline else {
                    state.commit(evm, to: target, reason: .evacuate, explanation: why)
                    continue
                }
                let start = state.schedule.earliestStart(from: host, to: target)
                let memory = state.evms[evm].memoryToCopy
                if start + state.estimate(evm).seconds <= deadline {
                    state.commit(evm, to: target, reason: .evacuate, explanation: why)
                } else if start + RebalanceState.postCopySeconds(memory: memory, settings) <= deadline {
                    state.commit(evm, to: target, reason: .evacuate, explanation: "\(why); post-copy to make it", postCopy: true)
                } else {
                    let needs = Int(clamping: Int64(clamping: RebalanceState.postCopySeconds(memory: memory, settings).rounded(.up)))
                    state.unresolved.append(
                        Unresolved(
                            kind: .deadline, hostID: state.name(host), evmID: state.name(evm: evm),
                            message: "\(why); \(state.name(evm: evm)) could start leaving in \(Int(start)) s and needs \(needs) s"))
                }
            }
        }
    }

    // MARK: 2. Relieve

    /// Relieves hot hosts, trying two orders — hottest first and coolest first, since relieving one host can use
    /// the room another needs — each in rounds, so a host relieved in one round can take EVMs in the next; keeps the
    /// order that leaves the fewest hosts hot, then moves the fewest bytes.
    func relieve(_ state: inout RebalanceState) {
        let start = state
        var best: (state: RebalanceState, reasons: [Int: String])?
        for hottestFirst in [true, false] {
            var trial = start
            var reasons: [Int: String] = [:]
            for _ in 0..<3 {
                let moves = trial.moves.count
                relievePass(&trial, hottestFirst: hottestFirst, reasons: &reasons)
                if trial.moves.count == moves || !trial.hosts.contains(where: { $0.isHot && !$0.mustEvacuate }) { break }
            }
            if let current = best {
                let (hot, bytes) = (Self.hotCount(trial), Self.bytes(trial, after: start.moves.count))
                let (bestHot, bestBytes) = (Self.hotCount(current.state), Self.bytes(current.state, after: start.moves.count))
                if hot < bestHot || (hot == bestHot && bytes < bestBytes) { best = (trial, reasons) }
            } else {
                best = (trial, reasons)
            }
        }
        state = best!.state
        for host in state.hosts.indices where state.hosts[host].isHot && !state.hosts[host].mustEvacuate {
            let load = state.hosts[host]
            state.unresolved.append(
                Unresolved(
                    kind: .hot, hostID: state.name(host), evmID: nil,
                    message: best!.reasons[host]
                        ?? "\(state.name(host)) stays at \(percent(load.used.dominantShare(of: load.snapshot.capacity))) used (watermark \(percent(load.snapshot.highWatermark))): no other host has room for enough of its EVMs"
                ))
        }
    }

    static func hotCount(_ state: RebalanceState) -> Int { state.hosts.count { $0.isHot && !$0.mustEvacuate } }

    static func bytes(_ state: RebalanceState, after first: Int) -> Int64 {
        state.moves.dropFirst(first).reduce(0) { $0.saturatingAdd($1.bytes) }
    }

    /// One pass over the hot hosts: per host the cheapest set of its EVMs whose moves bring it under, else the
    /// largest that can go, else one EVM after a "make room" move from its target to a third host.
    func relievePass(_ state: inout RebalanceState, hottestFirst: Bool, reasons: inout [Int: String]) {
        let hot = state.hosts.indices.filter { state.hosts[$0].isHot && !state.hosts[$0].mustEvacuate }.sorted {
            let (a, b) = (state.hosts[$0], state.hosts[$1])
            let (sa, sb) = (a.used.dominantShare(of: a.snapshot.capacity), b.used.dominantShare(of: b.snapshot.capacity))
            return sa != sb ? (sa > sb) == hottestFirst : a.snapshot.id < b.snapshot.id
        }
        for host in hot where state.hosts[host].isHot {
            let load = state.hosts[host]
            let excess = (load.used - load.snapshot.usageLimit).componentMax(.zero)
            let before = load.used.dominantShare(of: load.snapshot.capacity)
            let candidates = load.evms.filter { state.movable($0, for: .relieve) }
            let movable = candidates.reduce(Resources.zero) { $0 + state.evms[$1].snapshot.used }
            if !excess.fits(in: movable) {
                // Moving every EVM it may move would still leave it hot (its use beyond its EVMs' — the host's own
                // overhead — or EVMs that may not move now): migrations would cost and fix nothing.
                let evmUse = load.evms.reduce(Resources.zero) { $0 + state.evms[$1].snapshot.used }
                let overhead = (load.used - evmUse).componentMax(.zero)
                reasons[host] =
                    "\(state.name(host)) stays at \(percent(before)) used (watermark \(percent(load.snapshot.highWatermark))): "
                    + "moving all \(candidates.count) EVMs that may move now would not bring it under"
                    + (overhead == .zero ? "" : "; \(overhead) of its use is not its EVMs' (host overhead)")
                continue
            }
            let why =
                "\(state.name(host)) used \(percent(before)) > watermark \(percent(load.snapshot.highWatermark)); "
            if let chosen = cheapestCover(excess, from: candidates, state: &state) {
                for (evm, target) in chosen {
                    state.shift(evm, to: host)  // undo the trial placement, then commit it for real
                    state.commit(
                        evm, to: target, reason: .relieve,
                        explanation: why + "moving \(Resources.formatBytes(state.evms[evm].memoryToCopy)) of RSS")
                }
                continue
            }
            if let (helper, helperTarget, evm, target) = makeRoom(for: host, excess: excess, from: candidates, state: &state) {
                state.commit(
                    helper, to: helperTarget, reason: .relieve,
                    explanation: "makes room on \(state.name(target)) for \(state.name(evm: evm)) from hot \(state.name(host))")
                state.commit(
                    evm, to: target, reason: .relieve,
                    explanation: why + "moving \(Resources.formatBytes(state.evms[evm].memoryToCopy)) of RSS")
                continue
            }
            for (evm, target) in greedyCover(excess, from: candidates, state: &state) {
                state.shift(evm, to: host)
                state.commit(
                    evm, to: target, reason: .relieve,
                    explanation: why + "moving \(Resources.formatBytes(state.evms[evm].memoryToCopy)) of RSS")
            }
        }
    }

    /// When no subset of the hot host's EVMs can be placed as things are: one EVM that covers the excess alone, and
    /// a target that takes it once one of the target's own EVMs moves to a third host. The pair with the fewest
    /// bytes, or nil. Bounded (a few candidates, a budget of checks) so large pools stay fast.
    func makeRoom(for host: Int, excess: Resources, from candidates: [Int], state: inout RebalanceState) -> (Int, Int, Int, Int)? {
        let covering = candidates.filter { excess.fits(in: state.evms[$0].snapshot.used) }
            .sorted { (state.estimate($0).bytes, state.name(evm: $0)) < (state.estimate($1).bytes, state.name(evm: $1)) }
            .prefix(4)
        var budget = 20_000
        var best: (helper: Int, helperTarget: Int, evm: Int, target: Int, bytes: Int64)?
        for evm in covering {
            for target in state.hosts.indices where target != host && state.hosts[target].canReceive && !state.hosts[target].isHot {
                for helper in state.hosts[target].evms where state.movable(helper, for: .relieve) {
                    budget -= 1
                    if budget < 0 { return best.map { ($0.helper, $0.helperTarget, $0.evm, $0.target) } }
                    let bytes = state.estimate(evm).bytes.saturatingAdd(state.estimate(helper).bytes)
                    if let best, bytes >= best.bytes { continue }
                    // Neither the hot host (over its watermark already) nor the helper's own host can be the third.
                    guard let third = state.spreadTarget(for: helper, reason: .relieve) else { continue }
                    state.shift(helper, to: third)
                    if state.fits(evm, on: target, for: .relieve) { best = (helper, third, evm, target, bytes) }
                    state.shift(helper, to: target)
                }
            }
        }
        return best.map { ($0.helper, $0.helperTarget, $0.evm, $0.target) }
    }

    /// The cheapest subset (bytes) of up to 16 candidates whose use covers `excess` and that can all be placed;
    /// returns the placements applied to `state` (trial), or nil.
    func cheapestCover(_ excess: Resources, from candidates: [Int], state: inout RebalanceState) -> [(Int, Int)]? {
        guard !candidates.isEmpty, candidates.count <= 16 else { return nil }
        let n = candidates.count
        var used = [Resources](repeating: .zero, count: 1 << n)
        var bytes = [Int64](repeating: 0, count: 1 << n)
        var covering: [Int] = []
        let each = candidates.map { (used: state.evms[$0].snapshot.used, bytes: state.estimate($0).bytes) }
        for mask in 1..<(1 << n) {
            let low = mask.trailingZeroBitCount
            let rest = mask & (mask - 1)
            used[mask] = used[rest] + each[low].used
            bytes[mask] = bytes[rest].saturatingAdd(each[low].bytes)
            if excess.fits(in: used[mask]) { covering.append(mask) }
        }
        covering.sort { (bytes[$0], $0.nonzeroBitCount, $0) < (bytes[$1], $1.nonzeroBitCount, $1) }
        for mask in covering.prefix(256) {
            let members = (0..<n).filter { mask & (1 << $0) != 0 }.map { candidates[$0] }
            if let placed = placeAll(members, reason: .relieve, state: &state) { return placed }
        }
        return nil
    }

    /// For hosts with many EVMs, or when no subset fits anywhere: the largest movable EVMs that can be placed,
    /// until the excess is covered.
    func greedyCover(_ excess: Resources, from candidates: [Int], state: inout RebalanceState) -> [(Int, Int)] {
        var remaining = excess
        var placed: [(Int, Int)] = []
        // The smallest single EVM that covers the rest, if any; else the largest; repeat.
        var pool = candidates.sorted { (state.estimate($0).bytes, state.name(evm: $0)) < (state.estimate($1).bytes, state.name(evm: $1)) }
        while remaining != .zero, !pool.isEmpty {
            let pick =
                pool.firstIndex { remaining.fits(in: state.evms[$0].snapshot.used) && state.spreadTarget(for: $0, reason: .relieve) != nil }
                ?? pool.lastIndex { state.spreadTarget(for: $0, reason: .relieve) != nil }
            guard let pick else { break }
            let evm = pool.remove(at: pick)
            let target = state.spreadTarget(for: evm, reason: .relieve)!
            state.shift(evm, to: target)
            placed.append((evm, target))
            remaining = (remaining - state.evms[evm].snapshot.used).componentMax(.zero)
        }
        return placed
    }

    /// Places every EVM of `members` (largest first, spread over the receiving hosts) or none; applied to `state`
    /// on success.
    func placeAll(_ members: [Int], reason: MigrationReason, state: inout RebalanceState) -> [(Int, Int)]? {
        var placed: [(Int, Int)] = []
        for evm in largestFirst(members, state: state) {
            let target = state.spreadTarget(for: evm, reason: reason)
            guard let target else {
                // Members have not moved in this plan, so their snapshot host is where they came from.
                for (moved, _) in placed.reversed() { state.shift(moved, to: state.hostIndex[state.evms[moved].snapshot.hostID]!) }
                return nil
            }
            placed.append((evm, target))
            state.shift(evm, to: target)
        }
        return placed
    }
}

/// `members` largest first (memory, then CPU, then name): the order packing places them in.
func largestFirst(_ members: [Int], state: RebalanceState) -> [Int] {
    members.sorted {
        let (a, b) = (state.evms[$0].snapshot.size, state.evms[$1].snapshot.size)
        return (a.memoryBytes, a.cpuMillis, state.name(evm: $1)) > (b.memoryBytes, b.cpuMillis, state.name(evm: $0))
    }
}

func percent(_ share: Double) -> String { "\(Int64(clamping: (share * 100).rounded()))%" }
