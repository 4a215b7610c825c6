import EMPModel
import EMPScheduling
import Testing

/// A 64-core, 256 GiB host with memory overcommit 1.5.
func rebalanceHost(_ id: String, state: HostState = .ready, deadline: Double? = nil, pool: String? = nil) -> HostSnapshot {
    HostSnapshot(
        id: id, capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)), cpuOvercommit: 2, memoryOvercommit: 1.5,
        state: state, deadlineSeconds: deadline, poolID: pool)
}

/// `count` EVMs of 16 GiB / 4 vCPU on `host`, each using `rssGiB` and `cpu` millicores.
func rebalanceEVMs(_ prefix: String, on host: String, count: Int, rssGiB: Int64, cpu: Int64 = 1000) -> [EVMSnapshot] {
    (0..<count).map {
        EVMSnapshot(
            id: "\(prefix)\($0)", hostID: host, size: Resources(cpuMillis: 4000, memoryBytes: .gibibytes(16)),
            used: Resources(cpuMillis: cpu, memoryBytes: .gibibytes(rssGiB)))
    }
}

/// Sets every host's allocated and used to the sum of its EVMs.
func consistent(_ hosts: [HostSnapshot], _ evms: [EVMSnapshot], inFlight: [InFlightMigration] = [], pools: [PoolSnapshot] = []) -> Snapshot
{
    let filled = hosts.map { host in
        var host = host
        let mine = evms.filter { $0.hostID == host.id }
        host.allocated = mine.reduce(.zero) { $0 + $1.size }
        host.used = mine.reduce(.zero) { $0 + $1.used }
        return host
    }
    return Snapshot(hosts: filled, evms: evms, inFlight: inFlight, pools: pools)
}

func after(_ plan: RebalancePlan, _ host: String) -> HostChange { plan.hosts.first { $0.id == host }! }

func share(_ used: Resources, of capacity: Resources) -> Double { Double(used.memoryBytes) / Double(capacity.memoryBytes) }

@Suite struct RebalancerTableTests {
    let settings = RebalanceSettings()

    func plan(_ snapshot: Snapshot, _ settings: RebalanceSettings = RebalanceSettings()) -> RebalancePlan {
        let plan = Rebalancer(settings: settings).plan(snapshot)
        let problems = PlanChecker(snapshot: snapshot, settings: settings).violations(of: plan)
        #expect(problems.isEmpty, "\(problems)")
        return plan
    }

    @Test func hotHostIsRelievedWithTheFewestBytes() {
        // h0 uses 9 × 22 + 14 = 212 GiB of 256 (83 %); the 14 GiB EVM is the cheapest way under 80 % (204.8 GiB).
        let evms =
            rebalanceEVMs("big", on: "h0", count: 9, rssGiB: 22) + [
                EVMSnapshot(
                    id: "small", hostID: "h0", size: Resources(cpuMillis: 4000, memoryBytes: .gibibytes(16)),
                    used: Resources(cpuMillis: 500, memoryBytes: .gibibytes(14)))
            ] + rebalanceEVMs("b", on: "h1", count: 2, rssGiB: 10)
        var settings = settings
        settings.goals = [.relieve]
        let result = plan(consistent([rebalanceHost("h0"), rebalanceHost("h1"), rebalanceHost("h2")], evms), settings)
        #expect(result.moves.map(\.evmID) == ["small"])
        #expect(result.moves.first?.reason == .relieve)
        #expect(result.moves.first?.bytes == .gibibytes(14))
        let h0 = after(result, "h0")
        #expect(share(h0.usedAfter, of: h0.capacity) <= 0.8)
        #expect(result.unresolved.isEmpty)
    }

