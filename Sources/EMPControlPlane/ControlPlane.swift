public import EMPModel
public import EMPStore
public import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Kube
public import Logging
import NIOSSL
public import Prometheus
import ServerGuard
import ServiceLifecycle
import UnixSignals

/// The composition root of `emp-control-plane`: opens the store, builds the HTTP API and returns a
/// runnable application. Loops (autoscaler, rebalancer, host health) join here as they are built.
public enum ControlPlane {
    /// What ``build(configuration:logger:registry:now:)`` returns: the app, its store and the token to use.
    public struct Built: Sendable {
        public let application: Application<RouterResponder<BasicRequestContext>>
        public let store: any StateStore
        public let operatorToken: String
        /// True when the token was generated now and should be shown to the operator once.
        public let tokenGenerated: Bool
        /// The Kubernetes client the loops share (nil without a kubeconfig); ``service`` shuts it down on exit.
        public let kube: KubeClient?
        /// Console sessions and what the autoscaler shows it.
        public let console: ConsoleState
        /// This replica's role among replicas on a shared PostgreSQL (nil on SQLite: one replica, always leading).
        public var leadership: Leadership? = nil

        /// The application as a service that also answers waiting long polls at once on graceful shutdown.
        public var service: ControlPlaneService {
            ControlPlaneService(application: application, store: store, kube: kube, console: console)
        }

