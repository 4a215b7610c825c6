public import EMPModel
public import EMPScheduling
import EMPStore
import Foundation
import ServerGuard
import Yams

/// `emp-control-plane --config FILE`: the YAML form of ``ControlPlaneConfiguration`` (see
/// control-plane/config.example.yaml). Unknown keys are refused so typos do not silently fall back to defaults.
public struct ConfigurationFile: Decodable, Sendable {
    public var listen: String?
    public var dataDir: String?
    public var operatorTokens: [String]?
    public var tls: TLS?
    public var heartbeatTimeoutSeconds: Double?
    /// A NotReady host silent this much longer is lost (10–86400 s). Default 300.
    public var hostLostAfterSeconds: Double?
    /// How often heartbeats and usage kept in memory are written (1–3600 s). Default 30.
    public var softStateFlushSeconds: Double?
    /// Write every report durably instead of flushing heartbeats and usage in batches. Default false.
    public var persistEveryReport: Bool?
    public var expectedUseFraction: Double?
    public var kubeconfig: String?
    public var autoscaler: AutoscalerSection?
    public var rebalancer: RebalancerSection?
    public var server: ServerSection?
    public var cost: CostSection?
    /// Read-only tokens (console and GET API).
    public var viewerTokens: [String]?
    /// Console session lifetime (60–604800 s). Default 43200.
    public var sessionLifetimeSeconds: Double?
    /// Per pool id: where its hosts come from (EC2, the operator's commands); pools not listed keep a static fleet.
    public var hostProviders: [String: HostProviderSection]?
    /// How often host providers' launches and machines are looked at (5–3600 s). Default 15.
    public var hostProviderIntervalSeconds: Double?
    /// Where the state lives: the embedded SQLite file (default) or a shared PostgreSQL.
    public var store: StoreSection?
    /// Replicas on a shared PostgreSQL: this one's id and address, the lease's length.
    public var ha: HASection?

    /// `ha:` section (PostgreSQL only).
    public struct HASection: Decodable, Sendable {
        /// Unique among the replicas. Default: the host name.
        public var replicaID: String?
        /// `https://cp-1.example:8443`: where followers send writers while this replica leads.
        public var advertiseURL: String?
        /// The lease's length (3–60 s), renewed every fifth of it. Default 10.
        public var leaseSeconds: Double?
    }

    /// `store:` section. The password comes from `passwordFile` (mode 0600) or `EMP_STORE_PASSWORD`, never the YAML.
    public struct StoreSection: Decodable, Sendable {
        /// `sqlite` (default) or `postgres`.
        public var type: String?
        /// `postgres://user@host[:port]/database[?sslmode=verify-full&sslrootcert=CA.pem]`.
        public var url: String?
        public var passwordFile: String?
        /// Pooled connections (1–200). Default 10.
        public var maxConnections: Int?

        /// The PostgreSQL settings, or nil for SQLite; names the key at fault.
        func postgres(environment: [String: String]) throws -> PostgresStore.Configuration? {
            switch type ?? "sqlite" {
            case "sqlite":
                guard url == nil, passwordFile == nil else { throw ConfigurationError("store: url and passwordFile are for type postgres") }
                return nil
            case "postgres":
                guard let url else { throw ConfigurationError("store.url: required for type postgres") }
                let password: String?
                do {
                    password = try PostgresStore.Configuration.password(file: passwordFile, environment: environment)
                } catch {
                    throw ConfigurationError("store.passwordFile: \(error)")
                }
                var configuration: PostgresStore.Configuration
                do {
                    configuration = try PostgresStore.Configuration.parse(url: url, password: password)
                } catch {
                    throw ConfigurationError("\(error)")
                }
                if let maxConnections {
                    guard (1...200).contains(maxConnections) else {
                        throw ConfigurationError("store.maxConnections must be between 1 and 200 (got \(maxConnections))")
                    }
                    configuration.maxConnections = maxConnections
                }
                return configuration
            case let other:
                throw ConfigurationError("store.type: \"\(other)\" is not sqlite or postgres")
            }
        }
    }

    /// `cost:` section: list prices over the shipped ones, what each pool's and host's hardware costs.
    public struct CostSection: Decodable, Sendable {
        /// Added to the shipped table (m5 family); an entry of the same name replaces the shipped one.
        public var prices: [InstancePrice]?
        /// By pool id.
        public var pools: [String: PoolCostSettings]?
        /// A host's cost per hour, by host id.
        public var hosts: [String: Double]?
        /// How often pools are sampled (10–3600 s). Default 60.
        public var sampleSeconds: Double?
        /// How long samples are kept (1–3650 days). Default 30.
        public var retentionDays: Double?
    }