    @Test func maintenanceHostIsEvacuatedOntoReceivingHostsOnly() {
        let evms = rebalanceEVMs("e", on: "h0", count: 4, rssGiB: 8)
        let hosts = [
            rebalanceHost("h0", state: .maintenance), rebalanceHost("h1", state: .cordoned), rebalanceHost("h2"),
            rebalanceHost("h3", state: .notReady),
        ]
        let result = plan(consistent(hosts, evms))
        #expect(result.moves.count == 4)
        #expect(result.moves.allSatisfy { $0.reason == .evacuate && $0.to == "h2" })
        #expect(after(result, "h0").evmsAfter == 0)
        #expect(result.freedHosts == ["h0"])
        // Two outbound lanes: two start now, two when those end.
        #expect(result.startable.count == 2)
    }

    @Test func consolidationFreesTheLeastLoadedHostsDownToMinHosts() {
        // Four hosts at ~12.5 % each: all 8 EVMs fit on one host under 70 %.
        let evms = (0..<4).flatMap { rebalanceEVMs("h\($0)-", on: "h\($0)", count: 2, rssGiB: 16) }
        let hosts = (0..<4).map { rebalanceHost("h\($0)") }
        let free = plan(consistent(hosts, evms))
        #expect(free.freedHosts.count == 3)
        #expect(free.moves.allSatisfy { $0.reason == .consolidate })
        let kept = plan(consistent(hosts, evms, pools: [PoolSnapshot(id: "", minHosts: 3)]))
        #expect(kept.freedHosts.count == 1)
        // Filled only up to watermark − margin.
        for host in free.hosts { #expect(share(host.usedAfter, of: host.capacity) <= 0.7) }
    }

    /// A host holding only warm EVMs is freed before a less used host running pods: moving warm capacity disturbs
    /// no workload. With minHosts 2 of 3, only one host may be freed.
    @Test func consolidationFreesAHostOfWarmEVMsFirst() {
        var warm = rebalanceEVMs("warm", on: "h1", count: 1, rssGiB: 20)
        warm[0].warm = true
        let evms = rebalanceEVMs("busy", on: "h0", count: 1, rssGiB: 8) + warm + rebalanceEVMs("big", on: "h2", count: 2, rssGiB: 30)
        let hosts = (0..<3).map { rebalanceHost("h\($0)") }
        let result = plan(consistent(hosts, evms, pools: [PoolSnapshot(id: "", minHosts: 2)]))
        #expect(result.freedHosts == ["h1"], "\(result.moves.map { ($0.evmID, $0.from, $0.to) })")
        #expect(result.moves.first { $0.evmID == "warm0" }?.reason == .consolidate)
        #expect(!result.moves.contains { $0.evmID == "busy0" }, "the pods' EVM was moved")
        // Without the mark, the least used host (h0) is freed, as before.
        var plain = evms
        plain[1].warm = nil
        #expect(plan(consistent(hosts, plain, pools: [PoolSnapshot(id: "", minHosts: 2)])).freedHosts == ["h0"])
    }

    @Test func cooldownKeepsRecentMoversStillUnlessTheirHostIsEmptied() {
        var evms = rebalanceEVMs("e", on: "h0", count: 10, rssGiB: 22)
        evms[0].secondsSinceMigration = 60
        evms[0].used.memoryBytes = .gibibytes(10)  // the cheapest, but cooling down
        var settings = settings
        settings.goals = [.relieve]
        let relieved = plan(consistent([rebalanceHost("h0"), rebalanceHost("h1")], evms), settings)
        #expect(!relieved.moves.isEmpty)
        #expect(!relieved.moves.contains { $0.evmID == "e0" })
        let evacuated = plan(
            consistent([rebalanceHost("h0", state: .maintenance), rebalanceHost("h1"), rebalanceHost("h2")], evms), settings)
        #expect(evacuated.moves.contains { $0.evmID == "e0" })
    }

    @Test func neverMovesBackToTheHostItLeft() {
        var evms = rebalanceEVMs("e", on: "h0", count: 9, rssGiB: 23)
        for i in evms.indices { evms[i].previousHostID = "h1" }
        var settings = settings
        settings.goals = [.relieve]
        let result = plan(consistent([rebalanceHost("h0"), rebalanceHost("h1"), rebalanceHost("h2")], evms), settings)
        #expect(!result.moves.isEmpty)
        #expect(result.moves.allSatisfy { $0.to == "h2" })
    }

    @Test func concurrencyLimitsCountMigrationsInFlight() {
        let evms = rebalanceEVMs("a", on: "h0", count: 6, rssGiB: 4) + rebalanceEVMs("b", on: "h1", count: 6, rssGiB: 4)
        let hosts =
            [rebalanceHost("h0", state: .maintenance), rebalanceHost("h1", state: .maintenance)] + (2..<8).map { rebalanceHost("h\($0)") }
        let inFlight = [InFlightMigration(evmID: "a0", from: "h0", to: "h2", remainingSeconds: 30)]
        let result = plan(consistent(hosts, evms, inFlight: inFlight))
        #expect(!result.moves.contains { $0.evmID == "a0" })
        let now = result.startable
        #expect(now.filter { $0.from == "h0" }.count == 1)  // one of h0's two lanes is busy
        #expect(now.filter { $0.from == "h1" }.count == 2)
        #expect(now.count <= 4)  // five per pool, one taken
    }

    @Test func deadlineOrdersShortestFirstUsesPostCopyAndReportsTheRest() {
        var settings = settings
        settings.bandwidthBytesPerSecond = Double(Int64.gibibytes(1))
        // 8 s each, two lanes: ends at 8, 8, 16, 16, 24, 24, 32, 32 → the last two miss a 30 s deadline.
        let evms =
            rebalanceEVMs("e", on: "h0", count: 8, rssGiB: 8) + [
                EVMSnapshot(
                    id: "tiny", hostID: "h0", size: Resources(cpuMillis: 1000, memoryBytes: .gibibytes(2)),
                    used: Resources(memoryBytes: .gibibytes(1)))
            ]
        let result = plan(consistent([rebalanceHost("h0", deadline: 30), rebalanceHost("h1"), rebalanceHost("h2")], evms), settings)
        #expect(result.moves.first?.evmID == "tiny")
        #expect(result.unresolved.filter { $0.kind == .deadline }.count == 2)
        #expect(result.moves.allSatisfy { $0.endSeconds <= 30 })
        // A guest dirtying 0.4 GiB/s needs 13.3 s with pre-copy; post-copy makes a 10 s deadline.
        var dirty = rebalanceEVMs("d", on: "h0", count: 1, rssGiB: 8)
        dirty[0].dirtyBytesPerSecond = .gibibytes(1) * 4 / 10
        let post = plan(consistent([rebalanceHost("h0", deadline: 10), rebalanceHost("h1")], dirty), settings)
        #expect(post.moves.first?.postCopy == true)
    }

    @Test func balanceEvensHostsOnlyWhenItPays() {
        let evms =
            rebalanceEVMs("a", on: "h0", count: 10, rssGiB: 18, cpu: 4000) + rebalanceEVMs("b", on: "h1", count: 2, rssGiB: 12, cpu: 1000)
        var settings = settings
        settings.goals = [.balance]
        let result = plan(consistent([rebalanceHost("h0"), rebalanceHost("h1")], evms), settings)
        #expect(!result.moves.isEmpty && result.moves.allSatisfy { $0.reason == .balance && $0.from == "h0" })
        let (h0, h1) = (after(result, "h0"), after(result, "h1"))
        let spread = abs(share(h0.usedAfter, of: h0.capacity) - share(h1.usedAfter, of: h1.capacity)) / 2
        #expect(spread <= 0.1)
        settings.balanceCostWeight = 1000  // moves now cost more than they gain
        let none = plan(consistent([rebalanceHost("h0"), rebalanceHost("h1")], evms), settings)
        #expect(none.moves.isEmpty)
        #expect(none.unresolved.first?.kind == .imbalance)
    }

    @Test func movesNeverCrossPools() {
        let evms = rebalanceEVMs("e", on: "a0", count: 4, rssGiB: 8)
        let hosts = [rebalanceHost("a0", state: .maintenance, pool: "a"), rebalanceHost("b0", pool: "b")]
        let result = plan(consistent(hosts, evms))
        #expect(result.moves.isEmpty)
        #expect(result.unresolved.filter { $0.kind == .noTarget }.count == 4)
    }
}

@Suite struct RebalancerOverheadTests {
    @Test func aHostHotFromItsOwnOverheadIsReportedNotEmptied() {
        // bm-1's four EVMs use 40Gi of RSS, but the host uses 250Gi: 210Gi is its own (over the 204.8Gi watermark
        // by itself), so no set of moves can relieve it.
        let hosts = [rebalanceHost("bm-1"), rebalanceHost("bm-2")]
        var snapshot = consistent(hosts, rebalanceEVMs("a", on: "bm-1", count: 4, rssGiB: 10))
        snapshot.hosts[0].used.memoryBytes += .gibibytes(210)
        var settings = RebalanceSettings()
        settings.goals = [.relieve]
        let plan = Rebalancer(settings: settings).plan(snapshot)
        #expect(plan.moves.isEmpty, "moved \(plan.moves.map(\.evmID)) and the host stays hot")
        let problem = plan.unresolved.first { $0.kind == .hot }
        #expect(problem?.hostID == "bm-1")
        #expect(problem?.message.contains("210Gi of its use is not its EVMs' (host overhead)") == true, "\(problem?.message ?? "")")
        // With 180Gi of overhead (220Gi used), moving two EVMs brings it under: the plan does that.
        snapshot.hosts[0].used.memoryBytes -= .gibibytes(30)
        let relieved = Rebalancer(settings: settings).plan(snapshot)
        #expect(relieved.moves.count == 2)
        #expect(!relieved.unresolved.contains { $0.kind == .hot })
    }
}

/// Relief the planner once missed (the issue's three patterns): each instance has a plan that leaves no host hot.
@Suite struct RebalancerReliefPatternTests {
    static func evm(_ id: String, on host: String, sizeGiB: Int64, rssGiB: Int64, cores: Int64 = 1) -> EVMSnapshot {
        EVMSnapshot(
            id: id, hostID: host, size: Resources(cpuMillis: 4000, memoryBytes: .gibibytes(sizeGiB)),
            used: Resources(cpuMillis: cores * 1000, memoryBytes: .gibibytes(rssGiB)))
    }

