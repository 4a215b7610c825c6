import EMPControlPlane
import EMPModel
import EMPStore
import Foundation
import Kube
import KubeSim
import Logging

/// Decision latency: from the last of a burst of Pending pods to the EVM create (the EVM in the store), with
/// the default batch window (idle 1 s, max 10 s, 250 ms ticks) beside a periodic scan every 10 s (how
/// cluster-autoscaler works by default, `--scan-interval=10s`), on KubeSim in this process.
func autoscalerBenchmark() async throws {
    print("autoscaler: last Pending pod → EVM created (5 bursts of 3 pods each)")
    var fast = Autoscaler.Settings()
    fast.tick = .milliseconds(250)
    var scan = Autoscaler.Settings()
    scan.idleWindow = .zero
    scan.tick = .seconds(10)
    for (name, settings) in [("periodic 10 s scan (baseline)", scan), ("batch window 1 s idle / 10 s max (ours)", fast)] {
        let latencies = try await decisionLatencies(settings: settings, bursts: 5)
        let sorted = latencies.sorted()
        report("\(name): median", sorted[sorted.count / 2] * 1000, "ms", decimals: 0)
        report("\(name): worst", (sorted.last ?? 0) * 1000, "ms", decimals: 0)
    }
}

func decisionLatencies(settings: Autoscaler.Settings, bursts: Int) async throws -> [Double] {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let sim = try KubeSim(logger: logger)
    try await sim.start()
    let client = try KubeClient(config: sim.kubeConfig())
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-bench-\(UUID().uuidString)").path
    let store = try SQLiteStore(directory: dir)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try await store.write { tx in
        try tx.save(Pool(id: "bench", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)), createdAt: Date()))
        try tx.save(
            EMPModel.Host(id: "h1", poolID: "bench", capacity: EMPModel.Resources(cpuMillis: 512_000, memoryBytes: .gibibytes(2048))))
    }
    let autoscaler = Autoscaler(client: client, store: store, settings: settings, logger: logger)
    let task = Task { try? await autoscaler.run() }
    defer { task.cancel() }
    try await Task.sleep(for: .milliseconds(500))
    let pods = client.resources(Pod.self, namespace: "default")
    var latencies: [Double] = []
    for burst in 0..<bursts {
        for index in 0..<3 {
            var pod = Pod(name: "b\(burst)-\(index)", namespace: "default")
            pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "3Gi"])]
            pod.spec.tolerations = [Toleration(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)]
            pod.spec.nodeSelector = [Profile.ownedLabel: Profile.ownedValue]
            _ = try await pods.create(pod)
        }
        let last = ContinuousClock.now
        while try await store.read({ try $0.evms(EVMFilter(poolID: "bench")) }).isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        latencies.append(seconds(ContinuousClock.now - last))
        // Reset: no pods, no EVMs, before the next burst.
        for index in 0..<3 { try await pods.deleteIfPresent("b\(burst)-\(index)") }
        try await store.write { tx in
            for evm in try tx.evms(EVMFilter(poolID: "bench")) { try tx.deleteEVM(evm.id) }
        }
        try await Task.sleep(for: .milliseconds(300))
    }
    task.cancel()
    try await client.shutdown()
    await sim.stop()
    return latencies
}

/// What one autoscaler pass costs to read the pods, at cluster size: 20,000 pods bound to 2,000 nodes (200 of them
/// the pool's EVM nodes) and 50 scale-up candidates. Baseline: what every pass did before issue 22 — go over every
/// pod (here: building the index from the whole list, the same filter). Ours: the index kept from events; a pass
/// applies the event that arrived and reads the candidates and the EVM nodes' pods.
func podReadingBenchmark() async {
    print("autoscaler pass, reading the pods: 20,000 pods on 2,000 nodes, 200 EVM nodes, 50 candidates")
    var pods: [Pod] = []
    for i in 0..<20_000 {
        var pod = Pod(name: "p\(i)", namespace: "ns")
        pod.spec.nodeName = "node-\(i % 2_000)"
        pods.append(pod)
    }
    for i in 0..<50 {
        var pod = Pod(name: "pending-\(i)", namespace: "ns")
        pod.spec.tolerations = [Toleration(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)]
        pod.status.conditions = [Condition(type: "PodScheduled", status: "False", reason: "Unschedulable")]
        pods.append(pod)
    }
    let evmNodes = (0..<200).map { "node-\($0)" }
    let scan = await measure(20) { _ = PodIndex(pods).reading(nodes: evmNodes) }
    var index = PodIndex(pods)
    var next = 0
    let ours = await measure(2_000) {
        next = (next + 1) % pods.count
        index.apply(.modified(pods[next]))
        _ = index.reading(nodes: evmNodes)
    }
    report("every pod, every pass (baseline): passes/s", scan.perSecond, "/s")
    report("index kept from events (ours): passes/s", ours.perSecond, "/s")
}
