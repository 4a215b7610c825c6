import EMPModel
import EMPSimulation
import EMPStore
import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

@testable import EMPControlPlane

/// The simulator (`empctl simulate`) and the live autoscaler decide alike (issue 21): the same pod sequence, fed
/// to the real Autoscaler on KubeSim one pass per second of a manual clock and to the simulator in 1 s steps,
/// gives the same scale-ups and removals at the same seconds. Both call the same decision code
/// (`ScalingTimers`, `PodPacker`); this checks the simulator feeds it what the cluster would.
@Suite(.serialized) struct SimulatorAgreementTests {
    /// Replicas of a Deployment of 1 CPU / 2Gi pods, from the given second on.
    static let schedule: [(time: Int, replicas: Int)] = [(0, 0), (10, 6), (15, 16), (60, 0), (120, 0)]

    @Test func theSimulatorAndTheLiveAutoscalerMakeTheSameDecisions() async throws {
        let live = try await liveDecisions()
        let simulated = try simulatedDecisions()
        #expect(!live.ups.isEmpty && !live.downs.isEmpty, "the sequence exercises scale-up and removal")
        #expect(live.ups == simulated.ups, "scale-ups (second, EVMs)")
        #expect(live.downs == simulated.downs, "removals (second, EVMs)")
    }

    /// The rig's pool: 4 vCPU / 16Gi EVMs (3 such pods each after the kubelet's reserve), minEVMs 1, maxEVMs 10, one
    /// 64-core / 256Gi host without overcommit; the simulator gets the same (an m5.16xlarge host), EVMs that join
    /// at once and pods that start at once, as KubeSim's.
    func simulatedDecisions() throws -> (ups: [[Int]], downs: [[Int]]) {
        let rows = Self.schedule.map { "\($0.time),app,\($0.replicas),1,2Gi,500m,1Gi" }
        let trace = try TraceCSV.parse(
            (["timestamp,workload,replicas,cpu_request,memory_request,cpu_usage,memory_usage"] + rows).joined(separator: "\n"))
        var settings = SimulationSettings()
        settings.step = 1
        settings.evmBootSeconds = 0
        settings.podStartSeconds = 0
        settings.hostType = "m5.16xlarge"
        settings.cpuOvercommit = 1
        settings.memoryOvercommit = 1
        settings.evmShape = EVMShape(vcpus: 4, memoryBytes: .gibibytes(16))
        settings.minEVMs = 1
        settings.maxEVMs = 10
        let report = try Simulation(trace: trace, settings: settings).run()
        let emp = try #require(report.scenarios.first { $0.name == "emp" })
        return (emp.scaleUps.map { [$0.time, $0.evms] }, emp.scaleDowns.map { [$0.time, $0.evms] })
    }

    func liveDecisions() async throws -> (ups: [[Int]], downs: [[Int]]) {
        let rig = try await AutoscalerTests.start(
            loop: false,
            configure: { (settings: inout Autoscaler.Settings) in
                settings.idleWindow = .seconds(1)
                settings.maxWindow = .seconds(10)
                settings.emptyAfter = .seconds(30)
                settings.tick = .seconds(1)
            })
        defer { Task { await rig.stop() } }
        let client = rig.client
        #expect(try await eventually { try await rig.readyNodes() == 1 }, "the floor's EVM joins")
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        var deployment = AutoscalerTests.deployment(replicas: 0)
        deployment.spec.template.spec.containers = [Container(name: "c", image: "alpine", requests: ["cpu": "1", "memory": "2Gi"])]
        let deployments = client.resources(Deployment.self, namespace: "emp-test")
        _ = try await deployments.create(deployment)
        let pods = client.resources(Pod.self, namespace: "emp-test")
        var replicas = 0
        var state = Autoscaler.LoopState()
        var ups: [[Int]] = []
        var downs: [[Int]] = []
        for second in 0..<Self.schedule.last!.time {
            if let change = Self.schedule.first(where: { $0.time == second }), change.replicas != replicas {
                replicas = change.replicas
                _ = try await deployments.scale(deployment.metadata.name ?? "", replicas: replicas)
            }
            // Settle as a cluster does between two autoscaler ticks: every EVM's Node registered and Ready, every pod
            // bound where one fits (3 per Node) or marked Unschedulable, deleted pods gone.
            let settled = try await eventually(timeout: .seconds(20)) {
                let evms = try await rig.evms()
                guard evms.allSatisfy({ $0.phase == .running }) else { return false }
                let nodes = try await client.resources(Node.self).list().items.filter { $0.isReady }
                guard nodes.count == evms.count else { return false }
                let all = try await pods.list().items
                guard all.count == replicas else { return false }
                let bound = all.filter { !($0.spec.nodeName ?? "").isEmpty }.count
                let unschedulable = all.filter { ($0.spec.nodeName ?? "").isEmpty && $0.isUnschedulable }.count
                return bound == min(replicas, 3 * nodes.count) && bound + unschedulable == replicas
            }
            #expect(settled, "the cluster settles at second \(second)")
            let before = Set(try await rig.evms().map(\.id))
            try await rig.pass(&state)
            let after = Set(try await rig.evms().map(\.id))
            if after.subtracting(before).count > 0 { ups.append([second, after.subtracting(before).count]) }
            if before.subtracting(after).count > 0 { downs.append([second, before.subtracting(after).count]) }
            rig.clock.advance(by: .seconds(1))
        }
        return (ups, downs)
    }
}