    var settings: RebalanceSettings {
        var settings = RebalanceSettings()
        settings.goals = [.relieve]
        return settings
    }

    @Test func aRelievedHotHostTakesTheOtherHotHostsEVM() {
        // bm-a (208Gi, hottest) can only be relieved onto bm-b, itself hot (206Gi) until its 60Gi EVM goes to
        // bm-c; bm-c cannot take bm-a's EVMs (their 12 cores would put it over the CPU watermark).
        var evms = (0..<4).map { Self.evm("a\($0)", on: "bm-a", sizeGiB: 64, rssGiB: 52, cores: 12) }
        evms += [
            Self.evm("b0", on: "bm-b", sizeGiB: 64, rssGiB: 60), Self.evm("b1", on: "bm-b", sizeGiB: 64, rssGiB: 73),
            Self.evm("b2", on: "bm-b", sizeGiB: 64, rssGiB: 73),
        ]
        evms += (0..<4).map { Self.evm("c\($0)", on: "bm-c", sizeGiB: 64, rssGiB: 35, cores: 10) }
        let snapshot = consistent(["bm-a", "bm-b", "bm-c"].map { rebalanceHost($0) }, evms)
        let plan = Rebalancer(settings: settings).plan(snapshot)
        #expect(PlanChecker(snapshot: snapshot, settings: settings).violations(of: plan).isEmpty)
        #expect(!plan.unresolved.contains { $0.kind == .hot }, "\(plan.unresolved)")
        #expect(plan.moves.contains { $0.evmID == "b0" && $0.to == "bm-c" })
        #expect(plan.moves.contains { $0.evmID.hasPrefix("a") && $0.to == "bm-b" })
        #expect(plan.moves.count == 2)
    }

