import EMPModel
public import EMPScheduling

/// Seeded families of small packing instances that are hard for first fit decreasing, shared by the packer's
/// optimality tests and `emp-bench packer`: each instance is small enough for ``ExactPacking``.
public enum PackingFamily: String, CaseIterable, Sendable {
    /// Anti-affinity groups of 2–4 small replicas beside large pods: first fit decreasing places the small members
    /// last, after the large pods filled the first EVMs, and each member opens a nearly empty EVM.
    case antiAffinityGroups
    /// Pods just over ½ and just over ¼ of an EVM's memory, and small ones.
    case halvesAndQuarters
    /// CPU-heavy and memory-heavy pods that fill an EVM only in pairs.
    case cpuMemoryPairs
    /// Existing EVM nodes, one labelled for pods whose nodeSelector no new EVM satisfies and one with an extra
    /// taint some pods tolerate, beside ordinary pods.
    case existingNodes
    /// Everything above mixed.
    case mixed

    /// The EVM every family packs into: 4 CPU and 16Gi allocatable, 110 pods.
    public static let shape = PackShape(pool: "p", allocatable: Resources(cpuMillis: 4000, memoryBytes: 16 << 30))

    static let toleration = PackToleration(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)

    /// Instance `seed` of the family: 6–10 pods.
    public func instance(seed: UInt64) -> PackInput {
        var random = SplitMix(seed: seed &+ UInt64(Self.allCases.firstIndex(of: self)!) &* 1_000_003)
        switch self {
        case .antiAffinityGroups: return Self.groups(&random)
        case .halvesAndQuarters: return Self.halves(&random)
        case .cpuMemoryPairs: return Self.pairs(&random)
        case .existingNodes: return Self.existing(&random)
        case .mixed:
            let parts = [Self.groups(&random), Self.halves(&random), Self.pairs(&random)]
            var pods: [PackPod] = []
            for part in parts { pods += part.pods.prefix(3 + random.next(below: 2)) }
            return PackInput(shape: Self.shape, pods: Array(pods.prefix(10)), maxNewEVMs: 20)
        }
    }

    /// A pod tolerating the EVM taint with these requests.
    public static func pod(_ id: String, cpu: Int64, memoryMiB: Int64) -> PackPod {
        PackPod(id: id, requests: Resources(cpuMillis: cpu, memoryBytes: memoryMiB << 20), tolerations: [toleration])
    }

    static func groups(_ random: inout SplitMix) -> PackInput {
        var pods: [PackPod] = []
        let large = 2 + random.next(below: 3)
        for index in 0..<large {
            pods.append(
                pod("big-\(index)", cpu: Int64(1500 + random.next(below: 1500)), memoryMiB: Int64(8_000 + random.next(below: 6_000))))
        }
        var group = 0
        while pods.count < 9 {
            let members = min(2 + random.next(below: 3), 10 - pods.count)
            for member in 0..<members {
                var replica = pod(
                    "g\(group)-\(member)", cpu: Int64(100 + random.next(below: 400)), memoryMiB: Int64(256 + random.next(below: 1_800)))
                replica.labels = ["app": "g\(group)"]
                replica.antiAffinity = [["app": "g\(group)"]]
                pods.append(replica)
            }
            group += 1
        }
        return PackInput(shape: shape, pods: pods, maxNewEVMs: 20)
    }

    static func halves(_ random: inout SplitMix) -> PackInput {
        let evm: Int64 = 16 << 10
        let count = 7 + random.next(below: 4)
        let pods = (0..<count).map { index -> PackPod in
            let memory: Int64
            switch random.next(below: 3) {
            case 0: memory = evm / 2 + 100 + Int64(random.next(below: 700))
            case 1: memory = evm / 4 + 100 + Int64(random.next(below: 500))
            default: memory = evm / 4 - 200 - Int64(random.next(below: 800))
            }
            return pod("m-\(index)", cpu: Int64(100 + random.next(below: 300)), memoryMiB: memory)
        }
        return PackInput(shape: shape, pods: pods, maxNewEVMs: 20)
    }

    static func pairs(_ random: inout SplitMix) -> PackInput {
        let count = 6 + random.next(below: 5)
        let pods = (0..<count).map { index -> PackPod in
            if random.next(below: 2) == 0 {
                return pod("cpu-\(index)", cpu: Int64(2200 + random.next(below: 1000)), memoryMiB: Int64(1_000 + random.next(below: 4_000)))
            }
            return pod("mem-\(index)", cpu: Int64(300 + random.next(below: 1200)), memoryMiB: Int64(9_000 + random.next(below: 4_000)))
        }
        return PackInput(shape: shape, pods: pods, maxNewEVMs: 20)
    }

    static func existing(_ random: inout SplitMix) -> PackInput {
        var ssd = PackNode(
            name: "evm-ssd", labels: shape.labels, free: Resources(cpuMillis: 4000, memoryBytes: Int64(4 + random.next(below: 8)) << 30))
        ssd.labels["disk"] = "ssd"
        let gpuTaint = PackTaint(key: "gpu", value: "true", effect: "NoSchedule")
        let tainted = PackNode(
            name: "evm-gpu", labels: shape.labels, taints: [.emp, gpuTaint],
            free: Resources(cpuMillis: 3000, memoryBytes: Int64(6 + random.next(below: 8)) << 30))
        let count = 6 + random.next(below: 5)
        var pods: [PackPod] = []
        for index in 0..<count {
            var next = pod("p-\(index)", cpu: Int64(200 + random.next(below: 1500)), memoryMiB: Int64(1_000 + random.next(below: 7_000)))
            switch random.next(below: 4) {
            case 0 where pods.filter({ $0.nodeSelector["disk"] != nil }).count < 2:
                next.requests.memoryBytes = min(next.requests.memoryBytes, 2 << 30)
                next.nodeSelector = ["disk": "ssd"]
            case 1: next.tolerations.append(PackToleration(key: "gpu", operator: "Exists", effect: "NoSchedule"))
            default: break
            }
            pods.append(next)
        }
        return PackInput(shape: shape, nodes: [ssd, tainted], pods: pods, maxNewEVMs: 20)
    }
}
