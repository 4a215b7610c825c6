import EMPModel
import EMPTesting
import Foundation
import Kube
import KubeSim
import NIOHTTP1
import Testing

/// Control plane (SQLite) + 3 agents, each on its own libvirt test-driver host (64 cores, 256 GiB), as processes.
@Suite(.serialized) struct ControlPlaneAgentTests {
    static let pool = #"{"id":"pool-a","shape":{"vcpus":2,"memory":"16Gi"},"policy":{"memoryOvercommit":1.5}}"#

    func checkAllocations(_ cluster: Cluster) async throws {
        let hosts = try await cluster.get([EMPModel.Host].self, "/v1/hosts")
        let evms = try await cluster.get([EVM].self, "/v1/evms")
        for host in hosts {
            let sum = evms.filter { $0.hostID == host.id }.reduce(Resources.zero) { $0 + $1.shape.resources }
            #expect(host.allocated == sum, "host \(host.id): allocated \(host.allocated) but its EVMs sum to \(sum)")
            #expect(host.allocated.memoryBytes <= .gibibytes(384), "host \(host.id) past 1.5 × 256 GiB")
        }
    }

    /// The EMP Nodes in KubeSim, by name.
    func empNodes(_ kube: KubeClient) async throws -> [String: Node] {
        let nodes = try await kube.resources(Node.self).list(ListOptions(labelSelector: "emp.pf9.io/owned=true")).items
        return Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0) })
    }

    @Test func twentyEVMsRunAcrossThreeAgentsAndTenAreDeleted() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        let sim = try KubeSim()
        try await sim.start()
        let kube = try KubeClient(config: sim.kubeConfig())
        defer {
            Task {
                try? await kube.shutdown()
                await sim.stop()
            }
        }
        cluster.kubeconfig = cluster.dir.file("kubeconfig")
        try sim.writeKubeconfig(to: cluster.dir.file("kubeconfig"), auth: .clientCertificate(user: "emp-agent", groups: []))
        try await cluster.startControlPlane()
        #expect(try await cluster.call(.POST, "/v1/pools", Self.pool).status == 201)
        for name in ["host-1", "host-2", "host-3"] {
            try cluster.startAgent(name, joinToken: try await cluster.joinToken(pool: "pool-a"))
        }
        try await cluster.eventually("three hosts joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 3 }

        let created = try await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":20}"#)
        #expect(created.status == 201)
        try await cluster.eventually("20 EVMs running") {
            try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 20
        }
        try await checkAllocations(cluster)
        let hosts = try await cluster.get([EMPModel.Host].self, "/v1/hosts")
        #expect(hosts.allSatisfy { $0.capacity == Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)) })

        let evms = try await cluster.get([EVM].self, "/v1/evms")
        // Every EVM is a Node with the exact taint and labels, registered by the agent of its host.
        let nodes = try await empNodes(kube)
        #expect(Set(nodes.keys) == Set(evms.map(\.nodeName)))
        for evm in evms {
            let node = try #require(nodes[evm.nodeName])
            #expect(node.spec.taints.map { "\($0.key)=\($0.value ?? ""):\($0.effect)" } == ["emp.pf9.io/EMPSchedulable=true:NoSchedule"])
            #expect(node.metadata.labels["emp.pf9.io/pool"] == "pool-a")
            #expect(node.metadata.labels["emp.pf9.io/host"] == evm.hostID)
        }
        for evm in evms.prefix(10) {
            #expect(try await cluster.call(.DELETE, "/v1/evms/\(evm.id)").status == 202)
        }
        try await cluster.eventually("the 10 deleted EVMs are gone") {
            try await cluster.get([EVM].self, "/v1/evms").count == 10
        }
        let remaining = try await cluster.get([EVM].self, "/v1/evms")
        #expect(Set(remaining.map(\.id)) == Set(evms.suffix(10).map(\.id)))
        try await cluster.eventually("the 10 deleted EVMs' Nodes are gone") {
            Set(try await empNodes(kube).keys) == Set(remaining.map(\.nodeName))
        }
        try await checkAllocations(cluster)
    }

    /// kill -9 an agent and restart it: its EVMs converge again, none duplicated or lost.
    @Test func aKilledAgentConvergesAfterRestart() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try await cluster.startControlPlane()
        #expect(try await cluster.call(.POST, "/v1/pools", Self.pool).status == 201)
        try cluster.startAgent("host-1", joinToken: try await cluster.joinToken(pool: "pool-a"))
        try await cluster.eventually("host joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 1 }
        #expect(try await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":5}"#).status == 201)
        try await cluster.eventually("5 EVMs running") { try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 5 }

        cluster.killAgent("host-1")
        try cluster.startAgent("host-1", joinToken: nil)  // the stored credential is enough
        #expect(try await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":2}"#).status == 201)
        try await cluster.eventually("7 EVMs running after the restart") {
            try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 7
        }
        let events = try await cluster.get([EMPModel.Event].self, "/v1/events")
        #expect(events.filter { $0.reason == "Joined" }.count == 1, "the restarted agent joined again instead of reusing its credential")
        try await checkAllocations(cluster)
    }

    /// kill -9 the control plane during a burst of 50 creates, restart it: every EVM placed exactly once,
    /// every host's allocation equal to the sum of its EVMs.
    @Test func aKilledControlPlaneLosesNoPlacement() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try await cluster.startControlPlane()
        #expect(try await cluster.call(.POST, "/v1/pools", Self.pool).status == 201)
        for name in ["host-1", "host-2"] {
            try cluster.startAgent(name, joinToken: try await cluster.joinToken(pool: "pool-a"))
        }
        try await cluster.eventually("hosts joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 2 }
        for name in ["host-1", "host-2"] { cluster.killAgent(name) }

        let created = try await withThrowingTaskGroup(of: [String].self) { group in
            for index in 0..<50 {
                group.addTask {
                    if index == 20 { cluster.killControlPlane() }
                    // Calls after the kill fail: at once, or (retrying the connection) after 2 s.
                    guard
                        let (status, body) = try? await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":1}"#, timeout: .seconds(2)),
                        status == 201
                    else { return [] }
                    return try WireJSON.decoder().decode([EVM].self, from: body).map(\.id)
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        cluster.killControlPlane()
        try await cluster.startControlPlane()
        let evms = try await cluster.get([EVM].self, "/v1/evms")
        #expect(Set(evms.map(\.id)).count == evms.count, "an EVM is recorded twice")
        #expect(Set(created).isSubset(of: Set(evms.map(\.id))), "an acknowledged create was lost")
        #expect(evms.allSatisfy { $0.hostID != nil })
        try await checkAllocations(cluster)
    }
}
