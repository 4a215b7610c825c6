import EMPAgent
import EMPModel
import EMPTesting
import Foundation
import Kube
import KubeSim
import Libvirt
import Logging
import Testing

/// The agent pre-registers each EVM as a tainted, labelled Node before its domain exists, and removes it after.
@Suite struct NodeRegistrationTests {
    @Test func nodesFollowTheDesiredEVMs() async throws {
        let sim = try KubeSim()
        try await sim.start()
        let kube = try KubeClient(config: sim.kubeConfig())
        defer {
            Task {
                try? await kube.shutdown()
                await sim.stop()
            }
        }
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir, kube: kube)
        let nodes = kube.resources(Node.self)

        // Someone else's node, another host's EMP node, and a leftover EMP node of this host with no EVM or domain.
        _ = try await nodes.create(Node(name: "control-plane-1"))
        var other = NodeRegistrar.node(for: evm("p-zzz999"), hostID: "h2")
        other.metadata.labels[Profile.hostLabel] = "h2"
        _ = try await nodes.create(other)
        _ = try await nodes.create(NodeRegistrar.node(for: evm("p-old000"), hostID: "h1"))

        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222")], hostID: "h1")
        let node = try await nodes.get("p-aaa111")
        #expect(node.spec.taints.map { "\($0.key)=\($0.value ?? ""):\($0.effect)" } == ["emp.pf9.io/EMPSchedulable=true:NoSchedule"])
        #expect(node.metadata.labels["emp.pf9.io/owned"] == "true")
        #expect(node.metadata.labels["emp.pf9.io/pool"] == "p")
        #expect(node.metadata.labels["emp.pf9.io/host"] == "h1")
        let names = try await nodes.list().items.map(\.name).sorted()
        #expect(names == ["control-plane-1", "p-aaa111", "p-bbb222", "p-zzz999"])

        // A label or the taint removed by hand is put back; other changes are kept.
        _ = try await nodes.patch(
            "p-bbb222",
            .merge(.object(["spec": .object(["taints": .null]), "metadata": .object(["labels": .object(["team": .string("x")])])])))
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222")], hostID: "h1")
        try await NodeRegistrar(client: kube, hostID: "h1", logger: .init(label: "t")).ensure(evm("p-bbb222"))
        let repaired = try await nodes.get("p-bbb222")
        #expect(repaired.spec.taints.map(\.key) == ["emp.pf9.io/EMPSchedulable"])
        #expect(repaired.metadata.labels["team"] == "x")

        // Deleting an EVM removes its domain, then its Node.
        try await agent.reconcile([evm("p-aaa111")], hostID: "h1")
        #expect(try await nodes.getIfPresent("p-bbb222") == nil)
        #expect(try await connection.domainIfExists(named: "p-bbb222") == nil)
        #expect(try await nodes.getIfPresent("p-zzz999") != nil)
        #expect(try await nodes.getIfPresent("control-plane-1") != nil)
    }

    @Test func anEVMIsNotBootedWhileItsNodeCannotBeRegistered() async throws {
        let sim = try KubeSim()
        try await sim.start()
        var options = KubeClient.Options()
        options.maxRetries = 0
        options.requestTimeout = .seconds(2)
        let kube = try KubeClient(config: sim.kubeConfig(), options: options)
        defer {
            Task {
                try? await kube.shutdown()
                await sim.stop()
            }
        }
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir, kube: kube)

        await sim.stop()
        try? await agent.reconcile([evm("p-aaa111")], hostID: "h1")
        #expect(try await connection.domainIfExists(named: "p-aaa111") == nil)

        try await sim.start()
        try await agent.reconcile([evm("p-aaa111")], hostID: "h1")
        #expect(try await connection.domainIfExists(named: "p-aaa111") != nil)
        #expect(try await kube.resources(Node.self).getIfPresent("p-aaa111") != nil)
    }
}
