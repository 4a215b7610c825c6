import EMPModel
import EMPScheduling
import EMPTesting
import Foundation

/// PodPacker throughput on 1,000 / 10,000 / 40,000 pending pods: 60 % plain pods of mixed sizes, 25 % with a
/// nodeSelector on the pool label, 15 % in 3-replica groups with required hostname anti-affinity. Ours (first fit
/// decreasing, full bins pruned) beside best fit decreasing in the same run; EVMs used against the volume lower
/// bound.
func packerBenchmark() {
    print("packer: pending pods onto new EVMs of 4 CPU / 16Gi (3900m / 14.9Gi allocatable)")
    let shape = PackShape(
        pool: "bench", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)),
        reserved: EMPModel.Resources(cpuMillis: 100, memoryBytes: 1124 << 20))
    let toleration = PackToleration(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)
    let sizes: [EMPModel.Resources] = [
        .init(cpuMillis: 100, memoryBytes: 256 << 20), .init(cpuMillis: 250, memoryBytes: 512 << 20),
        .init(cpuMillis: 500, memoryBytes: 1 << 30), .init(cpuMillis: 1000, memoryBytes: 2 << 30),
        .init(cpuMillis: 200, memoryBytes: 3 << 30), .init(cpuMillis: 2000, memoryBytes: 4 << 30),
    ]
    for count in [1_000, 10_000, 40_000] {
        var generator = BenchRandom(seed: UInt64(count))
        let pods = (0..<count).map { index -> PackPod in
            let size = sizes[generator.next(below: sizes.count)]
            var pod = PackPod(id: "ns/p\(index)", requests: size, tolerations: [toleration])
            switch generator.next(below: 100) {
            case 0..<60: break
            case 60..<85: pod.nodeSelector = [Profile.poolLabel: "bench"]
            default:
                pod.labels = ["app": "svc-\(index / 3)"]
                pod.antiAffinity = [["app": "svc-\(index / 3)"]]
            }
            return pod
        }
        let input = PackInput(shape: shape, pods: pods, maxNewEVMs: 100_000)
        let total = pods.reduce(EMPModel.Resources.zero) { $0 + $1.requests }
        let bound = max(
            (total.cpuMillis + shape.allocatable.cpuMillis - 1) / shape.allocatable.cpuMillis,
            (total.memoryBytes + shape.allocatable.memoryBytes - 1) / shape.allocatable.memoryBytes)
        let packers = [
            ("best fit, scan (baseline)", PodPacker(fit: .best, improvementLimit: 0)),
            ("first fit, indexed (ours)", PodPacker(fit: .first)),
        ]
        for (name, packer) in packers {
            let start = ContinuousClock.now
            let result = packer.pack(input)
            let elapsed = seconds(ContinuousClock.now - start)
            report("\(count) pods, \(name): pods/s", Double(count) / elapsed, "/s", decimals: 0)
            report("\(count) pods, \(name): EVMs / lower bound \(bound)", Double(result.newEVMs.count) / Double(bound), "×", decimals: 3)
        }
    }
}

/// New EVMs against the exact optimum (``ExactPacking``) on the seeded small families of the optimality tests:
/// first fit decreasing alone (the previous packer) beside ours (other orders, repair, exact stage for small
/// batches), and on larger batches of the same families — too large for the exact search — against the lower bound.
func packerQualityBenchmark() {
    print("packer quality: new EVMs / exact optimum, 40 instances per family (6–10 pods); mean and worst")
    for family in PackingFamily.allCases {
        var baseline: [Double] = []
        var ours: [Double] = []
        for seed in 0..<40 {
            let input = family.instance(seed: UInt64(seed))
            guard let optimum = ExactPacking.minimumNewEVMs(input), optimum > 0 else { continue }
            baseline.append(Double(PodPacker(improvementLimit: 0).pack(input).newEVMs.count) / Double(optimum))
            ours.append(Double(PodPacker().pack(input).newEVMs.count) / Double(optimum))
        }
        for (name, ratios) in [("first fit decreasing alone (baseline)", baseline), ("ours", ours)] {
            report("\(family.rawValue), \(name): mean", ratios.reduce(0, +) / Double(max(1, ratios.count)), "×", decimals: 3)
            report("\(family.rawValue), \(name): worst", ratios.max() ?? 0, "×", decimals: 3)
        }
    }
    print("packer quality: batches of 60–100 pods (10 family instances each, names kept apart) / lower bound")
    for family in PackingFamily.allCases {
        var baseline: [Double] = []
        var ours: [Double] = []
        for batch in 0..<20 {
            var pods: [PackPod] = []
            var nodes: [PackNode] = []
            for part in 0..<10 {
                let input = family.instance(seed: UInt64(1_000 + batch * 10 + part))
                pods += input.pods.map { pod in
                    var pod = pod
                    pod.id = "b\(part)/\(pod.id)"
                    pod.labels = pod.labels.mapValues { "b\(part)-\($0)" }
                    pod.antiAffinity = pod.antiAffinity.map { $0.mapValues { "b\(part)-\($0)" } }
                    return pod
                }
                nodes += input.nodes.map { node in
                    var node = node
                    node.name = "b\(part)-\(node.name)"
                    return node
                }
            }
            let input = PackInput(shape: PackingFamily.shape, nodes: nodes, pods: pods, maxNewEVMs: 1_000)
            let total = pods.filter { $0.nodeSelector.isEmpty }.reduce(EMPModel.Resources.zero) { $0 + $1.requests }
            let room = nodes.reduce(EMPModel.Resources.zero) { $0 + $1.free }
            let size = PackingFamily.shape.allocatable
            // Volume, and pods over half an EVM's CPU (no two share one), likewise memory.
            let big = max(
                pods.count { $0.requests.cpuMillis > size.cpuMillis / 2 }, pods.count { $0.requests.memoryBytes > size.memoryBytes / 2 })
            let bound = max(
                1, (total.cpuMillis - room.cpuMillis + size.cpuMillis - 1) / size.cpuMillis,
                (total.memoryBytes - room.memoryBytes + size.memoryBytes - 1) / size.memoryBytes, Int64(big))
            baseline.append(Double(PodPacker(improvementLimit: 0).pack(input).newEVMs.count) / Double(bound))
            ours.append(Double(PodPacker().pack(input).newEVMs.count) / Double(bound))
        }
        for (name, ratios) in [("first fit decreasing alone (baseline)", baseline), ("ours", ours)] {
            report("\(family.rawValue) ×10, \(name): mean", ratios.reduce(0, +) / Double(max(1, ratios.count)), "× bound", decimals: 3)
        }
    }
}
