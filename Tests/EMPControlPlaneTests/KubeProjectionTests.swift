import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Kube
import KubeSim
import Logging
import Testing

@testable import EMPControlPlane

/// Pools and EVMs as EVMPool and EVM objects (issue 20), read back with kubectl as a platform team would.
@Suite(.serialized) struct KubeProjectionTests {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    func kubectl(_ kubeconfig: String, _ arguments: String...) async throws -> (status: Int32, output: [String], errors: String) {
        let (status, output, errors) = try await ChildProcess.run("/usr/bin/env", ["kubectl", "--kubeconfig", kubeconfig] + arguments)
        return (status, output, errors.joined(separator: "\n"))
    }

    func columns(_ line: String) -> [String] { line.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }

    @Test func poolsAndEVMsAppearInKubectlAndFollowTheStore() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        let config = dir.file("kubeconfig")
        try sim.writeKubeconfig(to: config)
        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        let clock = ManualClock(epoch: Date(timeIntervalSince1970: 1_800_000_000))
        let store = try SQLiteStore(directory: dir.file("data"))
        try await store.write { tx in
            try tx.save(
                Pool(
                    id: "trading", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)),
                    policy: PoolPolicy(cpuOvercommit: 2, minEVMs: 2, maxEVMs: 3), createdAt: clock.date))
            try tx.save(
                EMPModel.Host(
                    id: "bm-1", poolID: "trading", capacity: EMPModel.Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))))
        }
        let created = try await EVMPlacement(store: store, expectedUseFraction: 0.25).create(count: 2, poolID: "trading", at: clock.date)
        let projection = KubeProjection(
            client: client, store: store, settings: KubeProjection.Settings(), clock: clock, logger: Logger(label: "test"))

        // Without the CRDs the API answers 404 (the service logs it once and goes on).
        await #expect(throws: KubeError.self) { try await projection.pass() }
        #expect(try await kubectl(config, "apply", "-f", "\(Self.repositoryRoot)/deploy/crds/").status == 0)

        func markReady(_ id: String) async throws {
            let time = clock.date
            try await store.write { tx in
                guard var evm = try tx.evm(id) else { return }
                evm.phase = .running
                evm.nodeReadyAt = time
                try tx.save(evm)
            }
        }
        // One EVM running with its Node Ready, one still creating.
        try await markReady(created[0].id)
        try await projection.pass()
        var pools = try await kubectl(config, "get", "evmpools")
        #expect(columns(pools.output[0]) == ["NAME", "SHAPE", "EVMS", "WARM", "HOSTS", "CPU", "MEMORY", "SAVINGS", "READY", "AGE"])
        // 2 EVMs of 4 vCPU / 16Gi on 64 cores × 2 and 256Gi: 8 of 128 cores (6 %) and 32 of 256Gi (13 %) allocated; used
        // is what placement expects until the agent reports (a quarter of each EVM): 2 cores (2 %), 8Gi (3 %).
        #expect(
            Array(columns(pools.output[1]).prefix(14)) == [
                "trading", "4", "vCPU", "/", "16Gi", "1/2", "0", "1", "6%", "/", "2%", "13%", "/", "3%",
            ])
        #expect(columns(pools.output[1]).contains("False"), "Ready is False while an EVM starts")
        let pool = try await client.resources(EVMPoolObject.self).get("trading")
        let conditions = pool.object["status"]?["conditions"]?.arrayValue ?? []
        #expect(conditions.compactMap { $0["type"]?.stringValue } == ["Ready", "ScalingLimited", "HostsShort"])
        #expect(conditions.first?["reason"]?.stringValue == "EVMsStarting")
        #expect(conditions.first?["observedGeneration"]?.intValue == pool.metadata.generation)
        let firstTransition = conditions.first?["lastTransitionTime"]?.stringValue

        let evms = try await kubectl(config, "get", "evms")
        #expect(columns(evms.output[0]) == ["NAME", "POOL", "HOST", "PHASE", "NODE", "AGE"])
        let listed: [[String]] = evms.output.dropFirst().map { Array(columns($0).prefix(4)) }.sorted { $0[0] < $1[0] }
        let expected: [[String]] = created.map { evm -> [String] in
            [evm.id, "trading", "bm-1", evm.id == created[0].id ? "running" : "creating"]
        }.sorted { $0[0] < $1[0] }
        #expect(listed == expected)

        // Nothing changed: the transition time stays. The second EVM gets ready: Ready turns True, at the new time.
        clock.advance(by: .seconds(60))
        try await projection.pass()
        let unchanged = try await client.resources(EVMPoolObject.self).get("trading")
        #expect(unchanged.object["status"]?["conditions"]?.arrayValue?.first?["lastTransitionTime"]?.stringValue == firstTransition)
        try await markReady(created[1].id)
        try await projection.pass()
        let ready = try await client.resources(EVMPoolObject.self).get("trading")
        let condition = ready.object["status"]?["conditions"]?.arrayValue?.first
        #expect(condition?["status"]?.stringValue == "True")
        #expect(condition?["lastTransitionTime"]?.stringValue == KubeTime.format(clock.date))

        // An edit by hand is repaired at the next pass.
        #expect(
            try await kubectl(
                config, "patch", "evmpool", "trading", "--subresource=status", "--type=merge", "-p", #"{"status":{"hosts":9}}"#
            )
            .status == 0)
        try await projection.pass()
        pools = try await kubectl(config, "get", "evmpools")
        #expect(columns(pools.output[1])[7] == "1")

        // An EVM that goes takes its object with it.
        _ = try await store.write { tx in try tx.deleteEVM(created[1].id) }
        try await projection.pass()
        let left = try await client.resources(EVMObject.self).list().items.map(\.name)
        #expect(left == [created[0].id])
    }
}
