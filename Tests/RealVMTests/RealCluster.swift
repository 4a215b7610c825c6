import AsyncHTTPClient
import EMPControlPlane
import EMPModel
import EMPScheduling
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

/// The control plane in this process (so the test reads its store) and one `emp-agent` process per real libvirtd
/// host of a ``VirtHarness``, booting 128 MiB TCG guests by direct kernel boot.
final class RealCluster: @unchecked Sendable {
    // @unchecked: set up once, then used by the one test that owns it.
    let harness: VirtHarness
    let dir: TemporaryDirectory
    let built: ControlPlane.Built
    let token = "real-vm-operator"
    var port = 0
    var server: ServingTask?
    var agents: [String: ChildProcess] = [:]
    private var portStream: AsyncStream<Int>?
    /// The cluster the EVMs join: agents pre-register their Nodes here.
    let sim: KubeSim
    var kube: KubeClient?
    /// Host names, in harness order.
    var names: [String] { harness.hosts.indices.map { "h\($0 + 1)" } }

    /// `nodeReadyAfter` nil: no Node becomes Ready on its own (the test says when the kubelet has joined).
    init(harness: VirtHarness, rebalanceInterval: Duration = .seconds(1), nodeReadyAfter: Duration? = .zero) throws {
        self.harness = harness
        dir = try TemporaryDirectory(prefix: "emp-realvm")
        var options = KubeSim.Options()
        options.nodeReadyAfter = nodeReadyAfter
        sim = try KubeSim(options: options)
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("cp"), operatorTokens: [token])
        configuration.port = 0
        configuration.heartbeatTimeout = .seconds(30)
        configuration.rebalancer.interval = rebalanceInterval
        configuration.rebalancer.retryAfter = 0
        // Only what the tests ask for: no balancing or consolidation of the two test guests on their own.
        configuration.rebalancer.planner.goals = [.evacuate]
        let (ready, signal) = AsyncStream<Int>.makeStream()
        portStream = ready
        built = try ControlPlane.build(configuration: configuration, logger: Logger(label: "cp"), onServerRunning: { signal.yield($0) })
        server = ServingTask(built.service)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func start() async throws {
        try await sim.start()
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        kube = try KubeClient(config: sim.kubeConfig())
        for await bound in portStream! {
            port = bound
            break
        }
        try await built.store.write { tx in
            // CPU overcommitted 2×: the machine's 2 cores hold all three test guests on one host (step 6 places the
            // third on the host the other two may have landed on).
            let policy = PoolPolicy(cpuOvercommit: 2)
            try tx.save(Pool(id: "vm", shape: EVMShape(vcpus: 1, memoryBytes: 128 << 20), policy: policy, createdAt: Date()))
        }
        for name in names { try await startAgent(name, joinToken: try await joinToken()) }
        for name in names { _ = try await eventually(timeout: .seconds(30)) { try await self.host(name)?.state == .ready } }
    }

    func joinToken() async throws -> String {
        struct Created: Decodable { let token: String }
        return try JSONDecoder().decode(Created.self, from: try await call("POST", "/v1/pools/vm/tokens", "{}").body).token
    }

    func stateDirectory(_ name: String) -> String { dir.file("agent-\(name)") }
    func libvirtURI(_ name: String) -> String { harness.hosts[names.firstIndex(of: name)!].uri }

    /// Starts (or restarts, with its stored credential) the agent of host `name`.
    func startAgent(
        _ name: String, joinToken: String? = nil, interruptionURL: String? = nil, cmdline: String = "console=ttyS0 quiet panic=-1"
    )
        async throws
    {
        var arguments = [
            "--control-plane", url, "--host-id", name, "--libvirt-uri", libvirtURI(name), "--domain-type", "qemu",
            "--state-dir", stateDirectory(name), "--report-interval", "1", "--poll-wait", "2", "--kernel", harness.kernel,
            "--initrd", harness.initrd, "--cmdline", cmdline, "--migration-uri", libvirtURI(name),
            "--kubeconfig", dir.file("kubeconfig"), "--log-level", "info",
        ]
        if let joinToken { arguments += ["--join-token", joinToken] }
        if let interruptionURL { arguments += ["--interruption-url", interruptionURL] }
        agents[name] = try ChildProcess(try BuiltProducts.executable("emp-agent"), arguments)
    }

    /// The agent process of host `name`, while it runs.
    func agent(_ name: String) -> ChildProcess? { agents[name] }

    func killAgent(_ name: String) {
        agents[name]?.kill()
        agents[name] = nil
    }

    func stop() async {
        for name in agents.keys { killAgent(name) }
        await server?.stop()
        try? await kube?.shutdown()
        await sim.stop()
        try? await harness.stop()
    }

    // MARK: Reading state

    func call(_ method: String, _ path: String, _ json: String? = nil) async throws -> (status: UInt, body: Data) {
        var request = HTTPClientRequest(url: url + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func host(_ id: String) async throws -> EMPModel.Host? { try await built.store.read { try $0.host(id) } }
    func evm(_ id: String) async throws -> EVM? { try await built.store.read { try $0.evm(id) } }
    func evms() async throws -> [EVM] { try await built.store.read { try $0.evms(.all) } }
    func migrations(_ evm: String) async throws -> [Migration] {
        try await built.store.read { try $0.migrations(MigrationFilter(evmID: evm)) }
    }

    /// The EVM's Node in KubeSim.
    func node(_ evm: String) async throws -> Node? {
        guard let name = try await self.evm(evm)?.nodeName else { return nil }
        return try? await kube!.resources(Node.self).get(name)
    }

    /// The guest's serial console as its host's agent writes it.
    func console(_ evm: String, on host: String) -> String {
        // Firmware output before the kernel's is not always UTF-8: decoded leniently.
        (try? Data(contentsOf: URL(fileURLWithPath: "\(stateDirectory(host))/console/\(evm).log"))).map {
            String(decoding: $0, as: UTF8.self)
        } ?? ""
    }

    /// The last `EMP-TICK n` in the console, or 0.
    func lastTick(_ evm: String, on host: String) -> Int {
        // `\r\n` is one Character: split on any newline.
        console(evm, on: host).split(whereSeparator: \.isNewline).reversed().lazy.compactMap { line -> Int? in
            guard line.hasPrefix("EMP-TICK ") else { return nil }
            return Int(line.dropFirst(9).split(separator: " ").first ?? "")
        }.first ?? 0
    }

    /// The state of `evm`'s domain on `host`, from its own daemon.
    func domainState(_ evm: String, on host: String) async throws -> DomainState? {
        try await Connection(uri: libvirtURI(host)).listDomains().first { $0.domain.name == evm }?.state
    }

    /// Marks `evm`'s Node Ready, as its kubelet would once it joined.
    func markNodeReady(_ evm: String) async throws {
        let nodes = kube!.resources(Node.self)
        var node = try await nodes.get(evm)
        var conditions = node.status.conditions
        conditions.set(Condition(type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status"))
        node.status.conditions = conditions
        if node.status.allocatable.isEmpty { node.status.allocatable = node.status.capacity }
        _ = try await nodes.updateStatus(node)
    }

    /// Running domains on `host`, from its own daemon.
    func runningDomains(_ host: String) async throws -> [String] {
        let connection = try await Connection(uri: libvirtURI(host))
        return try await connection.listDomains().filter { $0.state.isActive }.map(\.domain.name).sorted()
    }
}
