import AsyncHTTPClient
public import EMPModel
import Foundation
import Kube
import Libvirt
public import Logging
public import ServiceLifecycle
import UnixSignals

/// What `emp-agent`'s command line gave; nil means not given. The top layer of ``AgentConfiguration/resolve(flags:environment:)``.
public struct AgentFlags: Sendable {
    public var config: String?
    public var controlPlane: String?
    public var joinToken: String?
    public var hostID: String?
    public var libvirtURI: String?
    public var stateDir: String?
    public var domainType: String?
    public var reportInterval: Double?
    public var pollWait: Int?
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    public var network: String?
    public var kubeconfig: String?
    public var isoTool: String?
    public var migrationURI: String?
    public var migrationAddress: String?
    public var interruptionURL: String?
    public var imageDir: String?

    public init() {}
}

extension AgentConfiguration {
    /// Flags over the environment (`EMP_AGENT_<KEY>`, see ``EnvironmentLayer``) over the file (read once) over the
    /// defaults, checked; an error names the flag, variable or file key the bad value came from.
    public static func resolve(flags: AgentFlags, environment: EnvironmentLayer = EnvironmentLayer(program: "emp-agent")) throws
        -> AgentConfiguration
    {
        let file = try flags.config.map { try AgentConfigurationFile.load($0) }
        /// The first layer that has `key`, with the name of where it came from.
        func pick<T>(_ flag: T?, _ flagName: String, _ key: String, _ fromFile: T?, env: (String) throws -> T?) throws -> (T, String)? {
            if let flag { return (flag, "--\(flagName)") }
            do {
                if let value = try env(key) { return (value, environment.variable(key)) }
            } catch let error as ValidationError {
                throw AgentError(error.description)
            }
            if let fromFile, let path = flags.config { return (fromFile, "\(key) in \(path)") }
            return nil
        }
        func string(_ flag: String?, _ flagName: String, _ key: String, _ fromFile: String?) throws -> String? {
            try pick(flag, flagName, key, fromFile, env: environment.string)?.0
        }

        guard let url = try string(flags.controlPlane, "control-plane", "controlPlane", file?.controlPlane) else {
            throw AgentError(
                "the control plane URL is required (--control-plane, \(environment.variable("controlPlane")) or controlPlane in --config)")
        }
        let defaults = AgentConfiguration(controlPlaneURL: url)
        var type = defaults.domainType
        if let (name, source) = try pick(flags.domainType, "domain-type", "domainType", file?.domainType, env: environment.string) {
            guard let parsed = DomainSpec.DomainType(rawValue: name) else {
                throw AgentError("\(source) must be kvm, qemu or test (got \"\(name)\")")
            }
            type = parsed
        }
        var interval = 10.0
        if let (seconds, source) = try pick(
            flags.reportInterval, "report-interval", "reportIntervalSeconds", file?.reportIntervalSeconds, env: environment.double)
        {
            guard seconds > 0, seconds <= 300 else { throw AgentError("\(source) must be in (0, 300] seconds (got \(seconds))") }
            interval = seconds
        }
        var wait = defaults.pollWait
        if let (seconds, source) = try pick(flags.pollWait, "poll-wait", "pollWaitSeconds", file?.pollWaitSeconds, env: environment.int) {
            guard (1...60).contains(seconds) else { throw AgentError("\(source) must be 1...60 seconds (got \(seconds))") }
            wait = seconds
        }
        var configuration = AgentConfiguration(
            controlPlaneURL: url,
            joinToken: try string(flags.joinToken, "join-token", "joinToken", file?.joinToken),
            hostID: try string(flags.hostID, "host-id", "hostID", file?.hostID),
            libvirtURI: try string(flags.libvirtURI, "libvirt-uri", "libvirtURI", file?.libvirtURI) ?? defaults.libvirtURI,
            stateDirectory: try string(flags.stateDir, "state-dir", "stateDir", file?.stateDir) ?? defaults.stateDirectory,
            domainType: type,
            reportInterval: .milliseconds(Int64(interval * 1000)),
            pollWait: wait,
            kernel: try string(flags.kernel, "kernel", "kernel", file?.kernel),
            initrd: try string(flags.initrd, "initrd", "initrd", file?.initrd),
            kernelCommandLine: try string(flags.cmdline, "cmdline", "cmdline", file?.cmdline),
            network: try string(flags.network, "network", "network", file?.network),
            isoTool: try string(flags.isoTool, "iso-tool", "isoTool", file?.isoTool)
        )
        configuration.migrationURI = try string(flags.migrationURI, "migration-uri", "migrationURI", file?.migrationURI)
        configuration.migrationAddress = try string(flags.migrationAddress, "migration-address", "migrationAddress", file?.migrationAddress)
        configuration.kubeconfigPath = try string(flags.kubeconfig, "kubeconfig", "kubeconfig", file?.kubeconfig)
        if let directory = try string(flags.imageDir, "image-dir", "imageDir", file?.imageDir) { configuration.imageDirectory = directory }
        if let (url, source) = try pick(
            flags.interruptionURL, "interruption-url", "interruptionURL", file?.interruptionURL, env: environment.string)
        {
            guard URL(string: url)?.scheme?.hasPrefix("http") == true else {
                throw AgentError("\(source) must be an http(s) URL (got \"\(url)\")")
            }
            configuration.interruptionURL = url
        }
        return configuration
    }
}