    /// `server:` section: what one client may hold (see docs/operations.md, "Security").
    public struct ServerSection: Decodable, Sendable {
        /// TLS handshake + header read + keep-alive idle, seconds (1–3600). Default 30.
        public var idleTimeoutSeconds: Double?
        /// Open connections at most (16–1,000,000). Default 4096.
        public var maxConnections: Int?
        /// Largest request body, bytes (1 KiB–64 MiB). Default 1 MiB.
        public var maxBodyBytes: Int?
    }

    /// `rebalancer:` section: the loop, and the planner's settings (every field optional, defaults as in
    /// docs/whatif.md).
    public struct RebalancerSection: Decodable, Sendable {
        public var enabled: Bool?
        public var intervalSeconds: Double?
        /// Passes woken early (maintenance, deadlines) are at least this far apart (0–3600 s). Default 2.
        public var minimumGapSeconds: Double?
        public var preparingTimeoutSeconds: Double?
        public var retryAfterSeconds: Double?
        public var planner: RebalanceSettings?
    }

    /// `autoscaler:` section.
    public struct AutoscalerSection: Decodable, Sendable {
        public var idleWindowSeconds: Double?
        public var maxWindowSeconds: Double?
        public var emptyAfterSeconds: Double?
        /// Replace an EVM whose Node is not Ready this long after creation (10–86400 s). Default 600.
        public var bootTimeoutSeconds: Double?
        /// Kubernetes quantities, e.g. `{cpu: 100m, memory: 1Gi}`.
        public var reserved: EMPModel.Resources?
    }

    /// `tls:` section.
    public struct TLS: Decodable, Sendable {
        public var certificate: String
        public var key: String
    }

    static let keys: Set<String> = [
        "listen", "dataDir", "operatorTokens", "tls", "heartbeatTimeoutSeconds", "hostLostAfterSeconds", "softStateFlushSeconds",
        "persistEveryReport",
        "expectedUseFraction", "kubeconfig", "autoscaler",
        "rebalancer", "server", "cost", "viewerTokens", "sessionLifetimeSeconds",
        "hostProviders", "hostProviderIntervalSeconds", "store", "ha",
    ]