        /// Runs ``service`` until SIGTERM or SIGINT, then shuts down gracefully.
        public func runService(logger: Logger) async throws {
            let group = ServiceGroup(
                configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    /// Builds the control plane from `configuration`.
    /// - Parameters:
    ///   - registry: Prometheus registry exposed at `/metrics`.
    ///   - clock: What every loop, timeout and stored date reads; tests pass a manual clock.
    ///   - onServerRunning: Called with the bound port once the API listens (useful with port 0).
    public static func build(
        configuration: ControlPlaneConfiguration,
        logger: Logger,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        clock: any EMPClock = SystemClock(),
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws -> Built {
        DescriptorLimit.raiseToHardLimit()
        let store: any StateStore
        var leadership: Leadership?
        var election: LeaderElection?
        if var postgres = configuration.postgres {
            postgres.clock = clock
            let shared = try PostgresStore(configuration: postgres, logger: Logger(label: "emp-control-plane.store"))
            let replica = Leadership(
                replicaID: configuration.replicaID ?? ProcessInfo.processInfo.hostName, address: configuration.advertiseURL ?? "")
            election = LeaderElection(
                store: shared, leadership: replica, ttl: configuration.leaseDuration, renewEvery: configuration.leaseRenewInterval,
                clock: clock, logger: Logger(label: "emp-control-plane.election"))
            store = shared
            leadership = replica
        } else {
            store = try SQLiteStore(directory: configuration.dataDirectory, configuration: .init(clock: clock))
        }
        let now: @Sendable () -> Date = { clock.date }
        var tokens = configuration.operatorTokens
        var generated = false
        if tokens.isEmpty {
            let stored = try OperatorToken.loadOrCreate(in: configuration.dataDirectory)
            tokens = [stored.token]
            generated = stored.created
        }
        let console = ConsoleState(sessionLifetime: configuration.sessionLifetime, clock: clock)
        var client: KubeClient?
        if let path = configuration.kubeconfigPath {
            do {
                // `in-cluster`: the pod's service account (deploy/control-plane).
                let config = path == ControlPlaneConfiguration.inCluster ? try KubeConfig.inCluster() : try KubeConfig.load(paths: [path])
                client = try KubeClient(config: config, logger: Logger(label: "emp-control-plane.kube"))
            } catch {
                throw ConfigurationError("kubeconfig \(path): \(error)")
            }
        }
        let router = makeRouter(
            store: store, tokens: tokens, registry: registry, configuration: configuration, now: now, console: console,
            leadership: leadership, kube: client, logger: logger)
        let fleet = try HostFleet.build(configuration, store: store, clock: clock)
        let application = Application(
            router: router,
            server: try serverBuilder(configuration),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "emp-control-plane",
                backlog: configuration.limits.backlog,
                availableConnectionsDelegate: configuration.limits.connectionsDelegate
            ),
            services: (election.map { [$0] } ?? [])
                + loops(configuration, store: store, kube: client, console: console, fleet: fleet, clock: clock, logger: logger).map {
                    loop -> any Service in leadership.map { LeaderOnly(loop, leadership: $0) } ?? loop
                },
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
        return Built(
            application: application, store: store, operatorToken: tokens[0], tokenGenerated: generated, kube: client, console: console,
            leadership: leadership)
    }

    /// Host health, the rebalancer (unless turned off) and, when a kubeconfig is configured, the autoscaler.
    static func loops(
        _ configuration: ControlPlaneConfiguration, store: any StateStore, kube client: KubeClient?, console: ConsoleState,
        fleet: HostFleet?, clock: any EMPClock, logger: Logger
    ) -> [any Service] {
        var services: [any Service] = [
            HostHealth(store: store, configuration: configuration, clock: clock, logger: logger),
            CostSampler(store: store, settings: configuration.cost, clock: clock, logger: Logger(label: "emp-control-plane.cost")),
            SoftStateFlusher(
                store: store, interval: configuration.softStateFlushInterval, batch: configuration.softStateFlushBatch, clock: clock,
                logger: logger),
        ]
        if configuration.rebalancer.enabled {
            services.append(
                RebalancerService(
                    store: store, settings: configuration.rebalancer, kube: client, plans: console.plans, provider: fleet, clock: clock,
                    logger: Logger(label: "emp-control-plane.rebalancer")))
        }
        var provider: any HostProvider = StaticHostProvider()
        if let fleet {
            services.append(fleet)
            provider = fleet
        }
        if let client {
            let placement = EVMPlacement(store: store, expectedUseFraction: configuration.expectedUseFraction)
            services.append(
                Autoscaler(
                    client: client, store: store, placement: placement, settings: configuration.autoscaler, provider: provider,
                    pending: console.pending, clock: clock, logger: Logger(label: "emp-control-plane.autoscaler")))
            var projection = KubeProjection.Settings()
            projection.cost = configuration.cost.model
            services.append(
                KubeProjection(
                    client: client, store: store, settings: projection, clock: clock, logger: Logger(label: "emp-control-plane.kube-status")
                ))
        }
        return services
    }

    /// HTTP/1.1 under the configured limits, wrapped in TLS when a certificate and key are configured.
    static func serverBuilder(_ configuration: ControlPlaneConfiguration) throws -> HTTPServerBuilder {
        switch (configuration.tlsCertificatePath, configuration.tlsKeyPath) {
        case (nil, nil):
            return try configuration.limits.serverBuilder()
        case (let certificate?, let key?):
            do {
                let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
                let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
                let tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
                return try configuration.limits.serverBuilder(tls: tls)
            } catch {
                throw ConfigurationError("cannot load TLS certificate \(certificate) / key \(key): \(error)")
            }
        default:
            throw ConfigurationError("tls.certificate and tls.key must be given together")
        }
    }

    /// The HTTP API: health and metrics are open; everything under `/v1` needs an operator token.
    public static func makeRouter(
        store: any StateStore,
        tokens: [String],
        registry: PrometheusCollectorRegistry,
        configuration: ControlPlaneConfiguration,
        now: @escaping @Sendable () -> Date,
        console: ConsoleState = ConsoleState(),
        leadership: Leadership? = nil,
        kube: KubeClient? = nil,
        logger: Logger = Logger(label: "emp-control-plane")
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let table = RouteTable()
        router.add(
            middleware: ErrorBodyMiddleware(
                routes: table, logger: logger,
                classify: { error in
                    if let error = error as? NotLeader { return (.serviceUnavailable, "not_leader", error.description) }
                    guard let error = error as? StoreUnavailable else { return nil }
                    return (.serviceUnavailable, "store_unavailable", error.description)
                },
                render: { status, code, message in APIError(status, code: code, message).rendered }))
        router.add(middleware: RequestMetrics())
        if let leadership { router.add(middleware: FollowerRefusal(leadership: leadership)) }
        let root = RecordingRoutes(router.group(), prefix: "", table: table)
        root.get("healthz") { _, _ in "ok\n" }
        root.get("readyz") { _, _ -> Response in
            _ = try await store.read { try $0.revision("readiness-probe") }
            if let failure = await store.writeFailure() {
                return APIError(.serviceUnavailable, code: "store_unavailable", "the store cannot write: \(failure)").rendered
            }
            guard let leadership else { return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\n"))) }
            // A follower is ready: it answers reads and long polls, and sends writers to the leader.
            let role = leadership.isLeader ? "leader" : "follower of \(leadership.leaderAddress ?? "no leader yet")"
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "ok\nrole: \(role)\n")))
        }
        // For a load balancer that sends everything to the leader: 200 there, 503 on followers.
        root.get("leaderz") { _, _ -> Response in
            guard let leadership, !leadership.isLeader else {
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "leader\n")))
            }
            return FollowerRefusal<BasicRequestContext>.refusal(NotLeader(leader: leadership.leaderAddress))
        }
        root.get("metrics") { _, _ in MetricCatalog.annotate(registry.emitToString()) }
        let v1 = root.recordingGroup("v1").add(middleware: OperatorAuth(tokens: tokens, viewerTokens: configuration.viewerTokens))
        PoolRoutes<BasicRequestContext>(store: store, now: now, maxBodyBytes: configuration.maxBodyBytes, kube: kube, logger: logger)
            .register(on: v1)
        HostRoutes<BasicRequestContext>(store: store, now: now, configuration: configuration).register(on: v1)
        EVMRoutes<BasicRequestContext>(store: store, now: now, configuration: configuration).register(on: v1)
        JoinTokenRoutes<BasicRequestContext>(store: store, now: now, configuration: configuration).register(on: v1)
        SnapshotRoutes<BasicRequestContext>(store: store, now: now, settings: configuration.rebalancer.planner).register(on: v1)
        MigrationRoutes<BasicRequestContext>(store: store, now: now, configuration: configuration).register(on: v1)
        CostRoutes<BasicRequestContext>(store: store, model: configuration.cost.model, now: now).register(on: v1)
        ConsoleRoutes<BasicRequestContext>(
            store: store, sessions: console.sessions, pending: console.pending, plans: console.plans, operatorTokens: tokens,
            viewerTokens: configuration.viewerTokens, model: configuration.cost.model, planner: configuration.rebalancer.planner,
            secure: configuration.tlsCertificatePath != nil, now: now
        ).register(on: root)
        // The agent API is outside the operator group: joins carry a join token, the rest a host credential.
        let agent = root.recordingGroup("v1/agent")
        let agentHost = agent.recordingGroup("hosts/{id}").add(middleware: AgentAuth(store: store))
        AgentRoutes<BasicRequestContext>(store: store, now: now, configuration: configuration).register(join: agent, host: agentHost)
        v1.get("events") { request, _ in
            let query = request.uri.queryParameters
            var object: ObjectRef?
            if let kind = query.get("kind") {
                guard let parsed = ObjectKind(rawValue: kind) else {
                    throw APIError.invalid(
                        "unknown kind \"\(kind)\"; one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", "))", field: "kind")
                }
                guard let id = query.get("id") else { throw APIError.invalid("is required with kind", field: "id") }
                object = ObjectRef(parsed, id)
            }
            let filter = EventFilter(object: object, after: query.get("after", as: Int64.self))
            let page = try Page(request)
            // Keys sort as numbers: event ids zero-padded.
            return page.response(
                try await store.read { try $0.events(filter) }, key: { String(format: "%020lld", $0.id) }, request: request)
        }
        return router
    }
}
