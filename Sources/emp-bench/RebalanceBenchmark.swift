import EMPModel
import EMPScheduling
import EMPTesting
import Foundation

/// Rebalancer on 1,000 hosts / 10,000 EVMs: a hot-host pool (10 % of hosts at 82–95 % memory) and an idle pool
/// to consolidate (hosts at 10–30 %). Ours beside a one-move-at-a-time greedy in the style of OpenStack Watcher's
/// workload_balance (move the VM that best brings the hottest host toward the average, to the least-loaded host).
func rebalanceBenchmark() {
    print("rebalance: 1,000 hosts (64 CPU / 256Gi), 10,000 EVMs")
    for scenario in ["hot hosts", "consolidation"] {
        let snapshot = rebalanceScenario(hot: scenario == "hot hosts")
        let start = ContinuousClock.now
        let plan = Rebalancer().plan(snapshot)
        let ours = seconds(ContinuousClock.now - start)
        let baselineStart = ContinuousClock.now
        let baseline = WorkloadBalanceBaseline().plan(snapshot)
        let theirs = seconds(ContinuousClock.now - baselineStart)
        let hotAfter = plan.hosts.filter { change in
            let host = snapshot.hosts.first { $0.id == change.id }!
            return !change.usedAfter.fits(in: host.usageLimit)
        }.count
        report("\(scenario), ours: planning time", ours * 1000, "ms")
        report("\(scenario), baseline: planning time", theirs * 1000, "ms")
        report("\(scenario), ours: migrations", Double(plan.moves.count), "")
        report("\(scenario), baseline: migrations", Double(baseline.moves), "")
        report("\(scenario), ours: GiB moved", Double(plan.totalBytes) / Double(1 << 30), "GiB")
        report("\(scenario), baseline: GiB moved", Double(baseline.bytes) / Double(1 << 30), "GiB")
        report("\(scenario), ours: hosts freed", Double(plan.freedHosts.count), "")
        report("\(scenario), baseline: hosts freed", Double(baseline.freed), "")
        report("\(scenario), ours: hosts still hot", Double(hotAfter), "")
        report("\(scenario), baseline: hosts still hot", Double(baseline.hot), "")
        guard scenario == "hot hosts" else { continue }
        // Like for like with the baseline: only the relieve goal.
        var settings = RebalanceSettings()
        settings.goals = [.relieve]
        let reliefStart = ContinuousClock.now
        let relief = Rebalancer(settings: settings).plan(snapshot)
        report("\(scenario), ours (relieve only): planning time", seconds(ContinuousClock.now - reliefStart) * 1000, "ms")
        report("\(scenario), ours (relieve only): migrations", Double(relief.moves.count), "")
        report("\(scenario), ours (relieve only): GiB moved", Double(relief.totalBytes) / Double(1 << 30), "GiB")
        report("\(scenario), ours (relieve only): hosts still hot", Double(relief.unresolved.filter { $0.kind == .hot }.count), "")
    }
}

func rebalanceScenario(hot: Bool) -> Snapshot {
    var random = BenchRandom(seed: hot ? 1 : 2)
    let capacity = EMPModel.Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))
    var hosts: [HostSnapshot] = []
    var evms: [EVMSnapshot] = []
    for h in 0..<1000 {
        let share =
            hot
            ? (h % 10 == 0 ? 0.82 + Double(random.next(below: 14)) / 100 : 0.3 + Double(random.next(below: 41)) / 100)
            : 0.1 + Double(random.next(below: 21)) / 100
        var host = HostSnapshot(id: "h\(h)", capacity: capacity, cpuOvercommit: 2, memoryOvercommit: 1.5)
        for e in 0..<10 {
            let gib = Int64([16, 24, 32][random.next(below: 3)])
            let size = EMPModel.Resources(cpuMillis: gib / 4 * 1000, memoryBytes: .gibibytes(gib))
            let jitter = 0.8 + Double(random.next(below: 41)) / 100
            let memory = min(size.memoryBytes, Int64(share * Double(capacity.memoryBytes) / 10 * jitter))
            let used = EMPModel.Resources(cpuMillis: Int64(Double(capacity.cpuMillis) * share / 20 * jitter), memoryBytes: memory)
            evms.append(EVMSnapshot(id: "h\(h)-e\(e)", hostID: host.id, size: size, used: used))
            host.allocated += size
            host.used += used
        }
        hosts.append(host)
    }
    return Snapshot(hosts: hosts, evms: evms)
}

/// Watcher's workload_balance, one move at a time: while some host is over the watermark, take the hottest, move
/// the VM whose departure brings it closest to the average to the least-loaded host that can take it.
struct WorkloadBalanceBaseline {
    struct Result {
        var moves = 0
        var bytes: Int64 = 0
        var freed = 0
        var hot = 0
    }