    /// Reads and checks `path`; errors name the file and the key at fault.
    public static func load(_ path: String) throws -> ConfigurationFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigurationError("cannot read configuration file \(path)")
        }
        do {
            if let mapping = try Yams.load(yaml: text) as? [String: Any] {
                if let unknown = Set(mapping.keys).subtracting(keys).sorted().first {
                    throw ConfigurationError("\(path): unknown key \"\(unknown)\"")
                }
                for (pool, section) in (mapping["hostProviders"] as? [String: Any] ?? [:]) {
                    guard let section = section as? [String: Any] else { continue }
                    do {
                        try HostProviderSection.checkKeys(section, pool: pool)
                    } catch let error as ConfigurationError {
                        throw ConfigurationError("\(path): \(error)")
                    }
                }
            }
            return try YAMLDecoder().decode(ConfigurationFile.self, from: text)
        } catch let error as ConfigurationError {
            throw error
        } catch let error as DecodingError {
            throw ConfigurationError("\(path): \(error.fieldDescription)")

        } catch {
            throw ConfigurationError("\(path): not valid YAML: \(error)")
        }
    }

    /// Applies the file's values over `base`.
    public func apply(to base: ControlPlaneConfiguration) throws -> ControlPlaneConfiguration {
        var configuration = base
        if let listen {
            (configuration.host, configuration.port) = try ControlPlaneConfiguration.parseListen(listen, key: "listen")
        }
        if let dataDir { configuration.dataDirectory = dataDir }
        if let kubeconfig { configuration.kubeconfigPath = kubeconfig }
        /// `key` (seconds, at most an hour) as a Duration; nil when the file does not set it.
        func duration(_ seconds: Double?, _ key: String, minimum: Int) throws -> Duration? {
            guard let seconds else { return nil }
            guard seconds >= Double(minimum), seconds <= 3600 else {
                throw ConfigurationError("\(key) must be between \(minimum) and 3600 seconds (got \(seconds))")
            }
            return .milliseconds(Int64(seconds * 1000))
        }
        if let autoscaler {
            var settings = configuration.autoscaler
            settings.idleWindow =
                try duration(autoscaler.idleWindowSeconds, "autoscaler.idleWindowSeconds", minimum: 0) ?? settings.idleWindow
            settings.maxWindow = try duration(autoscaler.maxWindowSeconds, "autoscaler.maxWindowSeconds", minimum: 0) ?? settings.maxWindow
            settings.emptyAfter =
                try duration(autoscaler.emptyAfterSeconds, "autoscaler.emptyAfterSeconds", minimum: 0) ?? settings.emptyAfter
            if let seconds = autoscaler.bootTimeoutSeconds {
                guard seconds >= 10, seconds <= 86_400 else {
                    throw ConfigurationError("autoscaler.bootTimeoutSeconds must be between 10 and 86400 (got \(seconds))")
                }
                settings.bootTimeout = .milliseconds(Int64(seconds * 1000))
            }
            if let reserved = autoscaler.reserved {
                guard reserved.isNonNegative else { throw ConfigurationError("autoscaler.reserved must not be negative") }
                settings.reserved = reserved
            }
            guard settings.idleWindow <= settings.maxWindow else {
                throw ConfigurationError("autoscaler.idleWindowSeconds must not exceed maxWindowSeconds")
            }
            configuration.autoscaler = settings
        }
        if let rebalancer {
            var settings = configuration.rebalancer
            settings.enabled = rebalancer.enabled ?? settings.enabled
            settings.interval = try duration(rebalancer.intervalSeconds, "rebalancer.intervalSeconds", minimum: 1) ?? settings.interval
            settings.minimumGap =
                try duration(rebalancer.minimumGapSeconds, "rebalancer.minimumGapSeconds", minimum: 0) ?? settings.minimumGap
            if let seconds = rebalancer.preparingTimeoutSeconds {
                guard seconds >= 1 else {
                    throw ConfigurationError("rebalancer.preparingTimeoutSeconds must be at least 1 (got \(seconds))")
                }
                settings.preparingTimeout = seconds
            }
            if let seconds = rebalancer.retryAfterSeconds {
                guard seconds >= 0 else { throw ConfigurationError("rebalancer.retryAfterSeconds must not be negative (got \(seconds))") }
                settings.retryAfter = seconds
            }
            if let planner = rebalancer.planner {
                do {
                    try planner.validate()
                } catch let error as ValidationError {
                    throw ConfigurationError("\(error.nested(under: "rebalancer.planner"))")
                }
                settings.planner = planner
            }
            configuration.rebalancer = settings
        }
        if let operatorTokens { configuration.operatorTokens = operatorTokens }
        if let tls {
            configuration.tlsCertificatePath = tls.certificate
            configuration.tlsKeyPath = tls.key
        }
        if let heartbeatTimeoutSeconds {
            guard heartbeatTimeoutSeconds >= 5, heartbeatTimeoutSeconds <= 3600 else {
                throw ConfigurationError("heartbeatTimeoutSeconds must be between 5 and 3600 (got \(heartbeatTimeoutSeconds))")
            }
            configuration.heartbeatTimeout = .milliseconds(Int64(clamping: heartbeatTimeoutSeconds * 1000))
        }
        if let hostLostAfterSeconds {
            guard hostLostAfterSeconds >= 10, hostLostAfterSeconds <= 86_400 else {
                throw ConfigurationError("hostLostAfterSeconds must be between 10 and 86400 (got \(hostLostAfterSeconds))")
            }
            configuration.hostLostAfter = .milliseconds(Int64(hostLostAfterSeconds * 1000))
        }
        configuration.softStateFlushInterval =
            try duration(softStateFlushSeconds, "softStateFlushSeconds", minimum: 1) ?? configuration.softStateFlushInterval
        if let persistEveryReport { configuration.persistEveryReport = persistEveryReport }
        if let server {
            if let idle = try duration(server.idleTimeoutSeconds, "server.idleTimeoutSeconds", minimum: 1) {
                configuration.limits.idleTimeout = idle
            }
            if let connections = server.maxConnections {
                guard (16...1_000_000).contains(connections) else {
                    throw ConfigurationError("server.maxConnections must be between 16 and 1000000 (got \(connections))")
                }
                configuration.limits.maxConnections = connections
            }
            if let bytes = server.maxBodyBytes {
                guard (1024...(64 << 20)).contains(bytes) else {
                    throw ConfigurationError("server.maxBodyBytes must be between 1024 and 67108864 (got \(bytes))")
                }
                configuration.maxBodyBytes = bytes
            }
        }
        if let cost { configuration.cost = try cost.settings(over: configuration.cost) }
        if let viewerTokens {
            guard viewerTokens.allSatisfy({ $0.count >= 16 }) else {
                throw ConfigurationError("viewerTokens: every token must be at least 16 characters")
            }
            configuration.viewerTokens = viewerTokens
        }
        if let sessionLifetimeSeconds {
            guard sessionLifetimeSeconds >= 60, sessionLifetimeSeconds <= 604_800 else {
                throw ConfigurationError("sessionLifetimeSeconds must be between 60 and 604800 (got \(sessionLifetimeSeconds))")
            }
            configuration.sessionLifetime = sessionLifetimeSeconds
        }
        for (pool, section) in (hostProviders ?? [:]).sorted(by: { $0.key < $1.key }) {
            do {
                try HostName.validate(pool)
            } catch {
                throw ConfigurationError("hostProviders.\(pool): not a pool id: \(error)")
            }
            configuration.hostProviders[pool] = try section.configuration(pool: pool)
        }
        if let seconds = hostProviderIntervalSeconds {
            guard (5...3600).contains(seconds) else {
                throw ConfigurationError("hostProviderIntervalSeconds must be between 5 and 3600 (got \(seconds))")
            }
            configuration.hostProviderInterval = .milliseconds(Int64(seconds * 1000))
        }
        if let store {
            configuration.postgres = try store.postgres(environment: ProcessInfo.processInfo.environment)
        }
        if let ha {
            guard configuration.postgres != nil else { throw ConfigurationError("ha: needs store.type postgres (replicas share it)") }
            if let id = ha.replicaID {
                guard !id.isEmpty, id.count <= 63, id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                    throw ConfigurationError("ha.replicaID: \"\(id)\" must be 1–63 letters, digits, dots or dashes")
                }
                configuration.replicaID = id
            }
            if let url = ha.advertiseURL {
                guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                    throw ConfigurationError("ha.advertiseURL: \"\(url)\" is not an http(s) URL")
                }
                configuration.advertiseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            }
            if let seconds = ha.leaseSeconds {
                guard (3...60).contains(seconds) else {
                    throw ConfigurationError("ha.leaseSeconds must be between 3 and 60 (got \(seconds))")
                }
                configuration.leaseDuration = .milliseconds(Int64(seconds * 1000))
                configuration.leaseRenewInterval = .milliseconds(Int64(seconds * 200))
            }
        }
        if let expectedUseFraction {
            guard (0...1).contains(expectedUseFraction) else { throw ConfigurationError("expectedUseFraction must be in [0, 1]") }
            configuration.expectedUseFraction = expectedUseFraction
        }
        return configuration
    }
}

