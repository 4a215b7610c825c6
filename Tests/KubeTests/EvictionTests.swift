import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

@Suite struct EvictionTests {
    @Test func evictionHonoursPodDisruptionBudgets() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        var node = Node(name: "n1")
        node.status.allocatable = ["cpu": "8", "memory": "32Gi", "pods": "110"]
        _ = try await harness.client.resources(Node.self).create(node)
        try harness.sim.setNodeReady("n1")
        let pods = harness.client.resources(Pod.self, namespace: "default")
        for index in 0..<3 { _ = try await pods.create(pod("web-\(index)", labels: ["app": "web"])) }
        try await eventually { try await pods.list().items.allSatisfy { $0.status.phase == "Running" } }

        var budget = PodDisruptionBudget(name: "web", namespace: "default")
        budget.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        budget.spec.minAvailable = .int(2)
        _ = try await harness.client.resources(PodDisruptionBudget.self, namespace: "default").create(budget)

        try await pods.evict("web-0")
        #expect(try await pods.getIfPresent("web-0") == nil)
        await #expect { try await pods.evict("web-1") } throws: { error in
            guard let error = error as? KubeError else { return false }
            return error.reason == .tooManyRequests && error.message.contains("disruption budget")
        }
        #expect(try await pods.getIfPresent("web-1") != nil)
        try await eventually {
            try await harness.client.resources(PodDisruptionBudget.self, namespace: "default").get("web").status.disruptionsAllowed == 0
        }
    }
}
