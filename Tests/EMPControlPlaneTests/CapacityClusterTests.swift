import AsyncHTTPClient
import EMPAgent
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
import Testing

@testable import EMPControlPlane

/// The whole product in one process on the manual clock: the control plane's HTTP API and loops (host health,
/// autoscaler), KubeSim, and real agents on libvirt test-driver hosts `a` and `b` that pre-register Nodes.
final class CapacityCluster: @unchecked Sendable {
    // @unchecked: set up and changed only by the test that owns it, from one task.
    let dir: TemporaryDirectory
    let clock = ManualClock()
    let sim: KubeSim
    let kube: KubeClient
    let built: ControlPlane.Built
    var port = 0
    var server: ServingTask?
    var agents: [String: Task<Void, any Error>] = [:]
    var connections: [String: Connection] = [:]
    var configurations: [String: AgentConfiguration] = [:]
    let configuration: ControlPlaneConfiguration

    init(pool: PoolPolicy) async throws {
        dir = try TemporaryDirectory()
        var options = KubeSim.Options()
        options.nodeReadyAfter = .zero
        sim = try KubeSim(options: options)
        try await sim.start()
        kube = try KubeClient(config: sim.kubeConfig())
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: [APIFixture.token])
        configuration.port = 0
        configuration.rebalancer.enabled = false
        configuration.kubeconfigPath = dir.file("kubeconfig")
        configuration.heartbeatTimeout = .seconds(10)
        configuration.hostLostAfter = .seconds(20)
        configuration.healthCheckInterval = .seconds(1)
        configuration.autoscaler.tick = .milliseconds(500)
        configuration.autoscaler.idleWindow = .seconds(1)
        configuration.autoscaler.maxWindow = .seconds(2)
        configuration.autoscaler.emptyAfter = .seconds(3600)
        self.configuration = configuration
        let (ready, signal) = AsyncStream<Int>.makeStream()
        built = try ControlPlane.build(
            configuration: configuration, logger: Logger(label: "test"), clock: clock, onServerRunning: { signal.yield($0) })
        server = ServingTask(built.service)
        for await bound in ready {
            port = bound
            break
        }
        try await built.store.write { tx in
            try tx.save(Pool(id: "cap", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(8)), policy: pool, createdAt: Date()))
        }
        for name in ["a", "b"] {
            let token = try JSONDecoder().decode(TokenWire.self, from: try await call("POST", "/v1/pools/cap/tokens", "{}").body).token
            let uri = try TestDriverHost.write(to: dir.file("\(name).xml"), cores: 16, memoryGiB: 64)
            connections[name] = try await Connection(uri: uri)
            configurations[name] = AgentConfiguration(
                controlPlaneURL: "http://127.0.0.1:\(port)", joinToken: token, hostID: name, libvirtURI: uri,
                stateDirectory: dir.file("agent-\(name)"), domainType: .test, reportInterval: .milliseconds(100), pollWait: 1)
            startAgent(name)
            _ = try await eventually { try await self.built.store.read { try $0.host(name) } != nil }
        }
    }

    /// Starts (or restarts, with its state directory and its libvirt daemon's domains) the agent of `name`.
    func startAgent(_ name: String) {
        let agent = HostAgent(
            configuration: configurations[name]!,
            client: ControlPlaneClient(http: HTTPClient.shared, baseURL: configurations[name]!.controlPlaneURL),
            connection: connections[name]!, kube: kube, logger: Logger(label: "agent-\(name)"))
        agents[name] = Task { try await agent.run() }
    }

    /// Stops the agent of `name` for good: no more reports, no reconciling (its domains stay defined).
    func killAgent(_ name: String) async {
        agents[name]?.cancel()
        _ = await agents[name]?.result
        agents[name] = nil
    }

    /// Moves the clock in `step`s until `condition` holds, letting the live agents report between steps (each
    /// step waits for their heartbeats to reach the clock, so only silent hosts fall behind).
    func advance(
        by step: Duration = .milliseconds(500), upTo limit: Duration = .seconds(120), until condition: () async throws -> Bool
    ) async throws -> Bool {
        var moved = Duration.zero
        while moved <= limit {
            if try await condition() { return true }
            clock.advance(by: step)
            moved += step
            let live = Set(agents.keys)
            let time = clock.date
            _ = try await eventually(timeout: .seconds(30)) {
                let hosts = try await self.built.store.read { try $0.hosts() }
                return hosts.filter { live.contains($0.id) }.allSatisfy { ($0.lastHeartbeat ?? .distantPast) >= time }
            }
            try await Task.sleep(for: .milliseconds(20))  // the loops woken by the step finish their pass
        }
        return try await condition()
    }

    /// Runs `body` on a new cluster and stops the cluster however `body` ends.
    static func with(pool: PoolPolicy, _ body: (CapacityCluster) async throws -> Void) async throws {
        let cluster = try await CapacityCluster(pool: pool)
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }

    func stop() async {
        for name in Array(agents.keys) { await killAgent(name) }
        await server?.stop()
        try? await built.kube?.shutdown()
        try? await kube.shutdown()
        await sim.stop()
    }

    func call(_ method: String, _ path: String, _ json: String? = nil) async throws -> (status: UInt, body: Data) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(APIFixture.token)")
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func evms() async throws -> [EVM] { try await built.store.read { try $0.evms(EVMFilter(poolID: "cap")) } }
    func host(_ id: String) async throws -> EMPModel.Host? { try await built.store.read { try $0.host(id) } }
    func events(_ reason: String) async throws -> [EMPModel.Event] {
        try await built.store.read { try $0.events(EventFilter(limit: 5000)) }.filter { $0.reason == reason }
    }
    func domains(_ host: String) async throws -> [String: DomainState] {
        Dictionary(try await connections[host]!.listDomains().map { ($0.domain.name, $0.state) }, uniquingKeysWith: { a, _ in a })
    }
    func pods() async throws -> [Pod] { try await kube.resources(Pod.self, namespace: "capacity").list().items }
    func nodes() async throws -> [String: Node] {
        Dictionary(try await kube.resources(Node.self).list().items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A Deployment of `replicas` pods of 5Gi (one per EVM) that tolerate the EMP taint (as the webhook would make them).
    func deploy(replicas: Int) async throws {
        if try await kube.resources(Namespace.self).getIfPresent("capacity") == nil {
            _ = try await kube.resources(Namespace.self).create(Namespace(name: "capacity"))
        }
        var deployment = Deployment(name: "app", namespace: "capacity")
        deployment.spec.replicas = replicas
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "app"])
        deployment.spec.template.metadata.labels = ["app": "app"]
        deployment.spec.template.spec.tolerations = [Toleration(key: Profile.taintKey, value: "true", effect: "NoSchedule")]
        deployment.spec.template.spec.nodeSelector = [Profile.ownedLabel: "true"]
        deployment.spec.template.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "5Gi"])]
        let deployments = kube.resources(Deployment.self, namespace: "capacity")
        if var existing = try await deployments.getIfPresent("app") {
            existing.spec.replicas = replicas
            _ = try await deployments.update(existing)
        } else {
            _ = try await deployments.create(deployment)
        }
    }

    /// Pods of the Deployment Running, and on which Nodes.
    func runningPods() async throws -> [String: String] {
        Dictionary(
            try await pods().filter { $0.status.phase == "Running" && $0.metadata.deletionTimestamp == nil }.map {
                ($0.name, $0.spec.nodeName ?? "")
            }, uniquingKeysWith: { a, _ in a })
    }
}

