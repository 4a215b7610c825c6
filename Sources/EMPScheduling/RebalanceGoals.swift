import EMPModel

extension Rebalancer {
    // MARK: 3. Consolidate

    /// Empties the least-loaded hosts, one at a time, when all their EVMs fit on the other occupied hosts under
    /// (watermark − margin); stops before fewer than `max(minHosts, 1)` hosts would hold EVMs.
    ///
    /// Each EVM goes to the first receiving host, fullest first, with room for it (``ConsolidationTargets``): a
    /// pass costs about log₂(hosts) per EVM tried, not one comparison per host pair, and a host whose EVMs cannot
    /// fit in the room left on all the others together is not tried at all.
    func consolidate(_ state: inout RebalanceState, minHosts: Int) {
        var holding = state.hosts.indices.filter { !state.hosts[$0].evms.isEmpty && !state.hosts[$0].mustEvacuate }.count
        let floor = max(minHosts, 1)
        // Hosts holding only warm EVMs first (moving those disturbs no pod), then the least used.
        func onlyWarm(_ host: Int) -> Int { state.hosts[host].evms.allSatisfy { state.evms[$0].snapshot.warm == true } ? 0 : 1 }
        let candidates = state.hosts.indices.filter { state.hosts[$0].canReceive && !state.hosts[$0].evms.isEmpty }.sorted {
            let (a, b) = (state.hosts[$0], state.hosts[$1])
            let (sa, sb) = (a.used.dominantShare(of: a.snapshot.capacity), b.used.dominantShare(of: b.snapshot.capacity))
            return (onlyWarm($0), sa, a.evms.count, a.snapshot.id) < (onlyWarm($1), sb, b.evms.count, b.snapshot.id)
        }
        guard holding > floor, candidates.count > 1 else { return }
        var targets = ConsolidationTargets(candidates.reversed(), margin: settings.consolidationMargin, state: state)
        for host in candidates where holding > floor && !state.hosts[host].evms.isEmpty {
            let members = state.hosts[host].evms
            guard members.allSatisfy({ state.movable($0, for: .consolidate) }) else { continue }
            // Sound skip: the host's EVMs need more room than all the others have together.
            let need = members.reduce(Resources.zero) { $0 + state.evms[$1].snapshot.used }
            guard need.fits(in: targets.totalRoom - targets.room(of: host)) else { continue }
            state.hosts[host].freeing = true
            targets.refresh(host, state: state)
            var placed: [(Int, Int)] = []
            for evm in largestFirst(members, state: state) {
                guard let target = targets.first(for: evm, state: state) else { break }
                placed.append((evm, target))
                state.shift(evm, to: target)
                targets.refresh(target, state: state)
            }
            guard placed.count == members.count else {
                // Not all fit: the ones moved go back (in the host's own order, as it had them).
                for evm in members where state.evms[evm].host != host {
                    let target = state.evms[evm].host
                    state.shift(evm, to: host)
                    targets.refresh(target, state: state)
                }
                state.hosts[host].freeing = false
                targets.refresh(host, state: state)
                continue
            }
            for (evm, target) in placed {
                state.shift(evm, to: host)
                state.commit(
                    evm, to: target, reason: .consolidate,
                    explanation: "\(state.name(host)) can be freed: its \(members.count) EVM(s) fit on the other hosts")
            }
            holding -= 1
        }
    }

    // MARK: 4. Balance

