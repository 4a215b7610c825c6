import AsyncHTTPClient
import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Libvirt
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization
import Testing

@testable import EMPControlPlane

/// How the scripted transport behaves for the next migration.
enum TransportMode: Sendable {
    /// The real libvirt call on the test driver, which refuses to migrate.
    case libvirt
    /// Moves the domain to the destination's test-driver connection (what a successful live migration leaves).
    case move
    /// Reports progress, then runs until aborted.
    case hang
}

/// A migration transport for tests: libvirt's real answer, a successful move between test-driver hosts, or a slow
/// migration that only an abort ends.
final class ScriptedTransport: MigrationTransport {
    let source: Connection
    let real: LibvirtMigrationTransport
    let hosts: Mutex<[String: Connection]> = Mutex([:])
    let mode = Mutex(TransportMode.libvirt)
    /// An abort of the hanging migration.
    let aborts = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    init(source: Connection, stateDirectory: String) {
        self.source = source
        self.real = LibvirtMigrationTransport(connection: source, stateDirectory: stateDirectory)
    }

    func migrate(_ evmID: String, command: MigrationCommand, progress: @escaping @Sendable (MigrationProgress) async -> Void) async throws
        -> MigrationProgress?
    {
        switch mode.withLock({ $0 }) {
        case .libvirt:
            return try await real.migrate(evmID, command: command, progress: progress)
        case .hang:
            await progress(
                MigrationProgress(dataTotalBytes: 1 << 30, dataProcessedBytes: 1 << 20, dataRemainingBytes: (1 << 30) - (1 << 20)))
            for await _ in aborts.stream { break }
            throw AgentError("operation aborted: migration out job: canceled by client")
        case .move:
            let destination = try #require(hosts.withLock { $0[command.destinationHost] })
            let domain = try await source.domain(named: evmID)
            let xml = try await domain.xml([.migratable, .inactive])
            await progress(MigrationProgress(dataTotalBytes: 1 << 20, dataProcessedBytes: 1 << 19, dataRemainingBytes: 1 << 19))
            let arrived = try await destination.defineDomain(xml: xml)
            try await arrived.start()
            try await domain.destroy()
            try await domain.undefine()
            return MigrationProgress(dataTotalBytes: 1 << 20, dataProcessedBytes: 1 << 20, dataRemainingBytes: 0, downtimeMilliseconds: 12)
        }
    }

    func abort(_ evmID: String) async throws { aborts.continuation.yield() }
    func jobActive(_ evmID: String) async throws -> Bool { false }
    func runsDomain(_ evmID: String) async throws -> Bool { try await source.domainIfExists(named: evmID)?.isActive() ?? false }
}

/// A control plane serving HTTP on loopback and two in-process agents on test-driver hosts `a` and `b`.
final class MigrationCluster: @unchecked Sendable {
    // @unchecked: set up once by the test that owns it.
    let dir: TemporaryDirectory
    let built: ControlPlane.Built
    var port = 0
    /// The agents' tasks.
    var tasks: [Task<Void, any Error>] = []
    var server: ServingTask?
    var connections: [String: Connection] = [:]
    var transports: [String: ScriptedTransport] = [:]
    let configuration: ControlPlaneConfiguration

    init() throws {
        dir = try TemporaryDirectory()
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: [APIFixture.token])
        configuration.port = 0
        configuration.rebalancer.enabled = false  // the test drives the loop with tick()
        self.configuration = configuration
        let (ready, signal) = AsyncStream<Int>.makeStream()
        built = try ControlPlane.build(configuration: configuration, logger: Logger(label: "test"), onServerRunning: { signal.yield($0) })
        server = ServingTask(built.service)
        portStream = ready
    }

    private var portStream: AsyncStream<Int>?

    /// `interruptionBase`: each agent polls `<base>/<host>` for its interruption notice.
    func start(interruptionBase: String? = nil) async throws {
        for await bound in portStream! {
            port = bound
            break
        }
        try await built.store.write { tx in
            try tx.save(
                Pool(
                    id: "pool-a", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), policy: PoolPolicy(memoryOvercommit: 1.5),
                    createdAt: Date()))
        }
        for name in ["a", "b"] {
            // Join tokens are single-use: one per host.
            let token = try JSONDecoder().decode(TokenWire.self, from: try await call("POST", "/v1/pools/pool-a/tokens", "{}").body).token
            let uri = try TestDriverHost.write(to: dir.file("\(name).xml"), cores: 64, memoryGiB: 256)
            let connection = try await Connection(uri: uri)
            var agentConfiguration = AgentConfiguration(
                controlPlaneURL: "http://127.0.0.1:\(port)", joinToken: token, hostID: name, libvirtURI: uri,
                stateDirectory: dir.file("agent-\(name)"), domainType: .test, reportInterval: .milliseconds(200), pollWait: 2)
            agentConfiguration.interruptionURL = interruptionBase.map { "\($0)/\(name)" }
            agentConfiguration.interruptionPollInterval = .milliseconds(200)
            let transport = ScriptedTransport(source: connection, stateDirectory: agentConfiguration.stateDirectory)
            let agent = HostAgent(
                configuration: agentConfiguration,
                client: ControlPlaneClient(http: HTTPClient.shared, baseURL: agentConfiguration.controlPlaneURL),
                connection: connection, transport: transport, logger: Logger(label: "agent-\(name)"))
            tasks.append(Task { try await agent.run() })
            connections[name] = connection
            transports[name] = transport
            _ = try await eventually { try await self.built.store.read { try $0.host(name) } != nil }
        }
        let peers = connections
        for (name, transport) in transports { transport.hosts.withLock { $0 = peers.filter { $0.key != name } } }
    }

    /// Wakes `host`'s agent (its desired-state long poll answers) and returns once it has reconciled and polls
    /// again: both agents are waiting.
    func reconcile(_ host: String) async throws {
        #expect(try await eventually { self.built.store.waiterCount == 2 })
        try await built.store.write { tx in _ = try tx.bumpRevision(HostRevision.scope(host)) }
        #expect(try await eventually { self.built.store.waiterCount == 2 }, "the agent of \(host) did not poll again")
    }

    /// Stops the agents, then the control plane (gracefully: see ``ServingTask``), in the background.
    func stop() {
        let (agents, server) = (tasks, server)
        Task {
            for task in agents { task.cancel() }
            for task in agents { _ = await task.result }
            await server?.stop()
        }
    }

    func call(_ method: String, _ path: String, _ json: String? = nil) async throws -> (status: UInt, body: Data) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(APIFixture.token)")
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func evm(_ id: String) async throws -> EVM? { try await built.store.read { try $0.evm(id) } }
    func migration(_ id: String) async throws -> Migration? { try await built.store.read { try $0.migration(id) } }
    func domains(_ host: String) async throws -> [String] { try await connections[host]!.listDomains().map(\.domain.name) }
}

