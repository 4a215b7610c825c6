import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

/// The simulated scheduler follows the default scheduler's filters the autoscaler and webhook depend on.
@Suite struct SchedulerTests {
    func setUp() async throws -> (KubeSim, KubeClient) {
        let sim = try KubeSim()
        try await sim.start()
        return (sim, try KubeClient(config: sim.kubeConfig()))
    }

    func node(_ name: String, labels: [String: String] = [:], taints: [Taint] = [], cpu: String = "2", memory: String = "4Gi") -> Node {
        var node = Node(name: name)
        node.metadata.labels = labels
        node.spec.taints = taints
        node.status.allocatable = ["cpu": cpu, "memory": memory, "pods": "110"]
        return node
    }

    func pod(_ name: String, cpu: String = "500m", tolerations: [Toleration] = [], selector: [String: String] = [:]) -> Pod {
        var pod = Pod(name: name, namespace: "default")
        pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["cpu": cpu])]
        pod.spec.tolerations = tolerations
        pod.spec.nodeSelector = selector
        return pod
    }

    func placement(_ client: KubeClient, _ name: String) async throws -> Pod {
        var result = try await client.resources(Pod.self, namespace: "default").get(name)
        #expect(
            try await eventually(timeout: .seconds(5)) {
                result = try await client.resources(Pod.self, namespace: "default").get(name)
                return result.spec.nodeName != nil || result.isUnschedulable
            })
        return result
    }

    @Test func taintsSelectorsAndRequestsDecideWhereAPodGoes() async throws {
        let (sim, client) = try await setUp()
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        let evmTaint = Taint(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule")
        _ = try await client.resources(Node.self).create(node("plain"))
        _ = try await client.resources(Node.self).create(node("evm", labels: ["emp.pf9.io/owned": "true"], taints: [evmTaint]))
        _ = try await client.resources(Node.self).create(node("not-ready", labels: ["emp.pf9.io/owned": "true"]))
        try sim.setNodeReady("plain")
        try sim.setNodeReady("evm")
        let pods = client.resources(Pod.self, namespace: "default")
        let toleration = Toleration(key: "emp.pf9.io/EMPSchedulable", operator: "Equal", value: "true", effect: "NoSchedule")

        // The webhook's mutation: toleration + nodeSelector → the EVM only.
        _ = try await pods.create(pod("mutated", tolerations: [toleration], selector: ["emp.pf9.io/owned": "true"]))
        #expect(try await placement(client, "mutated").spec.nodeName == "evm")
        // Without the toleration the tainted EVM is out, and the selector rules out the plain node.
        _ = try await pods.create(pod("untolerated", selector: ["emp.pf9.io/owned": "true"]))
        let refused = try await placement(client, "untolerated")
        #expect(refused.isUnschedulable)
        let message = refused.status.conditions.first { $0.type == "PodScheduled" }?.message ?? ""
        #expect(message.hasPrefix("0/3 nodes are available:"))
        #expect(message.contains("node(s) had untolerated taint {emp.pf9.io/EMPSchedulable: true}"))
        #expect(message.contains("node(s) didn't match Pod's node affinity/selector"))
        // Requests: 2 CPUs on the EVM, 500m taken; a 2-CPU pod no longer fits.
        _ = try await pods.create(pod("big", cpu: "2", tolerations: [toleration], selector: ["emp.pf9.io/owned": "true"]))
        let big = try await placement(client, "big")
        #expect(big.status.conditions.first { $0.type == "PodScheduled" }?.message?.contains("Insufficient cpu") == true)

        // A new Ready EVM lets the pending pods in (what the autoscaler relies on).
        _ = try await client.resources(Node.self).create(node("evm-2", labels: ["emp.pf9.io/owned": "true"], taints: [evmTaint]))
        try sim.setNodeReady("evm-2")
        #expect(try await eventually(timeout: .seconds(20)) { try await pods.get("big").spec.nodeName == "evm-2" })
    }

    @Test func requiredNodeAffinityAndAntiAffinity() async throws {
        let (sim, client) = try await setUp()
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        for name in ["a", "b"] {
            _ = try await client.resources(Node.self).create(node(name, labels: ["zone": name]))
            try sim.setNodeReady(name)
        }
        var affine = pod("affine")
        affine.spec.affinity = Affinity(object: [
            "nodeAffinity": .object([
                "requiredDuringSchedulingIgnoredDuringExecution": .object([
                    "nodeSelectorTerms": .array([
                        .object(["matchExpressions": .array([LabelSelectorRequirement(key: "zone", operator: "In", values: ["b"]).json])])
                    ])
                ])
            ])
        ])
        _ = try await client.resources(Pod.self).create(affine)
        #expect(try await placement(client, "affine").spec.nodeName == "b")

        for index in 0..<3 {
            var spread = pod("spread-\(index)")
            spread.metadata.labels = ["app": "spread"]
            spread.spec.affinity = Affinity(object: [
                "podAntiAffinity": .object([
                    "requiredDuringSchedulingIgnoredDuringExecution": .array([
                        .object([
                            "topologyKey": .string("kubernetes.io/hostname"),
                            "labelSelector": LabelSelector(matchLabels: ["app": "spread"]).json,
                        ])
                    ])
                ])
            ])
            _ = try await client.resources(Pod.self).create(spread)
            _ = try await placement(client, "spread-\(index)")
        }
        let placed = try await client.resources(Pod.self, namespace: "default").list(ListOptions(labelSelector: "app=spread")).items
        #expect(Set(placed.compactMap(\.spec.nodeName)) == ["a", "b"])
        #expect(placed.filter(\.isUnschedulable).count == 1)
    }
}
