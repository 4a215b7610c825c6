import AsyncHTTPClient
import EMPAgent
import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Kube
import KubeSim
import Libvirt
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Pending pod → EVM usable on real guests (needs root on Debian; scripts/virt-harness.sh), through the whole
/// product: KubeSim, the control plane with its autoscaler, and an agent on one libvirtd host. Cold: the autoscaler
/// creates an EVM; usable when the guest's init prints its ready line (a real kubelet's join comes on top). Warm
/// `running`: usable when the claimed EVM's Node has lost the warm taint. Warm `paused`: usable when the domain runs
/// again. Warm `saved`: usable when the domain runs again, restored from libvirt's managed save. Each from the decision the control plane records (EVM created / warm EVM claimed). Then what a warm EVM
/// costs its host while it waits: resident memory and CPU.
func warmBenchmark() async throws {
    if let reason = VirtHarness.unavailableReason {
        print("warm: skipped: \(reason)")
        return
    }
    print("warm: pending pod → EVM usable, 128 MiB TCG guests on one libvirtd host, 3 runs each (median)")
    let harness = try await VirtHarness.start(hosts: 1)
    do {
        let rig = try await WarmRig.start(harness)
        do {
            try await rig.measure()
        } catch {
            await rig.stop()
            throw error
        }
        await rig.stop()
    } catch {
        try? await harness.stop()
        throw error
    }
    try await harness.stop()
}

private final class WarmRig: @unchecked Sendable {
    // @unchecked: built once, then used by the one benchmark task.
    let harness: VirtHarness
    let dir: TemporaryDirectory
    let sim: KubeSim
    let kube: KubeClient
    let built: ControlPlane.Built
    let url: String
    /// The agent's task.
    let tasks: [Task<Void, any Error>]
    let server: ServingTask?
    let connection: Connection

    private init(
        harness: VirtHarness, dir: TemporaryDirectory, sim: KubeSim, kube: KubeClient, built: ControlPlane.Built, url: String,
        tasks: [Task<Void, any Error>], server: ServingTask?, connection: Connection
    ) {
        self.server = server
        self.harness = harness
        self.dir = dir
        self.sim = sim
        self.kube = kube
        self.built = built
        self.url = url
        self.tasks = tasks
        self.connection = connection
    }