/// The composition root of `emp-agent`: connects libvirt (falling back from KVM to TCG when KVM is unusable), makes
/// the HTTP clients and returns the agent as a service, beside `ControlPlane.build`.
public enum Agent {
    /// What ``build(configuration:logger:clock:)`` returns.
    public struct Built: Sendable {
        public let agent: HostAgent
        /// The configuration as applied (the domain type after the KVM check).
        public let configuration: AgentConfiguration
        /// The agent under graceful shutdown; shuts its HTTP clients down on exit.
        public let service: AgentService

        /// Runs ``service`` until SIGTERM or SIGINT, then stops gracefully (migrations in flight stay with libvirt).
        public func runService(logger: Logger) async throws {
            let group = ServiceGroup(
                configuration: .init(services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
        }
    }

    public static func build(configuration: AgentConfiguration, logger: Logger, clock: any EMPClock = SystemClock()) async throws -> Built {
        var configuration = configuration
        if configuration.domainType == .kvm, configuration.libvirtURI.hasPrefix("qemu"), let reason = KVMProbe.unusableReason() {
            logger.warning("KVM is not usable (\(reason)); EVMs run as domain type qemu (TCG emulation, much slower)")
            configuration.domainType = .qemu
        }
        let connection = try await Connection(uri: configuration.libvirtURI)
        var kube: KubeClient?
        if let path = configuration.kubeconfigPath {
            do {
                kube = try KubeClient(config: try KubeConfig.load(paths: [path]), logger: Logger(label: "emp-agent.kube"))
            } catch {
                throw AgentError("kubeconfig \(path): \(error)")
            }
        }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let agent = HostAgent(
            configuration: configuration, client: ControlPlaneClient(http: http, baseURL: configuration.controlPlaneURL),
            connection: connection, kube: kube, clock: clock, logger: logger)
        return Built(agent: agent, configuration: configuration, service: AgentService(agent: agent, http: http, kube: kube))
    }
}

/// The host agent as a ServiceLifecycle service: on graceful shutdown its loops are cancelled (a migration libvirt
/// runs is left to libvirt; the journal lets the next start report its end), then its HTTP clients shut down.
public struct AgentService: Service, CustomStringConvertible {
    let agent: HostAgent
    let http: HTTPClient
    let kube: KubeClient?

    public func run() async throws {
        let outcome: Result<Void, any Error>
        do {
            try await cancelWhenGracefulShutdown { try await agent.run() }
            outcome = .success(())
        } catch is CancellationError {
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try? await kube?.shutdown()
        try? await http.shutdown()
        try outcome.get()
    }

    public var description: String { "AgentService" }
}