@Suite(.serialized) struct CapacityClusterTests {
    /// A host whose agent dies for good: after hostLostAfter its EVMs are `lost` and their Nodes gone, the pods
    /// that ran there run again on new EVMs on the other host; when the agent comes back it destroys the written-off
    /// domains, and the host stays cordoned until an operator uncordons it.
    @Test func aLostHostsEVMsAreReplacedAndItReturnsCordoned() async throws {
        try await CapacityCluster.with(pool: PoolPolicy(memoryOvercommit: 1.5)) { cluster in
            try await cluster.deploy(replicas: 2)
            #expect(
                try await cluster.advance {
                    let evms = try await cluster.evms()
                    return try await cluster.runningPods().count == 2 && evms.count == 2 && evms.allSatisfy { $0.phase == .running }
                }, "the two pods never ran")
            let before = try await cluster.evms()
            let dead = try #require(before.first?.hostID)
            let alive = dead == "a" ? "b" : "a"
            #expect(before.allSatisfy { $0.hostID == dead }, "binpack put both EVMs on one host")
            await cluster.killAgent(dead)

            // NotReady after the heartbeat timeout (10 s), lost 20 s later.
            #expect(try await cluster.advance { try await cluster.host(dead)?.state == .notReady })
            let notReadyAt = cluster.clock.date
            #expect(try await cluster.advance(by: .seconds(1)) { try await cluster.host(dead)?.state == .lost })
            #expect(cluster.clock.date.timeIntervalSince(notReadyAt) >= 19, "lost before hostLostAfter")
            let lost = try await cluster.evms().filter { $0.hostID == dead }
            #expect(lost.count == 2 && lost.allSatisfy { $0.phase == .lost }, "\(lost.map { ($0.id, $0.phase) })")
            #expect(try await cluster.host(dead)?.allocated == .zero, "the written-off EVMs' allocation is released")
            #expect(try await cluster.events("HostLost").count == 1)

            // Their Nodes go, the pods are recreated and run on new EVMs on the live host.
            #expect(
                try await cluster.advance {
                    let running = try await cluster.runningPods()
                    let nodes = try await cluster.nodes()
                    return running.count == 2 && running.values.allSatisfy { nodes[$0]?.metadata.labels[Profile.hostLabel] == alive }
                }, "the pods did not move to \(alive)")
            let nodes = try await cluster.nodes()
            #expect(lost.allSatisfy { nodes[$0.nodeName] == nil }, "the lost EVMs' Nodes were not deleted")