    /// Greedy: from the most-loaded hosts, the move with the best (σ improvement − cost), until σ is at or under the
    /// threshold or no move pays for itself. Only hosts that keep EVMs take part.
    func balance(_ state: inout RebalanceState) {
        let members = state.hosts.indices.filter {
            let host = state.hosts[$0]
            return !host.evms.isEmpty && !host.mustEvacuate && !host.freeing
                && (host.snapshot.state == .ready || host.snapshot.state == .cordoned)
        }
        guard members.count >= 2 else { return }
        let poolMemory = Double(members.reduce(Int64(0)) { $0.saturatingAdd(state.hosts[$1].snapshot.capacity.memoryBytes) })
        let threshold = settings.balanceThreshold
        var spread = Spread(state, members)
        let initial = spread
        var rounds = 0
        while spread.worst > threshold, rounds < state.evms.count {
            rounds += 1
            let byLoad = members.sorted {
                state.hosts[$0].memoryShare + state.hosts[$0].cpuShare > state.hosts[$1].memoryShare + state.hosts[$1].cpuShare
            }
            let targets = byLoad.reversed().filter { state.hosts[$0].canReceive }.prefix(8)
            var best: (gain: Double, evm: Int, target: Int)?
            for source in byLoad.prefix(3) {
                for evm in state.hosts[source].evms where state.movable(evm, for: .balance) {
                    for target in targets where state.fits(evm, on: target, for: .balance) {
                        let after = spread.moving(state.evms[evm].snapshot.used, from: state.hosts[source], to: state.hosts[target])
                        let cost = settings.balanceCostWeight * Double(state.estimate(evm).bytes) / max(1, poolMemory)
                        let gain = spread.total - after.total - cost
                        if gain > 1e-6, best == nil || gain > best!.gain { best = (gain, evm, target) }
                    }
                }
            }
            guard let best else { break }
            let before = spread
            spread = spread.moving(
                state.evms[best.evm].snapshot.used, from: state.hosts[state.evms[best.evm].host], to: state.hosts[best.target])
            state.commit(
                best.evm, to: best.target, reason: .balance,
                explanation:
                    "σ(memory) \(format(before.memory)) → \(format(spread.memory)), σ(CPU) \(format(before.cpu)) → \(format(spread.cpu))")
        }
        if spread.worst > threshold {
            let hottest = members.max {
                state.hosts[$0].memoryShare + state.hosts[$0].cpuShare < state.hosts[$1].memoryShare + state.hosts[$1].cpuShare
            }!
            state.unresolved.append(
                Unresolved(
                    kind: .imbalance, hostID: state.name(hottest), evmID: nil,
                    message:
                        "σ(memory) \(format(initial.memory)) → \(format(spread.memory)), σ(CPU) \(format(initial.cpu)) → \(format(spread.cpu)); "
                        + "threshold \(format(threshold)): no further move pays for its bytes"))
        }
    }

    private func format(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }
}

/// Standard deviations of the hosts' used shares, kept as sums so a move updates them in O(1).
struct Spread {
    let count: Double
    var memorySum: Double, memorySquares: Double
    var cpuSum: Double, cpuSquares: Double

    init(_ state: RebalanceState, _ members: [Int]) {
        count = Double(members.count)
        let memory = members.map { state.hosts[$0].memoryShare }
        let cpu = members.map { state.hosts[$0].cpuShare }
        memorySum = memory.reduce(0, +)
        memorySquares = memory.reduce(0) { $0 + $1 * $1 }
        cpuSum = cpu.reduce(0, +)
        cpuSquares = cpu.reduce(0) { $0 + $1 * $1 }
    }

    var memory: Double { (max(0, memorySquares / count - (memorySum / count) * (memorySum / count))).squareRoot() }
    var cpu: Double { (max(0, cpuSquares / count - (cpuSum / count) * (cpuSum / count))).squareRoot() }
    var total: Double { memory + cpu }
    var worst: Double { max(memory, cpu) }

    /// The spread after `used` leaves `source` for `target`.
    func moving(_ used: Resources, from source: RebalanceState.HostLoad, to target: RebalanceState.HostLoad) -> Spread {
        var next = self
        let (sm, tm) = (source.memoryShare, target.memoryShare)
        let (sc, tc) = (source.cpuShare, target.cpuShare)
        let dsm = Double(used.memoryBytes) / Double(max(1, source.snapshot.capacity.memoryBytes))
        let dtm = Double(used.memoryBytes) / Double(max(1, target.snapshot.capacity.memoryBytes))
        let dsc = Double(used.cpuMillis) / Double(max(1, source.snapshot.capacity.cpuMillis))
        let dtc = Double(used.cpuMillis) / Double(max(1, target.snapshot.capacity.cpuMillis))
        next.memorySum += dtm - dsm
        next.memorySquares += (sm - dsm) * (sm - dsm) + (tm + dtm) * (tm + dtm) - sm * sm - tm * tm
        next.cpuSum += dtc - dsc
        next.cpuSquares += (sc - dsc) * (sc - dsc) + (tc + dtc) * (tc + dtc) - sc * sc - tc * tc
        return next
    }
}
