import EMPModel
import EMPTesting
import Testing

@testable import EMPScheduling

let bigHost = Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))

func hosts(_ count: Int, memoryOvercommit: Double = 1.5, cpuOvercommit: Double = 1) -> [HostSnapshot] {
    (0..<count).map {
        HostSnapshot(id: "h\($0)", capacity: bigHost, cpuOvercommit: cpuOvercommit, memoryOvercommit: memoryOvercommit)
    }
}

func requests(_ count: Int, cpu: Int64 = 2000, memoryGiB: Int64 = 16, prefix: String = "e") -> [PlacementRequest] {
    (0..<count).map { PlacementRequest(id: "\(prefix)\($0)", size: Resources(cpuMillis: cpu, memoryBytes: .gibibytes(memoryGiB))) }
}

/// Checks a result against the rules independently of the Placer's own code.
func checkLimits(_ result: PlacementResult, original: [HostSnapshot], requests: [PlacementRequest]) {
    let sizes = Dictionary(uniqueKeysWithValues: requests.map { ($0.id, $0) })
    for host in original {
        let added = result.placements.filter { $0.hostID == host.id }.compactMap { sizes[$0.evmID] }
        let allocated = added.reduce(host.allocated) { $0 + $1.size }
        let used = added.reduce(host.used) { $0 + $1.expectedUse }
        let limitCPU = Double(host.capacity.cpuMillis) * host.cpuOvercommit
        let limitMemory = Double(host.capacity.memoryBytes) * host.memoryOvercommit
        if !added.isEmpty {
            #expect(host.state == .ready && host.deadlineSeconds == nil, "placed on \(host.id) in state \(host.state)")
            #expect(Double(allocated.cpuMillis) <= limitCPU, "\(host.id) CPU over ratio")
            #expect(Double(allocated.memoryBytes) <= limitMemory, "\(host.id) memory over ratio")
            #expect(Double(used.memoryBytes) <= Double(host.capacity.memoryBytes) * host.highWatermark)
            #expect(Double(used.cpuMillis) <= Double(host.capacity.cpuMillis) * host.highWatermark)
        }
    }
    #expect(result.placements.count + result.unplaced.count == requests.count)
    #expect(Set(result.placements.map(\.evmID)).count == result.placements.count, "an EVM placed twice")
}

@Suite struct PlacerTests {
    @Test func binpackFillsOneHostBeforeTheNextUnderMemoryOvercommit() {
        // 64 cores / 256 GiB, memory × 1.5 = 384 GiB → 24 EVMs of 16 GiB (2 vCPU: 48 cores, CPU is not binding).
        let input = requests(30)
        let result = Placer().place(input, on: hosts(3))
        #expect(result.unplaced.isEmpty)
        #expect(result.placements.filter { $0.hostID == "h0" }.count == 24)
        #expect(result.placements.filter { $0.hostID == "h1" }.count == 6)
        #expect(result.hostsUsed == 2)
        #expect(result.hosts[0].allocated.memoryBytes == .gibibytes(384))
        checkLimits(result, original: hosts(3), requests: input)
    }

    @Test func spreadEvensTheLoad() {
        let result = Placer(policy: .spread).place(requests(9), on: hosts(3))
        let counts = ["h0", "h1", "h2"].map { id in result.placements.filter { $0.hostID == id }.count }
        #expect(counts == [3, 3, 3])
        #expect(result.placements.prefix(3).map(\.hostID) == ["h0", "h1", "h2"])
    }

    @Test func binpackPrefersTheFullestHostThatFits() {
        var pool = hosts(3)
        pool[1].allocated = Resources(cpuMillis: 10_000, memoryBytes: .gibibytes(300))
        pool[2].allocated = Resources(cpuMillis: 10_000, memoryBytes: .gibibytes(100))
        let result = Placer().place(requests(1), on: pool)
        #expect(result.placements == [Placement(evmID: "e0", hostID: "h1")])
    }

    @Test(arguments: [HostState.notReady, .cordoned, .maintenance])
    func hostsThatCannotReceiveAreSkipped(state: HostState) {
        var pool = hosts(2)
        pool[0].state = state
        let result = Placer().place(requests(3), on: pool)
        #expect(result.placements.allSatisfy { $0.hostID == "h1" })
        pool[1].deadlineSeconds = 120
        let none = Placer().place(requests(1), on: pool)
        #expect(none.placements.isEmpty)
        #expect(none.unplaced.first?.reason.contains("no host can receive") == true)
    }

