import EMPModel
import EMPScheduling
import EMPTesting
import Foundation

/// Placement of 10,000 EVMs of mixed sizes onto 1,000 identical hosts: our Placer (binpack, largest first)
/// beside first-fit decreasing in the same run. Reports placements/s and hosts used ÷ the lower bound
/// max over CPU and memory of ⌈Σ demand / (capacity × ratio)⌉.
///
/// Distribution (seeded): 40 % 2 vCPU/4 GiB, 30 % 4/16, 20 % 8/32, 10 % 16/64. Hosts: 64 cores, 256 GiB,
/// CPU overcommit 2, memory overcommit 1.5.
func placementBenchmark() {
    print("Placement: 10,000 mixed EVMs onto 1,000 hosts (64c/256Gi, CPU ×2, memory ×1.5)")
    var random = BenchRandom(seed: 2026)
    let shapes: [(weight: Int, cpu: Int64, memoryGiB: Int64)] = [(40, 2, 4), (30, 4, 16), (20, 8, 32), (10, 16, 64)]
    let requests = (0..<10_000).map { index -> PlacementRequest in
        var roll = random.next(below: 100)
        var shape = shapes[0]
        for candidate in shapes {
            if roll < candidate.weight {
                shape = candidate
                break
            }
            roll -= candidate.weight
        }
        return PlacementRequest(id: "e\(index)", size: Resources(cpuMillis: shape.cpu * 1000, memoryBytes: .gibibytes(shape.memoryGiB)))
    }
    let hosts = (0..<1000).map {
        HostSnapshot(
            id: String(format: "h%04d", $0),
            capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)),
            cpuOvercommit: 2,
            memoryOvercommit: 1.5
        )
    }
    let demand = requests.reduce(Resources.zero) { $0 + $1.size }
    let limit = hosts[0].allocationLimit
    let lowerBound = max(
        (demand.cpuMillis + limit.cpuMillis - 1) / limit.cpuMillis,
        (demand.memoryBytes + limit.memoryBytes - 1) / limit.memoryBytes
    )
    print("  lower bound: \(lowerBound) hosts")

    let start = ContinuousClock.now
    let ours = Placer(policy: .binpack).placeBatch(requests, on: hosts)
    let oursSeconds = seconds(ContinuousClock.now - start)
    report("EMP Placer (binpack, best fit decreasing)", Double(ours.placements.count) / oursSeconds, "placements/s")
    report("EMP Placer: hosts used / lower bound", Double(ours.hostsUsed) / Double(lowerBound), "(\(ours.hostsUsed) hosts)", decimals: 3)

    let baselineStart = ContinuousClock.now
    let (placed, used) = firstFitDecreasing(requests, hosts: hosts)
    let baselineSeconds = seconds(ContinuousClock.now - baselineStart)
    report("first-fit decreasing", Double(placed) / baselineSeconds, "placements/s")
    report("first-fit decreasing: hosts used / lower bound", Double(used) / Double(lowerBound), "(\(used) hosts)", decimals: 3)
}

/// Hosts occupied ÷ the optimum on the families of ``PlacementFamily`` (optimum known by construction), 30 seeded
/// instances each: best fit decreasing alone (the Placer before issue 22's improvement stage) and first fit
/// decreasing as baselines, beside ours, with the time ours takes per batch.
func placementQualityBenchmark() {
    print("Placement quality: hosts used / optimum, 30 instances per family (mean, worst)")
    for family in PlacementFamily.allCases {
        var rows: [(String, [Double])] = [("first fit decreasing", []), ("best fit decreasing alone", []), ("ours", [])]
        var elapsed = 0.0
        for seed in 0..<30 {
            let instance = family.instance(seed: UInt64(seed))
            let optimum = Double(instance.optimum)
            rows[0].1.append(Double(firstFitDecreasing(instance.requests, hosts: instance.hosts).hostsUsed) / optimum)
            rows[1].1.append(Double(Placer(improvementLimit: 0).placeBatch(instance.requests, on: instance.hosts).hostsUsed) / optimum)
            let start = ContinuousClock.now
            let ours = Placer().placeBatch(instance.requests, on: instance.hosts)
            elapsed += seconds(ContinuousClock.now - start)
            rows[2].1.append(Double(ours.hostsUsed) / optimum)
        }
        for (name, ratios) in rows {
            report("\(family.rawValue), \(name): mean", ratios.reduce(0, +) / Double(ratios.count), "×", decimals: 3)
            report("\(family.rawValue), \(name): worst", ratios.max() ?? 0, "×", decimals: 3)
        }
        report("\(family.rawValue), ours: time per batch", elapsed / 30 * 1000, "ms", decimals: 2)
    }
}

/// The baseline: same order (largest dominant share first), first host in index order with room.
func firstFitDecreasing(_ requests: [PlacementRequest], hosts: [HostSnapshot]) -> (placed: Int, hostsUsed: Int) {
    let limit = hosts[0].allocationLimit
    func share(_ r: Resources) -> Double {
        max(Double(r.cpuMillis) / Double(limit.cpuMillis), Double(r.memoryBytes) / Double(limit.memoryBytes))
    }
    let ordered = requests.sorted { share($0.size) != share($1.size) ? share($0.size) > share($1.size) : $0.id < $1.id }
    var allocated = [Resources](repeating: .zero, count: hosts.count)
    var placed = 0
    for request in ordered {
        for index in hosts.indices where (allocated[index] + request.size).fits(in: hosts[index].allocationLimit) {
            allocated[index] += request.size
            placed += 1
            break
        }
    }
    return (placed, allocated.filter { $0 != .zero }.count)
}

func seconds(_ duration: Duration) -> Double { duration.timeInterval }

/// The seeded generator the benchmarks draw from (SplitMix64, shared with the tests' instance families).
typealias BenchRandom = SplitMix