    static func start(_ harness: VirtHarness) async throws -> WarmRig {
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let dir = try TemporaryDirectory(prefix: "emp-bench-warm")
        var options = KubeSim.Options()
        options.nodeReadyAfter = nil  // a Node is Ready when the guest says so (as a kubelet would)
        let sim = try KubeSim(options: options)
        try await sim.start()
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let kube = try KubeClient(config: sim.kubeConfig())
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("cp"), operatorTokens: ["bench"])
        configuration.port = 0
        configuration.rebalancer.enabled = false
        configuration.kubeconfigPath = dir.file("kubeconfig")
        configuration.autoscaler.idleWindow = .milliseconds(100)
        configuration.autoscaler.tick = .milliseconds(50)
        configuration.autoscaler.emptyAfter = .seconds(3600)
        configuration.autoscaler.reserved = .zero
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let built = try ControlPlane.build(configuration: configuration, logger: logger, onServerRunning: { signal.yield($0) })
        let server = ServingTask(built.service)
        var port = 0
        for await bound in ready {
            port = bound
            break
        }
        let url = "http://127.0.0.1:\(port)"
        try await built.store.write { tx in
            try tx.save(
                Pool(
                    id: "vm", shape: EVMShape(vcpus: 1, memoryBytes: 128 << 20), policy: PoolPolicy(cpuOvercommit: 8), createdAt: Date()))
        }
        struct Token: Decodable { let token: String }
        let rig0 = WarmRig(
            harness: harness, dir: dir, sim: sim, kube: kube, built: built, url: url, tasks: [], server: nil,
            connection: try await Connection(uri: harness.hosts[0].uri))
        let token = try JSONDecoder().decode(Token.self, from: try await rig0.call("POST", "/v1/pools/vm/tokens")).token
        let agentConfiguration = AgentConfiguration(
            controlPlaneURL: url, joinToken: token, hostID: "h1", libvirtURI: harness.hosts[0].uri, stateDirectory: dir.file("agent"),
            domainType: .qemu, reportInterval: .seconds(1), pollWait: 5, kernel: harness.kernel, initrd: harness.initrd,
            kernelCommandLine: "console=ttyS0 quiet panic=-1")
        let agent = HostAgent(
            configuration: agentConfiguration, client: ControlPlaneClient(http: HTTPClient.shared, baseURL: url),
            connection: rig0.connection, kube: kube, logger: logger)
        let tasks = [Task { try await agent.run() }]
        _ = try await kube.resources(Namespace.self).create(Namespace(name: "bench"))
        return WarmRig(
            harness: harness, dir: dir, sim: sim, kube: kube, built: built, url: url, tasks: tasks, server: server,
            connection: rig0.connection)
    }

    func stop() async {
        for task in tasks { task.cancel() }
        for task in tasks { _ = await task.result }
        await server?.stop()
        try? await built.kube?.shutdown()
        try? await kube.shutdown()
        await sim.stop()
    }

    @discardableResult
    func call(_ method: String, _ path: String, _ json: String = "{}") async throws -> Data {
        var request = HTTPClientRequest(url: url + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer bench")
        request.body = .bytes(ByteBuffer(string: json))
        return Data(buffer: try await HTTPClient.shared.execute(request, timeout: .seconds(30)).body.collect(upTo: 1 << 20))
    }

    func evms() async throws -> [EVM] { try await built.store.read { try $0.evms(EVMFilter(poolID: "vm")) } }

    func booted(_ evm: String) -> Bool {
        let data = (try? Data(contentsOf: URL(fileURLWithPath: dir.file("agent/console/\(evm).log")))) ?? Data()
        return String(decoding: data, as: UTF8.self).contains("EMP-GUEST-READY")
    }

    func state(_ evm: String) async throws -> DomainState? {
        try await connection.listDomains().first { $0.domain.name == evm }?.state
    }

    func warmTainted(_ evm: String) async throws -> Bool {
        try await kube.resources(Node.self).getIfPresent(evm)?.spec.taints.contains { $0.key == Profile.warmTaintKey } ?? false
    }

    /// What the kubelet would do once the guest is up: the Node Ready, with allocatable room.
    func markNodeReady(_ evm: String) async throws {
        let nodes = kube.resources(Node.self)
        var node = try await nodes.get(evm)
        var conditions = node.status.conditions
        conditions.set(Condition(type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status"))
        node.status.conditions = conditions
        if node.status.allocatable.isEmpty { node.status.allocatable = node.status.capacity }
        _ = try await nodes.updateStatus(node)
    }

    func createPod(_ name: String) async throws {
        var pod = Pod(name: name, namespace: "bench")
        pod.spec.tolerations = [Toleration(key: Profile.taintKey, value: "true", effect: "NoSchedule")]
        pod.spec.nodeSelector = [Profile.ownedLabel: "true"]
        pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "64Mi"])]
        _ = try await kube.resources(Pod.self, namespace: "bench").create(pod)
    }

    /// Deletes the pod and the EVM it ran on, and waits until the EVM is gone.
    func cleanUp(pod: String, evm: String) async throws {
        try await kube.resources(Pod.self, namespace: "bench").deleteIfPresent(pod)
        try await call("DELETE", "/v1/evms/\(evm)")
        guard try await eventually(timeout: .seconds(60), { try await self.built.store.read { try $0.evm(evm) } == nil }) else {
            throw TestSupportError("EVM \(evm) was not deleted")
        }
    }

    func measure() async throws {
        var cold: [Double] = []
        for run in 0..<3 {
            let before = Set(try await evms().map(\.id))
            try await createPod("cold-\(run)")
            var created: EVM?
            guard
                try await eventually(
                    timeout: .seconds(30), interval: .milliseconds(5),
                    {
                        created = try await self.evms().first { !before.contains($0.id) }
                        return created != nil
                    })
            else { throw TestSupportError("no EVM was created for a pending pod") }
            let evm = created!
            guard try await eventually(timeout: .seconds(120), interval: .milliseconds(20), { self.booted(evm.id) }) else {
                throw TestSupportError("the cold EVM did not boot")
            }
            cold.append(Date().timeIntervalSince(evm.createdAt))
            try await cleanUp(pod: "cold-\(run)", evm: evm.id)
        }
        report("cold EVM: decision → guest ready (create + boot), median", median(cold), "s", decimals: 2)

        var costs: [(WarmMode, rss: Double, cpu: Double)] = []
        var claimed: [WarmMode: Double] = [:]
        for mode in WarmMode.allCases {
            try await call("PATCH", "/v1/pools/vm", #"{"policy": {"warm": {"count": 1, "mode": "\#(mode.rawValue)"}}}"#)
            var claims: [Double] = []
            for run in 0..<3 {
                let warm = try await waitForWarm(mode)
                if run == 0 { costs.append(try await cost(of: warm, mode: mode)) }
                let pod = "warm-\(mode.rawValue)-\(run)"
                try await createPod(pod)
                guard
                    try await eventually(
                        timeout: .seconds(30), interval: .milliseconds(2),
                        {
                            let tainted = try await self.warmTainted(warm)
                            let running = try await self.state(warm) == .running
                            return !tainted && running
                        })
                else { throw TestSupportError("the warm EVM \(warm) was not handed over") }
                let usable = Date()
                let claimed = try await built.store.read { try $0.evm(warm) }
                guard let decided = claimed?.claimedAt else { throw TestSupportError("\(warm) was not claimed") }
                claims.append(usable.timeIntervalSince(decided))
                try await cleanUp(pod: pod, evm: warm)
            }
            report("warm \(mode.rawValue): decision (claim) → EVM usable, median", median(claims) * 1000, "ms", decimals: 0)
            claimed[mode] = median(claims)
            try await call("PATCH", "/v1/pools/vm", #"{"policy": {"warm": {"count": 0}}}"#)
            _ = try await eventually(timeout: .seconds(60)) { try await self.evms().isEmpty }
        }
        for mode in WarmMode.allCases {
            report("cold ÷ warm \(mode.rawValue) (times faster)", median(cold) / max(0.001, claimed[mode] ?? 1), "×", decimals: 0)
        }
        for (mode, rss, cpu) in costs {
            report("warm \(mode.rawValue) while waiting: resident memory per EVM", rss, "MiB", decimals: 0)
            report("warm \(mode.rawValue) while waiting: CPU per EVM", cpu, "millicores", decimals: 0)
        }
    }

    /// Waits for a warm EVM that has booted, marks its Node Ready, and (paused) until the agent suspended it.
    func waitForWarm(_ mode: WarmMode) async throws -> String {
        var id: String?
        guard
            try await eventually(
                timeout: .seconds(120), interval: .milliseconds(20),
                {
                    id = try await self.evms().first { $0.phase == .warm && $0.warm == mode }?.id
                    return id.map(self.booted) ?? false
                })
        else { throw TestSupportError("no warm EVM booted") }
        let warm = id!
        try await markNodeReady(warm)
        let wanted: DomainState = mode == .paused ? .paused : mode == .saved ? .shutoff : .running
        guard
            try await eventually(
                timeout: .seconds(30),
                {
                    let joined = try await self.built.store.read { try $0.evm(warm)?.nodeReadyAt } != nil
                    let state = try await self.state(warm)
                    return joined && state == wanted
                })
        else { throw TestSupportError("the warm EVM did not settle \(mode.rawValue)") }
        return warm
    }

    /// Resident memory and CPU of a waiting warm EVM, over 5 s, from libvirt's stats.
    func cost(of evm: String, mode: WarmMode) async throws -> (WarmMode, rss: Double, cpu: Double) {
        // A domain saved to disk has no process: nothing resident, no CPU.
        let first = try await connection.allDomainStats().first { $0.name == evm }
        try await Task.sleep(for: .seconds(5))
        let second = try await connection.allDomainStats().first { $0.name == evm }
        let cpu = (Double(second?.cpuTimeNanoseconds ?? 0) - Double(first?.cpuTimeNanoseconds ?? 0)) / 5e9 * 1000
        return (mode, Double(second?.balloonRSSBytes ?? 0) / Double(1 << 20), cpu)
    }
}

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
