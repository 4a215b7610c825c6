import EMPModel
import EMPScheduling
import EMPTesting
import Testing

/// Random pools of every shape: states, deadlines, overcommit, cooldowns, previous hosts, dirty rates, in-flight moves.
func randomSnapshot(_ rng: inout SplitMix, maxHosts: Int = 8, maxEVMs: Int = 30) -> Snapshot {
    let states: [HostState] = [.ready, .ready, .ready, .ready, .cordoned, .notReady, .maintenance]
    let pools = rng.next(in: 1...2)
    let hosts = (0..<rng.next(in: 2...maxHosts)).map { i in
        HostSnapshot(
            id: "h\(i)",
            capacity: Resources(cpuMillis: Int64(rng.next(in: 8...64)) * 1000, memoryBytes: .gibibytes(Int64(rng.next(in: 32...256)))),
            cpuOvercommit: [1, 2, 4][rng.next(in: 0...2)], memoryOvercommit: [1, 1.5, 2][rng.next(in: 0...2)],
            highWatermark: [0.6, 0.8, 0.9][rng.next(in: 0...2)], state: states[rng.next(in: 0...states.count - 1)],
            deadlineSeconds: rng.next(in: 0...9) == 0 ? Double(rng.next(in: 5...120)) : nil, poolID: "p\(rng.next(in: 1...pools))")
    }
    let evms = (0..<rng.next(in: 0...maxEVMs)).map { i in
        let size = Resources(cpuMillis: Int64(rng.next(in: 1...8)) * 1000, memoryBytes: .gibibytes(Int64(rng.next(in: 1...32))))
        return EVMSnapshot(
            id: "e\(i)", hostID: hosts[rng.next(in: 0...hosts.count - 1)].id, size: size,
            used: Resources(
                cpuMillis: Int64(rng.next(in: 0...Int(size.cpuMillis))),
                memoryBytes: Int64(rng.next(in: 0...Int(size.memoryBytes >> 20))) << 20),
            dirtyBytesPerSecond: rng.next(in: 0...2) == 0 ? Int64(rng.next(in: 0...1024)) << 20 : nil,
            secondsSinceMigration: rng.next(in: 0...3) == 0 ? Double(rng.next(in: 0...2000)) : nil,
            previousHostID: rng.next(in: 0...3) == 0 ? hosts[rng.next(in: 0...hosts.count - 1)].id : nil)
    }
    var snapshot = consistent(hosts, evms)
    // A few migrations in flight, within the limits (they are what the executor started).
    for evm in evms where rng.next(in: 0...9) == 0 {
        let pool = snapshot.hosts.first { $0.id == evm.hostID }!.poolID
        let peers = snapshot.hosts.filter { $0.poolID == pool && $0.id != evm.hostID }
        guard !peers.isEmpty else { continue }
        let to = peers[rng.next(in: 0...peers.count - 1)].id
        let flying = snapshot.inFlight
        let poolCount = flying.filter { m in snapshot.hosts.first { $0.id == m.from }!.poolID == pool }.count
        guard poolCount < 5, flying.filter({ $0.from == evm.hostID }).count < 2, flying.filter({ $0.to == to }).count < 2 else { continue }
        snapshot.inFlight.append(InFlightMigration(evmID: evm.id, from: evm.hostID, to: to, remainingSeconds: Double(rng.next(in: 1...60))))
    }
    snapshot.pools = (1...pools).map { PoolSnapshot(id: "p\($0)", minHosts: rng.next(in: 0...3)) }
    return snapshot
}

@Suite struct RebalancerPropertyTests {
    @Test func everyPlanKeepsEveryRule() async {
        var rng = SplitMix(seed: 7)
        var moves = 0
        var reasons: Set<MigrationReason> = []
        for round in 0..<3000 {
            var settings = RebalanceSettings()
            settings.bandwidthBytesPerSecond = Double(rng.next(in: 1...8)) * 256 * 1_048_576
            let snapshot = randomSnapshot(&rng)
            let plan = Rebalancer(settings: settings).plan(snapshot)
            let problems = PlanChecker(snapshot: snapshot, settings: settings).violations(of: plan)
            #expect(problems.isEmpty, "round \(round): \(problems)")
            if !problems.isEmpty { return }
            #expect(Rebalancer(settings: settings).plan(snapshot) == plan, "not deterministic")
            moves += plan.moves.count
            reasons.formUnion(plan.moves.map(\.reason))
            await Task.yield()  // CPU-bound: let the other tests on the two cooperative threads run
        }
        // The generator exercises every goal.
        #expect(reasons == [.evacuate, .relieve, .balance, .consolidate])
        #expect(moves > 1000)
    }

    /// Replays 100 rounds of a noisy pool, executing each plan's startable moves a minute apart: no EVM ever goes
    /// straight back to the host it came from.
    @Test func noisyRoundsNeverPingPong() {
        var rng = SplitMix(seed: 11)
        let hosts = (0..<6).map { rebalanceHost("h\($0)") }
        var evms = (0..<48).map { i in
            EVMSnapshot(
                id: "e\(i)", hostID: "h\(i % 6)", size: Resources(cpuMillis: 4000, memoryBytes: .gibibytes(16)),
                used: Resources(cpuMillis: 3000, memoryBytes: .gibibytes(14)))
        }
        let base = evms.map(\.used)
        var factors = evms.map { _ in 1.0 }
        var history: [String: [String]] = [:]
        var total = 0
        for _ in 0..<100 {
            for i in evms.indices {
                // Each EVM's use walks between 30 % and 170 % of its base, so hosts drift hot, cold and uneven.
                factors[i] = min(1.7, max(0.3, factors[i] + Double(rng.next(in: -20...20)) / 100))
                evms[i].used = Resources(
                    cpuMillis: Int64(Double(base[i].cpuMillis) * factors[i]), memoryBytes: Int64(Double(base[i].memoryBytes) * factors[i]))
            }
            let plan = Rebalancer().plan(consistent(hosts, evms))
            for move in plan.startable {
                let i = evms.firstIndex { $0.id == move.evmID }!
                history[move.evmID, default: [evms[i].hostID]].append(move.to)
                evms[i].previousHostID = evms[i].hostID
                evms[i].hostID = move.to
                evms[i].secondsSinceMigration = 0
                total += 1
            }
            for i in evms.indices { evms[i].secondsSinceMigration = evms[i].secondsSinceMigration.map { $0 + 60 } }
        }
        #expect(total > 10, "the noise should make the planner act")
        for (evm, path) in history {
            for k in path.indices.dropFirst(2) { #expect(path[k] != path[k - 2], "\(evm) went back and forth: \(path)") }
        }
    }
}
