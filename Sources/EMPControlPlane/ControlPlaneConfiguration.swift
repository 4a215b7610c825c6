public import EMPStore
public import Foundation
public import ServerGuard

/// Everything the control plane reads at start; each default is stated where it is declared.
public struct ControlPlaneConfiguration: Sendable {
    /// Address the HTTP API listens on. Default `127.0.0.1`.
    public var host: String
    /// Port of the HTTP API; 0 picks a free port. Default 7443.
    public var port: Int
    /// Directory holding `emp.sqlite` and the generated operator token. Default `/var/lib/emp`.
    public var dataDirectory: String
    /// Operator bearer tokens. Default empty: a token is generated at first start and kept in the data directory.
    public var operatorTokens: [String]
    /// PEM certificate chain and key for HTTPS; both nil (default) serves plain HTTP.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Largest request body accepted. Default 1 MiB.
    public var maxBodyBytes: Int
    /// Share of a new EVM's size counted against its host's usage watermark until the agent reports real
    /// use. Default 0.25.
    public var expectedUseFraction: Double
    /// A host whose agent has not reported for this long becomes NotReady. Default 40 s.
    public var heartbeatTimeout: Duration
    /// How often host health is checked. Default 5 s.
    public var healthCheckInterval: Duration
    /// A NotReady host silent this much longer is lost: its EVMs are written off and replaced elsewhere, and it
    /// stays cordoned after it returns until an operator uncordons it. Default 5 min.
    public var hostLostAfter: Duration = .seconds(300)
    /// How often heartbeats and usage, kept in memory between reports, are written to the store. Default 30 s.
    /// A crash loses at most this much of them; the next report of each host brings them back.
    public var softStateFlushInterval: Duration = .seconds(30)
    /// Write every report in its own transaction instead (heartbeats and usage never only in memory): for
    /// operators who would rather spend the write than lose up to one flush interval of them on a crash. Costs a
    /// write transaction per report (see docs/benchmarks.md, fleet). Default false.
    public var persistEveryReport = false
    /// Hosts or EVMs written per flush transaction, so a flush never holds the writer for long. Default 500.
    public var softStateFlushBatch = 500
    /// Per pool id, where its hosts come from; pools not listed keep a static fleet (`HostsRequested` events).
    public var hostProviders: [String: HostProviderConfiguration] = [:]
    /// The shared PostgreSQL store (`store: {type: postgres, …}`); nil keeps the embedded SQLite file in
    /// ``dataDirectory``.
    public var postgres: PostgresStore.Configuration?
    /// With PostgreSQL: this replica's id in the leader election (default: the host name).
    public var replicaID: String?
    /// With PostgreSQL: the URL clients reach this replica at, handed to them by followers when it leads.
    public var advertiseURL: String?
    /// How long a leader's lease lasts without renewal (the longest takeover after its death). Default 10 s.
    public var leaseDuration: Duration = .seconds(10)
    /// How often the lease is renewed or, on a follower, tried. Default 2 s.
    public var leaseRenewInterval: Duration = .seconds(2)
    /// How often host providers' launches and machines are looked at. Default 15 s.
    public var hostProviderInterval: Duration = .seconds(15)
    /// kubeconfig of the cluster the pools serve, or ``inCluster`` for the pod's service account; nil turns the
    /// autoscaler off.
    public var kubeconfigPath: String?
    /// The `kubeconfig` value that means the pod's own service account (running inside the cluster).
    public static let inCluster = "in-cluster"
    /// Autoscaler timings and reserved resources.
    public var autoscaler = Autoscaler.Settings()
    /// Rebalancer loop and planner settings.
    public var rebalancer = RebalancerService.Settings()
    /// Prices, per-pool and per-host costs, and how often pools are sampled for the savings estimate.
    public var cost = CostSampler.Settings()
    /// Read-only tokens: the console and the GET API, nothing that changes state. Default none.
    public var viewerTokens: [String] = []
    /// How long a console session lasts after login. Default 12 h.
    public var sessionLifetime: TimeInterval = 12 * 3600
    /// Idle/handshake/header timeout and connection limit of the HTTP server.
    public var limits = ServerLimits()

    public init(
        host: String = "127.0.0.1",
        port: Int = 7443,
        dataDirectory: String = "/var/lib/emp",
        operatorTokens: [String] = [],
        tlsCertificatePath: String? = nil,
        tlsKeyPath: String? = nil,
        maxBodyBytes: Int = 1 << 20,
        expectedUseFraction: Double = 0.25,
        heartbeatTimeout: Duration = .seconds(40),
        healthCheckInterval: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.operatorTokens = operatorTokens
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsKeyPath = tlsKeyPath
        self.maxBodyBytes = maxBodyBytes
        self.expectedUseFraction = expectedUseFraction
        self.heartbeatTimeout = heartbeatTimeout
        self.healthCheckInterval = healthCheckInterval
    }
}