extension ConfigurationFile.CostSection {
    /// `base` with this section's values; names the key at fault.
    func settings(over base: CostSampler.Settings) throws -> CostSampler.Settings {
        var settings = base
        var model = settings.model
        model.prices = model.prices.merging(prices ?? [])
        for (pool, costs) in (pools ?? [:]).sorted(by: { $0.key < $1.key }) {
            for (key, name) in [("hostInstanceType", costs.hostInstanceType), ("evmInstanceType", costs.evmInstanceType)] {
                guard let name, model.prices.price(name) == nil else { continue }
                throw ConfigurationError(
                    "cost.pools.\(pool).\(key): no price for instance type \"\(name)\"; add it under cost.prices")
            }
            if let hourly = costs.hostHourly, !(hourly >= 0 && hourly.isFinite) {
                throw ConfigurationError("cost.pools.\(pool).hostHourly must be a price of 0 or more (got \(hourly))")
            }
            model.pools[pool] = costs
        }
        for (host, hourly) in (hosts ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard hourly >= 0, hourly.isFinite else {
                throw ConfigurationError("cost.hosts.\(host) must be a price of 0 or more (got \(hourly))")
            }
            model.hosts[host] = hourly
        }
        settings.model = model
        if let sampleSeconds {
            guard sampleSeconds >= 10, sampleSeconds <= 3600 else {
                throw ConfigurationError("cost.sampleSeconds must be between 10 and 3600 (got \(sampleSeconds))")
            }
            settings.interval = .milliseconds(Int64(sampleSeconds * 1000))
        }
        if let retentionDays {
            guard retentionDays >= 1, retentionDays <= 3650 else {
                throw ConfigurationError("cost.retentionDays must be between 1 and 3650 (got \(retentionDays))")
            }
            settings.retention = retentionDays * 86_400
        }
        return settings
    }
}

/// A configuration mistake, with a message that names the key.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ControlPlaneConfiguration {
    /// Parses `HOST:PORT`.
    public static func parseListen(_ value: String, key: String = "--listen") throws -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
            (0...65535).contains(port), colon != value.startIndex
        else {
            throw ConfigurationError("\(key) must be HOST:PORT with a port in 0...65535 (got \"\(value)\")")
        }
        return (String(value[..<colon]), port)
    }
}