    @Test func reliefMakesRoomOnATargetFirst() {
        // bm-a is 5.2Gi over; each of its EVMs has 10Gi of RSS. bm-c has the use headroom but no allocation room
        // for a 16Gi EVM; bm-d has allocation room but only 5.8Gi of use headroom. Moving bm-c's 5Gi EVM to bm-d
        // first lets one of bm-a's EVMs go to bm-c: 15Gi in two moves.
        var evms = (0..<21).map { Self.evm("a\($0)", on: "bm-a", sizeGiB: 16, rssGiB: 10) }
        evms += [Self.evm("c0", on: "bm-c", sizeGiB: 16, rssGiB: 5), Self.evm("c1", on: "bm-c", sizeGiB: 360, rssGiB: 95)]
        evms += [Self.evm("d0", on: "bm-d", sizeGiB: 256, rssGiB: 199)]
        let snapshot = consistent(["bm-a", "bm-c", "bm-d"].map { rebalanceHost($0) }, evms)
        let plan = Rebalancer(settings: settings).plan(snapshot)
        #expect(PlanChecker(snapshot: snapshot, settings: settings).violations(of: plan).isEmpty)
        #expect(!plan.unresolved.contains { $0.kind == .hot }, "\(plan.unresolved)")
        #expect(plan.moves.map(\.evmID).first == "c0")
        #expect(plan.moves.first?.to == "bm-d")
        #expect(plan.moves.first?.explanation.contains("makes room on bm-c") == true)
        #expect(plan.moves.count == 2)
        #expect(plan.moves.last?.to == "bm-c")
        // The fewest bytes: bm-a must shed one 10Gi EVM, and no EVM smaller than c0 can make room for it.
        #expect(plan.totalBytes == .gibibytes(15))
    }