    @Test func watermarkOnUseBlocksAHostWithAllocationRoom() {
        var pool = hosts(2)
        pool[0].used = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(200))  // watermark is 204.8 GiB
        pool[0].allocated = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(16))
        let request = PlacementRequest(
            id: "e", size: Resources(cpuMillis: 2000, memoryBytes: .gibibytes(16)),
            expectedUse: Resources(cpuMillis: 500, memoryBytes: .gibibytes(8)))
        let result = Placer().place([request], on: pool)
        #expect(result.placements == [Placement(evmID: "e", hostID: "h1")])
        pool[1].used = pool[0].used
        let blocked = Placer().place([request], on: pool)
        #expect(blocked.unplaced.first?.reason.contains("watermark") == true)
    }

    @Test func reasonsNameWhatIsMissing() {
        let huge = PlacementRequest(id: "huge", size: Resources(cpuMillis: 1000, memoryBytes: .gibibytes(1000)))
        #expect(Placer().place([huge], on: hosts(2)).unplaced.first?.reason.contains("no host has that much even when empty") == true)
        let full = Placer().place(requests(50), on: hosts(2))
        #expect(full.placements.count == 48)
        #expect(full.unplaced.count == 2)
        #expect(full.unplaced.first?.reason.contains("allocated up to capacity × overcommit") == true)
    }

    @Test func deterministicAndIndependentOfHostOrder() {
        var generator = SplitMix(seed: 7)
        let mixed = (0..<200).map { index in
            PlacementRequest(
                id: "e\(index)",
                size: Resources(
                    cpuMillis: Int64(generator.next(in: 1...16)) * 1000, memoryBytes: .gibibytes(Int64(generator.next(in: 1...64)))))
        }
        let pool = hosts(20)
        let a = Placer().placeBatch(mixed, on: pool)
        let b = Placer().placeBatch(mixed, on: pool.reversed())
        #expect(a.placements == b.placements)
        #expect(a == Placer().placeBatch(mixed, on: pool))
    }

    @Test func randomInstancesNeverBreakTheLimits() {
        var generator = SplitMix(seed: 42)
        for round in 0..<300 {
            let hostCount = generator.next(in: 1...8)
            var pool: [HostSnapshot] = []
            for index in 0..<hostCount {
                var host = HostSnapshot(
                    id: "h\(index)",
                    capacity: Resources(
                        cpuMillis: Int64(generator.next(in: 8...64)) * 1000, memoryBytes: .gibibytes(Int64(generator.next(in: 32...256)))),
                    cpuOvercommit: Double(generator.next(in: 10...40)) / 10,
                    memoryOvercommit: Double(generator.next(in: 10...20)) / 10,
                    highWatermark: Double(generator.next(in: 5...10)) / 10,
                    state: generator.next(in: 0...5) == 0 ? .cordoned : .ready
                )
                host.used = Resources(
                    cpuMillis: host.capacity.cpuMillis / Int64(generator.next(in: 2...10)),
                    memoryBytes: host.capacity.memoryBytes / Int64(generator.next(in: 2...10)))
                pool.append(host)
            }
            let input = (0..<generator.next(in: 1...60)).map { index in
                PlacementRequest(
                    id: "r\(round)-\(index)",
                    size: Resources(
                        cpuMillis: Int64(generator.next(in: 1...16)) * 1000, memoryBytes: .gibibytes(Int64(generator.next(in: 1...64)))),
                    expectedUse: Resources(
                        cpuMillis: Int64(generator.next(in: 0...2000)), memoryBytes: .gibibytes(Int64(generator.next(in: 0...8))))
                )
            }
            let policy: PlacementPolicy = round % 2 == 0 ? .binpack : .spread
            checkLimits(Placer(policy: policy).place(input, on: pool), original: pool, requests: input)
        }
    }

    @Test func batchPackingStaysNearTheLowerBound() {
        var generator = SplitMix(seed: 3)
        let shapes: [(Int64, Int64)] = [(2, 4), (4, 16), (8, 32), (16, 64)]
        let input = (0..<400).map { index in
            let shape = shapes[generator.next(in: 0...3)]
            return PlacementRequest(id: "e\(index)", size: Resources(cpuMillis: shape.0 * 1000, memoryBytes: .gibibytes(shape.1)))
        }
        let pool = hosts(100, memoryOvercommit: 1.5, cpuOvercommit: 2)
        let result = Placer().placeBatch(input, on: pool)
        #expect(result.unplaced.isEmpty)
        let demand = input.reduce(Resources.zero) { $0 + $1.size }
        let limit = pool[0].allocationLimit
        let lowerBound = max(
            (demand.cpuMillis + limit.cpuMillis - 1) / limit.cpuMillis,
            (demand.memoryBytes + limit.memoryBytes - 1) / limit.memoryBytes
        )
        #expect(Int64(result.hostsUsed) <= lowerBound + 1, "used \(result.hostsUsed) hosts, lower bound \(lowerBound)")
    }
}