    func plan(_ snapshot: Snapshot) -> Result {
        var hosts = snapshot.hosts
        var onHost = Dictionary(grouping: snapshot.evms.indices, by: { snapshot.evms[$0].hostID })
        var moved = Set<Int>()
        var result = Result()
        func share(_ h: Int) -> Double { Double(hosts[h].used.memoryBytes) / Double(hosts[h].capacity.memoryBytes) }
        while true {
            let hottest = hosts.indices.max { share($0) < share($1) }!
            guard !hosts[hottest].used.fits(in: hosts[hottest].usageLimit) else { break }
            let average = hosts.indices.reduce(0) { $0 + share($1) } / Double(hosts.count)
            let coolest = hosts.indices.sorted { share($0) < share($1) }
            var best: (distance: Double, evm: Int, target: Int)?
            for evm in onHost[hosts[hottest].id, default: []] where !moved.contains(evm) {
                let load = snapshot.evms[evm]
                guard
                    let target = coolest.first(where: {
                        $0 != hottest && (hosts[$0].allocated + load.size).fits(in: hosts[$0].allocationLimit)
                            && (hosts[$0].used + load.used).fits(in: hosts[$0].usageLimit)
                    })
                else { continue }
                let after = Double((hosts[hottest].used - load.used).memoryBytes) / Double(hosts[hottest].capacity.memoryBytes)
                let distance = abs(after - average)
                if best == nil || distance < best!.distance { best = (distance, evm, target) }
            }
            guard let best else { break }
            let load = snapshot.evms[best.evm]
            hosts[hottest].used -= load.used
            hosts[hottest].allocated -= load.size
            hosts[best.target].used += load.used
            hosts[best.target].allocated += load.size
            onHost[hosts[hottest].id]?.removeAll { $0 == best.evm }
            onHost[hosts[best.target].id, default: []].append(best.evm)
            moved.insert(best.evm)
            result.moves += 1
            result.bytes += load.used.memoryBytes
        }
        result.freed = snapshot.hosts.indices.filter { onHost[snapshot.hosts[$0].id, default: []].isEmpty }.count
        result.hot = hosts.filter { !$0.used.fits(in: $0.usageLimit) }.count
        return result
    }
}

/// A rebalancer pass at fleet size (issue 23): 10,000 hosts / 100,000 EVMs, settled (every host 66–70 % used: no
/// EVM fits under watermark − margin elsewhere, nothing to do), busy (62–70 %: a few hosts can be freed) and idle
/// (10–30 %: a large consolidation). Baseline: the same pass without the consolidation goal, so the difference is what
/// consolidation costs.
func rebalanceFleetBenchmark() {
    print("rebalance at fleet size: 10,000 hosts (64 CPU / 256Gi), 100,000 EVMs")
    for (name, low, high) in [("settled", 66, 70), ("busy", 62, 70), ("idle", 10, 30)] {
        let snapshot = fleetRebalanceScenario(hosts: 10_000, lowPercent: low, highPercent: high)
        var without = RebalanceSettings()
        without.goals.remove(.consolidate)
        let start = ContinuousClock.now
        let plan = Rebalancer().plan(snapshot)
        let ours = seconds(ContinuousClock.now - start)
        let baselineStart = ContinuousClock.now
        let baseline = Rebalancer(settings: without).plan(snapshot)
        let theirs = seconds(ContinuousClock.now - baselineStart)
        report("\(name), every goal: planning time", ours * 1000, "ms")
        report("\(name), without consolidation: planning time", theirs * 1000, "ms")
        report("\(name), every goal: migrations", Double(plan.moves.count), "")
        report("\(name), without consolidation: migrations", Double(baseline.moves.count), "")
        report("\(name), every goal: hosts freed", Double(plan.freedHosts.count), "")
    }
}

func fleetRebalanceScenario(hosts count: Int, lowPercent: Int, highPercent: Int) -> Snapshot {
    var random = BenchRandom(seed: UInt64(count + lowPercent))
    let capacity = EMPModel.Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))
    var hosts: [HostSnapshot] = []
    var evms: [EVMSnapshot] = []
    hosts.reserveCapacity(count)
    evms.reserveCapacity(count * 10)
    for h in 0..<count {
        let share = Double(lowPercent + random.next(below: highPercent - lowPercent + 1)) / 100
        var host = HostSnapshot(id: "h\(h)", capacity: capacity, cpuOvercommit: 2, memoryOvercommit: 1.5)
        for e in 0..<10 {
            let gib = Int64([16, 24, 32][random.next(below: 3)])
            let size = EMPModel.Resources(cpuMillis: gib / 4 * 1000, memoryBytes: .gibibytes(gib))
            let used = EMPModel.Resources(
                cpuMillis: Int64(Double(capacity.cpuMillis) * share / 20), memoryBytes: Int64(share * Double(capacity.memoryBytes) / 10))
            evms.append(EVMSnapshot(id: "h\(h)-e\(e)", hostID: host.id, size: size, used: used))
            host.allocated += size
            host.used += used
        }
        hosts.append(host)
    }
    return Snapshot(hosts: hosts, evms: evms)
}
