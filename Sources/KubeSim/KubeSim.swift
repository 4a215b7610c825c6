public import EMPCertificates
import Foundation
import Hummingbird
import HummingbirdTLS
public import Kube
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import ServerGuard
import ServiceLifecycle

/// A Kubernetes API double over HTTPS on loopback, for tests and the demo: real TLS (its own CA), token and
/// client-certificate auth, the REST and watch semantics of the kinds this project uses, and a small cluster
/// (scheduler, Deployments, kubelet, webhooks) behind them. Its state survives ``stop()``/``start()`` like an API
/// server's survives a restart.
public final class KubeSim: Sendable {
    /// Tuning for tests and the demo.
    public struct Options: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port.
        public var port = 0
        /// Bearer tokens and whom they authenticate; an admin token is added when empty.
        public var tokens: [String: SimUser] = [:]
        /// How often a watch with allowWatchBookmarks gets a BOOKMARK (the API server's is about a minute).
        public var bookmarkInterval: Duration = .seconds(1)
        /// When set, Nodes without a Ready condition become Ready this long after they are created.
        public var nodeReadyAfter: Duration?
        /// `namespace/service` → `host:port` for webhooks configured with a service reference.
        public var serviceEndpoints: [String: String] = [:]
        /// Seconds a deleted namespace stays Terminating before its contents and itself are removed.
        public var namespaceFinalizeDelay: Double = 1
        /// Changes a watch can resume across; older resourceVersions get 410.
        public var historySize = 100_000
        public init() {}
    }

    /// How a written kubeconfig authenticates.
    public enum Auth: Sendable {
        case token(String)
        case clientCertificate(user: String, groups: [String])
    }

    public let options: Options
    public let authority: CertificateAuthority
    public let adminToken: String
    let store: SimStore
    let serving: CertificateAuthority.Issued
    let logger: Logger
    private let running = NIOLockedValueBox<
        (task: Task<Void, Never>, group: ServiceGroup, controllers: SimControllers, admission: SimAdmission)?
    >(nil)
    private let boundPort = NIOLockedValueBox<Int>(0)

    public init(options: Options = Options(), logger: Logger = Logger(label: "emp.kubesim")) throws {
        var options = options
        let admin = "admin-" + UUID().uuidString.lowercased()
        if options.tokens.isEmpty { options.tokens[admin] = SimUser(name: "kubesim-admin") }
        self.adminToken = options.tokens.first { !$0.value.readOnly }?.key ?? admin
        self.options = options
        self.logger = logger
        self.authority = try CertificateAuthority(commonName: "kubesim-ca")
        self.serving = try authority.issueServer(commonName: "kubesim", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"])
        self.store = SimStore(logCapacity: options.historySize)
        for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            var namespace = Namespace(name: name).object
            try SimObjects.prepareForCreate(.namespaces, &namespace)
            store.write(SimResource.namespaces.key, namespace: nil, name: name) { _ in .put(namespace) }
        }
    }

    /// `https://127.0.0.1:<port>` once started.
    public var url: String { "https://\(options.host):\(boundPort.withLockedValue { $0 })" }
    public var port: Int { boundPort.withLockedValue { $0 } }

    /// Starts serving (on the same port as before after a ``stop()``); returns the port.
    @discardableResult
    public func start() async throws -> Int {
        let controllers = SimControllers(store: store, options: options, logger: logger)
        let admission = SimAdmission(store: store, options: options, logger: logger)
        let api = SimAPI(store: store, options: options, controllers: controllers, admission: admission, logger: logger)
        controllers.api.withLockedValue { $0 = api }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serving.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem)))
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(authority.certificatePEM.utf8)))
        tls.certificateVerification = .optionalVerification
        let previous = boundPort.withLockedValue { $0 }
        let (ready, readySignal) = AsyncStream<Int>.makeStream()
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .notice)
        let application = Application(
            responder: api,
            server: try ServerLimits().serverBuilder(tls: tls),
            configuration: .init(
                address: .hostname(options.host, port: previous != 0 ? previous : options.port), serverName: "kubesim",
                backlog: ServerLimits().backlog, availableConnectionsDelegate: ServerLimits().connectionsDelegate),
            onServerRunning: { channel in
                readySignal.yield(channel.localAddress?.port ?? 0)
                readySignal.finish()
            },
            logger: quiet)
        let services = ServiceGroup(
            configuration: .init(services: [application], gracefulShutdownSignals: [], logger: quiet))
        let task = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await controllers.run() }
                group.addTask {
                    do { try await services.run() } catch { readySignal.finish() }
                    readySignal.finish()
                    controllers.stop()
                }
            }
        }
        running.withLockedValue { $0 = (task, services, controllers, admission) }
        var port = 0
        for await value in ready { port = value }
        guard port != 0 else {
            _ = await task.result
            throw SimStartError("KubeSim could not listen on \(options.host):\(previous != 0 ? previous : options.port)")
        }
        boundPort.withLockedValue { $0 = port }
        api.port.withLockedValue { $0 = port }
        controllers.kick()
        return port
    }

    /// Stops serving; open watches end, connections close. State is kept for the next ``start()``.
    public func stop() async {
        guard
            let current = running.withLockedValue({ state in
                defer { state = nil }
                return state
            })
        else { return }
        store.closeWatches()
        await current.group.triggerGracefulShutdown()
        _ = await current.task.result
        current.controllers.api.withLockedValue { $0 = nil }
        await current.admission.shutdown()
    }

    // MARK: client configuration

    /// A configuration for an in-process ``KubeClient``.
    public func kubeConfig(auth: Auth? = nil) throws -> KubeConfig {
        var config = KubeConfig(server: url, certificateAuthorityPEM: Data(authority.certificatePEM.utf8))
        switch auth ?? .token(adminToken) {
        case .token(let token):
            config.credentials = .token(token)
        case .clientCertificate(let user, let groups):
            let issued = try authority.issueClient(user: user, groups: groups)
            config.clientCertificatePEM = Data(issued.certificatePEM.utf8)
            config.clientKeyPEM = Data(issued.privateKeyPEM.utf8)
        }
        return config
    }

    /// Writes a kubeconfig (mode 0600) that kubectl and ``KubeConfig/load(paths:context:)`` accept.
    public func writeKubeconfig(to path: String, auth: Auth? = nil) throws {
        let config = try kubeConfig(auth: auth)
        func b64(_ data: Data?) -> String { data?.base64EncodedString() ?? "" }
        var user = ""
        if case .token(let token) = config.credentials {
            user = "    token: \(token)\n"
        } else {
            user = "    client-certificate-data: \(b64(config.clientCertificatePEM))\n    client-key-data: \(b64(config.clientKeyPEM))\n"
        }
        let text = """
            apiVersion: v1
            kind: Config
            clusters:
            - name: kubesim
              cluster:
                server: \(config.server)
                certificate-authority-data: \(b64(config.certificateAuthorityPEM))
            users:
            - name: kubesim-admin
              user:
            \(user)contexts:
            - name: kubesim
              context:
                cluster: kubesim
                user: kubesim-admin
                namespace: default
            current-context: kubesim

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        chmod(path, 0o600)
    }

    // MARK: controls for tests and the demo

    /// The current resourceVersion.
    public var revision: Int64 { store.revision }

    /// Drops the change history: watches resuming from an older resourceVersion get 410 Gone.
    public func compactHistory() { store.compact() }

    /// The next `count` API requests fail with `status` (and Retry-After when given).
    public func injectFailures(status: Int, count: Int, retryAfter: Int? = nil) {
        running.withLockedValue { $0 }?.controllers.api.withLockedValue { $0 }?.faults.withLockedValue {
            $0 += Array(repeating: (status, retryAfter), count: count)
        }
    }

    /// What a kubelet does when its node comes up: the Ready condition (plus default capacity if none was set).
    public func setNodeReady(_ name: String) throws {
        try store.write(SimResource.nodes.key, namespace: nil, name: name) { current throws(SimError) in
            guard var current else { throw SimError.notFound(.nodes, name) }
            SimKubelet.makeReady(&current)
            return .put(current)
        }
        running.withLockedValue { $0 }?.controllers.kick()
    }
}

/// KubeSim could not start.
public struct SimStartError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