@Suite struct PlacerIndexTests {
    /// The indexed best fit must choose what scoring every host chooses: random pools of two host sizes, some
    /// cordoned, some near their watermark, requests of mixed shapes.
    @Test func theIndexChoosesWhatAFullScanChooses() {
        var random = SplitMix(seed: 11)
        for round in 0..<100 {
            let hosts = (0..<(20 + random.next(below: 40))).map { index -> HostSnapshot in
                let big = random.next(below: 3) == 0
                var host = HostSnapshot(
                    id: "h\(index)", capacity: Resources(cpuMillis: big ? 128_000 : 64_000, memoryBytes: .gibibytes(big ? 512 : 256)),
                    cpuOvercommit: 2, memoryOvercommit: 1.5, state: random.next(below: 10) == 0 ? .cordoned : .ready)
                if random.next(below: 2) == 0 {
                    host.allocated = Resources(
                        cpuMillis: Int64(random.next(below: 100)) * 1000, memoryBytes: .gibibytes(Int64(random.next(below: 300))))
                    host.used = Resources(
                        cpuMillis: Int64(random.next(below: 50)) * 1000, memoryBytes: .gibibytes(Int64(random.next(below: 230))))
                }
                return host
            }
            let requests = (0..<(50 + random.next(below: 200))).map { index in
                PlacementRequest(
                    id: "e\(index)",
                    size: Resources(
                        cpuMillis: Int64(1 + random.next(below: 16)) * 1000, memoryBytes: .gibibytes(Int64(2 + random.next(below: 62)))),
                    expectedUse: Resources(cpuMillis: 500, memoryBytes: .gibibytes(Int64(random.next(below: 8)))))
            }
            var scan = Placer(policy: .binpack)
            scan.indexed = false
            let expected = scan.placeBatch(requests, on: hosts)
            let indexed = Placer(policy: .binpack).placeBatch(requests, on: hosts)
            #expect(indexed.placements == expected.placements, "round \(round)")
            #expect(indexed.unplaced.map(\.evmID) == expected.unplaced.map(\.evmID), "round \(round)")
        }
    }
}

/// The placer on batches whose optimum is known by construction (``PlacementFamily``): hosts occupied, against
/// the optimum and against best fit decreasing alone.
@Suite struct PlacerQualityTests {
    @Test(arguments: PlacementFamily.allCases)
    func hostsUsedAreNearTheOptimum(family: PlacementFamily) {
        var ratios: [Double] = []
        for seed in 0..<30 {
            let instance = family.instance(seed: UInt64(seed))
            let result = Placer().placeBatch(instance.requests, on: instance.hosts)
            #expect(result.unplaced.isEmpty, "seed \(seed)")
            #expect(result.placements.count == instance.requests.count)
            // Every host within its limits and every EVM placed once.
            #expect(Set(result.placements.map(\.evmID)).count == instance.requests.count)
            for host in result.hosts { #expect(host.allocated.fits(in: host.allocationLimit), "seed \(seed): \(host.id) over its limit") }
            #expect(result.hostsUsed >= instance.optimum, "seed \(seed): below the optimum means a wrong result")
            ratios.append(Double(result.hostsUsed) / Double(instance.optimum))
        }
        let mean = ratios.reduce(0, +) / Double(ratios.count)
        #expect(mean <= 1.05, "\(family): mean \(mean)")
    }

    @Test func theElevenNinthsInstanceTakesNineHosts() {
        let instance = PlacementFamily.elevenNinths.instance(seed: 1)
        #expect(Placer(improvementLimit: 0).placeBatch(instance.requests, on: instance.hosts).hostsUsed == 11, "best fit alone")
        #expect(Placer().placeBatch(instance.requests, on: instance.hosts).hostsUsed == 9)
    }
}
