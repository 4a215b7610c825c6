import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Kube
import KubeSim
import Logging
import Testing

@testable import EMPControlPlane

@Suite struct DeadlineDrainTests {
    /// An EVM whose RSS cannot cross the link before its host's deadline is not migrated: its Node is cordoned, its
    /// pods are evicted, and a DeadlineDrain event says why; the one that can make it is migrated.
    @Test func anEVMThatCannotMakeTheDeadlineIsDrainedInstead() async throws {
        var options = KubeSim.Options()
        options.nodeReadyAfter = .zero
        let sim = try KubeSim(options: options)
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        let now = Date()
        let shape = EVMShape(vcpus: 4, memoryBytes: .gibibytes(64))
        let (big, small) = (
            EVM(id: "big", poolID: "p", hostID: "a", shape: shape, phase: .running, nodeName: "big", createdAt: now),
            EVM(id: "small", poolID: "p", hostID: "a", shape: shape, phase: .running, nodeName: "small", createdAt: now)
        )
        try await store.write { tx in
            try tx.save(Pool(id: "p", shape: shape, createdAt: now))
            let capacity = Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))
            try tx.save(
                EMPModel.Host(
                    id: "a", poolID: "p", capacity: capacity, allocated: shape.resources * 2, deadline: now.addingTimeInterval(30)))
            try tx.save(EMPModel.Host(id: "b", poolID: "p", capacity: capacity))
            var heavy = big
            heavy.used = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(60))  // 60 s at 1 GiB/s: misses 30 s
            try tx.save(heavy)
            var light = small
            light.used = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(4))
            try tx.save(light)
        }
        let registrar = NodeRegistrar(client: client, hostID: "a", logger: Logger(label: "test"))
        try await registrar.ensure(big)
        var workload = Pod(name: "web", namespace: "default")
        workload.spec.containers = [Container(name: "main", image: "nginx", requests: ["cpu": "100m"])]
        workload.spec.nodeName = "big"
        _ = try await client.resources(Pod.self, namespace: "default").create(workload)

        let rebalancer = RebalancerService(
            store: store, settings: .init(), kube: client, clock: ManualClock(epoch: now), logger: Logger(label: "test"))
        let started = try await rebalancer.tick()
        #expect(started.map(\.evmID) == ["small"])
        let node = try await client.resources(Node.self).get("big")
        #expect(node.spec.unschedulable == true)
        #expect(try await eventually { try await client.resources(Pod.self, namespace: "default").list().items.isEmpty })
        let events = try await store.read { try $0.events(EventFilter(object: ObjectRef(.evm, "big"))) }
        let drain = try #require(events.first { $0.reason == "DeadlineDrain" })
        #expect(drain.type == .warning)
        #expect(drain.message.contains("needs 60 s") && drain.message.contains("cordoned, 1 pod(s) evicted"), "\(drain.message)")
        // Drained once: the next pass does not evict again or repeat the event.
        _ = try await rebalancer.tick()
        let again = try await store.read { try $0.events(EventFilter(object: ObjectRef(.evm, "big"))) }
        #expect(again.filter { $0.reason == "DeadlineDrain" }.count == 1)
    }
}