@Suite(.serialized) struct MigrationExecutorTests {
    @Test func refusedAbortedAndCompletedMigrations() async throws {
        let cluster = try MigrationCluster()
        defer { cluster.stop() }
        try await cluster.start()
        let created = try await cluster.call("POST", "/v1/pools/pool-a/evms", #"{"count": 1}"#)
        #expect(created.status == 202 || created.status == 201)
        let evmID = try #require(try await cluster.built.store.read { try $0.evms(.all).first?.id })
        #expect(try await eventually { try await cluster.evm(evmID)?.phase == .running })
        let home = try #require(try await cluster.evm(evmID)?.hostID)
        let other = home == "a" ? "b" : "a"

        // 1. The libvirt test driver refuses to migrate: the move fails with libvirt's message, the EVM stays.
        cluster.transports[home]!.mode.withLock { $0 = .libvirt }
        let first = try await cluster.call("POST", "/v1/evms/\(evmID)/migrate", #"{"to": "\#(other)"}"#)
        #expect(first.status == 202)
        let refused = try JSONDecoder().decode(MigrationIDWire.self, from: first.body).id
        #expect(try await eventually { try await cluster.migration(refused)?.state == .failed })
        let message = try await cluster.migration(refused)?.message ?? ""
        #expect(message.contains("virDomainMigrateToURI3"), "\(message)")
        #expect(try await cluster.evm(evmID)?.hostID == home)
        #expect(try await cluster.evm(evmID)?.phase == .running)
        #expect(try await cluster.domains(home) == [evmID])

        // 2. A slow migration, cancelled: aborted on the source, marked failed, the EVM stays.
        cluster.transports[home]!.mode.withLock { $0 = .hang }
        let second = try JSONDecoder().decode(
            MigrationIDWire.self, from: try await cluster.call("POST", "/v1/evms/\(evmID)/migrate", #"{"to": "\#(other)"}"#).body
        ).id
        #expect(try await eventually { try await cluster.migration(second)?.progress?.dataProcessedBytes ?? 0 > 0 })
        #expect(try await cluster.migration(second)?.state == .running)
        #expect(try await cluster.call("POST", "/v1/migrations/\(second)/cancel").status == 200)
        #expect(try await eventually { try await cluster.migration(second)?.state == .failed })
        #expect(try await cluster.migration(second)?.message?.contains("canceled by client") == true)
        #expect(try await cluster.evm(evmID)?.hostID == home)

        // 3. Maintenance: the rebalancer evacuates; the record and both allocations move only once it completed.
        cluster.transports[home]!.mode.withLock { $0 = .move }
        #expect(try await cluster.call("POST", "/v1/hosts/\(home)/maintenance", #"{"enabled": true}"#).status == 200)
        var settings = RebalancerService.Settings()
        settings.retryAfter = 0
        let rebalancer = RebalancerService(
            store: cluster.built.store, settings: settings, kube: nil, logger: Logger(label: "test"))
        let started = try await rebalancer.tick()
        #expect(started.map(\.evmID) == [evmID])
        #expect(started.first?.reason == .evacuate)
        let evacuation = try #require(started.first?.id)
        #expect(try await eventually { try await cluster.migration(evacuation)?.state == .completed })
        let moved = try #require(try await cluster.evm(evmID))
        #expect(moved.hostID == other)
        #expect(moved.previousHostID == home)
        #expect(moved.phase == .running)
        #expect(try await cluster.migration(evacuation)?.progress?.downtimeMilliseconds == 12)
        let (source, target) = try await cluster.built.store.read { (try $0.host(home)!, try $0.host(other)!) }
        #expect(source.allocated == .zero)
        #expect(target.allocated == moved.shape.resources)
        // Exactly one copy: on the destination; the source agent, made to reconcile again, does not bring it back.
        try await cluster.reconcile(home)
        #expect(try await cluster.domains(other) == [evmID])
        #expect(try await cluster.domains(home).isEmpty)
        // The plan is now empty: nothing else to move, and the dry run created nothing.
        let plan = try await cluster.call("GET", "/v1/plan")
        #expect(String(decoding: plan.body, as: UTF8.self).contains(#""moves":[]"#))
        let all = try await cluster.built.store.read { try $0.migrations(.all) }
        #expect(all.count == 3)
    }
}

struct MigrationIDWire: Decodable { let id: String }
