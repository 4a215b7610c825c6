import EMPModel
import EMPScheduling
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
        for (name, packer) in [("best fit (baseline)", PodPacker(fit: .best)), ("first fit (ours)", PodPacker(fit: .first))] {
            let start = ContinuousClock.now
            let result = packer.pack(input)
            let elapsed = seconds(ContinuousClock.now - start)
            report("\(count) pods, \(name): pods/s", Double(count) / elapsed, "/s", decimals: 0)
            report("\(count) pods, \(name): EVMs / lower bound \(bound)", Double(result.newEVMs.count) / Double(bound), "×", decimals: 3)
        }
    }
}
