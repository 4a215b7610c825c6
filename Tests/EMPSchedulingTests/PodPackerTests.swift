import EMPModel
import EMPTesting
import Testing

@testable import EMPScheduling

@Suite struct PodPackerTests {
    static let evmToleration = PackToleration(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule")
    /// The seed's pool: 4 vCPU / 16Gi EVMs with 1 CPU and 1Gi reserved → 3 CPU, 15Gi allocatable.
    static let shape = PackShape(pool: "p", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)), reserved: resources("1", "1Gi"))

    static func resources(_ cpu: String, _ memory: String) -> Resources { try! Resources(cpu: cpu, memory: memory) }

    static func pod(
        _ id: String, cpu: String = "100m", memory: String = "3Gi", selector: [String: String] = ["emp.pf9.io/owned": "true"],
        tolerates: Bool = true, labels: [String: String] = [:], antiAffinity: [[String: String]] = []
    ) -> PackPod {
        PackPod(
            id: id, requests: resources(cpu, memory), labels: labels, nodeSelector: selector,
            tolerations: tolerates ? [evmToleration] : [], antiAffinity: antiAffinity)
    }

    /// A lower bound on the EVMs any packing needs: max over CPU and memory of ⌈Σ requests / allocatable⌉, and
    /// the number of pods needing more than half of an EVM in some dimension (no two of them can share one).
    static func lowerBound(_ pods: [PackPod], _ shape: PackShape) -> Int {
        let total = pods.reduce(Resources.zero) { $0 + $1.requests }
        let cpu = (total.cpuMillis + shape.allocatable.cpuMillis - 1) / shape.allocatable.cpuMillis
        let memory = (total.memoryBytes + shape.allocatable.memoryBytes - 1) / shape.allocatable.memoryBytes
        let big = pods.count {
            $0.requests.cpuMillis * 2 > shape.allocatable.cpuMillis || $0.requests.memoryBytes * 2 > shape.allocatable.memoryBytes
        }
        return max(Int(max(cpu, memory)), big)
    }

    @Test func theSeedWalkthroughNeedsOneMoreEVM() {
        // One EVM running four 3Gi pods (12Gi of 15Gi used); a fifth 3Gi pod fits; a sixth does not.
        let node = PackNode(name: "evm-1", labels: Self.shape.labels, free: Self.resources("2600m", "3Gi"))
        let fifth = PodPacker().pack(PackInput(shape: Self.shape, nodes: [node], pods: [Self.pod("emp-test/e")]))
        #expect(fifth.newEVMs.isEmpty)
        #expect(fifth.placements == ["emp-test/e": "evm-1"])
        let full = PackNode(name: "evm-1", labels: Self.shape.labels, free: Self.resources("2500m", "0"))
        let sixth = PodPacker().pack(PackInput(shape: Self.shape, nodes: [full], pods: [Self.pod("emp-test/f")]))
        #expect(sixth.newEVMs.map(\.pods) == [["emp-test/f"]])
    }

    @Test func podsEVMsCannotHelpNeverCauseEVMs() {
        let pods = [
            Self.pod("a/untolerating", tolerates: false),
            Self.pod("a/ssd", selector: ["disktype": "ssd"]),
            Self.pod("a/huge", memory: "40Gi"),
            Self.pod("a/cpu-hungry", cpu: "8"),
        ]
        let result = PodPacker().pack(PackInput(shape: Self.shape, pods: pods))
        #expect(result.newEVMs.isEmpty)
        #expect(result.unplaced.allSatisfy { $0.permanent })
        let reasons = Dictionary(uniqueKeysWithValues: result.unplaced.map { ($0.pod, $0.reason) })
        #expect(reasons["a/huge"] == "requests 40Gi memory; an EVM of pool p has 15Gi allocatable")
        #expect(reasons["a/untolerating"]?.contains("does not tolerate the EVM taint emp.pf9.io/EMPSchedulable=true:NoSchedule") == true)
        #expect(reasons["a/ssd"] == "nodeSelector disktype=ssd does not match EVM nodes of pool p")
        #expect(reasons["a/cpu-hungry"] == "requests 8000m CPU; an EVM of pool p has 3000m allocatable")
    }

    @Test func requiredNodeAffinityIsHonoured() {
        var ok = Self.pod("a/ok", selector: [:])
        ok.nodeAffinity = [[PackRequirement(key: "emp.pf9.io/pool", operator: "In", values: ["p", "q"])]]
        var no = Self.pod("a/no", selector: [:])
        no.nodeAffinity = [[PackRequirement(key: "emp.pf9.io/pool", operator: "NotIn", values: ["p"])]]
        let result = PodPacker().pack(PackInput(shape: Self.shape, pods: [ok, no]))
        #expect(result.placements["a/ok"] == "new-1")
        #expect(result.unplaced.map(\.pod) == ["a/no"])
    }

    @Test func antiAffinityKeepsReplicasApart() {
        let pods = (1...3).map { Self.pod("a/db-\($0)", cpu: "100m", memory: "1Gi", labels: ["app": "db"], antiAffinity: [["app": "db"]]) }
        let existing = PackNode(name: "evm-1", labels: Self.shape.labels, free: Self.resources("3", "15Gi"), podLabels: [["app": "db"]])
        let result = PodPacker().pack(PackInput(shape: Self.shape, nodes: [existing], pods: pods))
        #expect(result.newEVMs.count == 3)
        #expect(Set(result.placements.values).count == 3)
        #expect(!result.placements.values.contains("evm-1"))
    }

    @Test func initContainersCountByKubernetesRule() {
        let requests = Resources.effectiveRequest(
            containers: [Self.resources("500m", "1Gi"), Self.resources("500m", "1Gi")],
            initContainers: [Self.resources("2", "512Mi")])
        #expect(requests == Self.resources("2", "2Gi"))
    }

    @Test func theLimitAndHeadroomAreRespected() {
        let pods = (1...12).map { Self.pod("a/p\($0)", memory: "7Gi") }  // two per EVM
        let capped = PodPacker().pack(PackInput(shape: Self.shape, pods: pods, maxNewEVMs: 4))
        #expect(capped.newEVMs.count == 4)
        #expect(capped.unplaced.count == 4)
        #expect(capped.unplaced.allSatisfy { !$0.permanent && $0.reason.contains("limit 4") })

        let roomy = PodPacker().pack(
            PackInput(shape: Self.shape, pods: [Self.pod("a/x", memory: "7Gi")], headroom: Self.resources("0", "20Gi")))
        #expect(roomy.newEVMs.count == 2)
        #expect(roomy.headroomEVMs == 1)
    }

    /// Mixed requests, seeded: never more than the lower bound + 1 EVMs, every pod placed, nothing overfilled.
    @Test(arguments: 1...20)
    func mixedWorkloadsPackCloseToTheLowerBound(seed: Int) {
        var generator = SplitMix(seed: UInt64(seed))
        let sizes = [("100m", "512Mi"), ("250m", "1Gi"), ("500m", "3Gi"), ("1", "2Gi"), ("2", "6Gi"), ("200m", "5Gi"), ("100m", "8Gi")]
        let pods = (0..<Int.random(in: 10...80, using: &generator)).map { index in
            let (cpu, memory) = sizes.randomElement(using: &generator)!
            return Self.pod("a/p\(index)", cpu: cpu, memory: memory)
        }
        let result = PodPacker().pack(PackInput(shape: Self.shape, pods: pods))
        #expect(result.unplaced.isEmpty)
        #expect(result.newEVMs.count <= Self.lowerBound(pods, Self.shape) + 1)
        #expect(result.newEVMs.allSatisfy { $0.free.isNonNegative })
        #expect(result.placements.count == pods.count)
    }
}
