import EMPTesting
import Foundation
import Kube
import KubeSim
import Logging
import Testing

@testable import EMPControlPlane

/// The one drainer: cordon, evict through the API (PodDisruptionBudgets decide), leave DaemonSet pods.
@Suite struct NodeDrainerTests {
    static func cluster() async throws -> (KubeSim, KubeClient) {
        let sim = try KubeSim()
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        var node = Node(name: "evm-1")
        node.status.allocatable = ["cpu": "8", "memory": "32Gi", "pods": "110"]
        _ = try await client.resources(Node.self).create(node)
        try sim.setNodeReady("evm-1")
        let pods = client.resources(Pod.self, namespace: "default")
        for index in 0..<2 {
            var pod = Pod(name: "web-\(index)", namespace: "default")
            pod.metadata.labels = ["app": "web"]
            pod.spec.nodeName = "evm-1"
            pod.spec.containers = [Container(name: "main", image: "alpine", requests: ["cpu": "100m"])]
            _ = try await pods.create(pod)
        }
        var budget = PodDisruptionBudget(name: "web", namespace: "default")
        budget.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        budget.spec.minAvailable = .int(1)
        _ = try await client.resources(PodDisruptionBudget.self, namespace: "default").create(budget)
        #expect(try await eventually { try await pods.list().items.allSatisfy { $0.status.phase == "Running" } })
        return (sim, client)
    }

    @Test func aBudgetThatRefusesKeepsTheNodeForScaleDown() async throws {
        let (sim, client) = try await Self.cluster()
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        let drainer = NodeDrainer(client: client, logger: Logger(label: "test"))
        let outcome = try await drainer.drain("evm-1", whenBlocked: .keepNode)
        #expect(outcome == .blocked(pod: "default/web-1"))
        #expect(try await client.resources(Node.self).get("evm-1").spec.unschedulable != true, "uncordoned again")
        #expect(try await client.resources(Pod.self, namespace: "default").list().items.count == 1, "one evicted, one kept")
    }

    @Test func theDeadlineDrainGoesOnPastARefusal() async throws {
        let (sim, client) = try await Self.cluster()
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        let drainer = NodeDrainer(client: client, logger: Logger(label: "test"))
        let outcome = try await drainer.drain("evm-1", whenBlocked: .continueDraining)
        #expect(outcome == .drained(evicted: 1, failed: 1))
        #expect(try await client.resources(Node.self).get("evm-1").spec.unschedulable == true, "stays cordoned")
        try await drainer.deleteNode("evm-1")
        try await drainer.deleteNode("evm-1")  // gone already: no error
        #expect(try await client.resources(Node.self).getIfPresent("evm-1") == nil)
    }
}