    @Test func twoHotHostsAreRelievedInTheOrderThatFitsBoth() {
        // bm-a (hotter) sheds a 10Gi EVM to bm-d or bm-e; bm-b must shed a 41Gi EVM, which only bm-d can take (bm-e
        // lacks allocation room), and bm-d cannot take both. Hottest first sent bm-a's EVM to bm-d (the emptier)
        // and left bm-b hot.
        var evms = (0..<21).map { Self.evm("a\($0)", on: "bm-a", sizeGiB: 16, rssGiB: 10) }
        evms += (0..<5).map { Self.evm("b\($0)", on: "bm-b", sizeGiB: 64, rssGiB: 41) }
        evms += [Self.evm("d0", on: "bm-d", sizeGiB: 64, rssGiB: 160)]
        evms += [Self.evm("e0", on: "bm-e", sizeGiB: 340, rssGiB: 190)]
        let snapshot = consistent(["bm-a", "bm-b", "bm-d", "bm-e"].map { rebalanceHost($0) }, evms)
        let plan = Rebalancer(settings: settings).plan(snapshot)
        #expect(PlanChecker(snapshot: snapshot, settings: settings).violations(of: plan).isEmpty)
        #expect(!plan.unresolved.contains { $0.kind == .hot }, "\(plan.unresolved)")
        #expect(plan.moves.contains { $0.evmID.hasPrefix("b") && $0.to == "bm-d" })
        #expect(plan.moves.contains { $0.evmID.hasPrefix("a") && $0.to != "bm-d" })
        #expect(plan.moves.count == 2)
    }
}