            // The agent returns with its state directory: it destroys the stale domains; the records go; the host stays
            // cordoned until uncordoned.
            #expect(try await cluster.domains(dead).count == 2, "the dead host's daemon still has its domains")
            cluster.startAgent(dead)
            #expect(
                try await cluster.advance {
                    let domains = try await cluster.domains(dead)
                    let evms = try await cluster.evms()
                    return domains.isEmpty && evms.allSatisfy { $0.hostID == alive }
                })
            let returned = try #require(try await cluster.host(dead))
            #expect(returned.state == .ready && returned.cordoned && returned.effectiveState == .cordoned)
            #expect(try await cluster.events("HostReturned").count == 1)
            #expect(try await cluster.call("POST", "/v1/hosts/\(dead)/uncordon").status == 200)
            #expect(try await cluster.host(dead)?.acceptsPlacements == true)
        }
    }

    /// Uncordoning a host that is still lost is refused with a reason.
    @Test func aLostHostCannotBeUncordonedBeforeItReturns() async throws {
        try await CapacityCluster.with(pool: PoolPolicy()) { cluster in
            await cluster.killAgent("a")
            #expect(try await cluster.advance(by: .seconds(1)) { try await cluster.host("a")?.state == .lost })
            let answer = try await cluster.call("POST", "/v1/hosts/a/uncordon")
            #expect(answer.status == 409)
            #expect(String(decoding: answer.body, as: UTF8.self).contains("lost"))
        }
    }

    /// Warm EVMs, paused or saved: booted and joined, then suspended in libvirt (paused) or written to disk with
    /// libvirt's managed save (saved: the domain is shut off with a save image); a Pending pod gets one without any
    /// EVM being created (the domain is resumed or restored, the warm taint removed), and the warm set is refilled.
    @Test(arguments: [WarmMode.paused, .saved])
    func aPendingPodRunsOnAClaimedWarmEVM(mode: WarmMode) async throws {
        try await CapacityCluster.with(pool: PoolPolicy(warm: WarmPolicy(count: 1, mode: mode))) { cluster in
            let held: DomainState = mode == .paused ? .paused : .shutoff
            #expect(
                try await cluster.advance {
                    let warm = try await cluster.evms().filter { $0.phase == .warm && $0.nodeReadyAt != nil }
                    guard let evm = warm.first, let host = evm.hostID else { return false }
                    return try await cluster.domains(host)[evm.id] == held
                }, "no warm EVM was booted, joined and held \(mode.rawValue)")
            if mode == .saved {
                let evm = try #require(try await cluster.evms().first)
                let domain = try await cluster.connections[evm.hostID!]!.domain(named: evm.id)
                #expect(try await domain.hasManagedSaveImage(), "saved without a managed save image")
            }
            let warm = try #require(try await cluster.evms().first)
            let node = try #require(try await cluster.nodes()[warm.nodeName])
            #expect(node.spec.taints.contains { $0.key == Profile.warmTaintKey }, "the warm Node must keep pods away")
            #expect(try await cluster.events("WarmEVMRefilled").count == 1)

            try await cluster.deploy(replicas: 1)
            #expect(
                try await cluster.advance { try await cluster.runningPods().values.contains(warm.nodeName) },
                "the pod did not run on the warm EVM")
            let claimed = try #require(try await cluster.evms().first { $0.id == warm.id })
            #expect(claimed.phase == .running && claimed.warm == nil && claimed.claimedAt != nil)
            #expect(try await cluster.domains(claimed.hostID!)[claimed.id] == .running, "the claimed domain was not resumed or restored")
            let untainted = try await cluster.nodes()[warm.nodeName]?.spec.taints.contains { (taint: Taint) in
                taint.key == Profile.warmTaintKey
            }
            #expect(untainted == false, "the claimed Node kept the warm taint")
            let scaledUp = try await cluster.events("ScaledUp")
            #expect(scaledUp.count == 1 && scaledUp[0].message.contains("1 claimed warm"), "\(scaledUp.map(\.message))")
            // Refilled: a new warm EVM, held once joined.
            #expect(
                try await cluster.advance {
                    try await cluster.evms().contains { $0.id != warm.id && $0.phase == .warm && $0.nodeReadyAt != nil }
                })
            #expect(try await cluster.events("WarmEVMRefilled").count == 2)
            #expect(try await cluster.events("Placed").count == 2, "one warm EVM at start and one refill; none for the pod")
        }
    }
}
