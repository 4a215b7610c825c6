import AsyncHTTPClient
public import EMPModel
import Foundation
import Kube
import Libvirt
public import Logging
public import ServiceLifecycle
import UnixSignals

extension AgentConfiguration {
    /// Flags over the environment (`EMP_AGENT_<KEY>`, see ``EnvironmentLayer``) over the file at `configFile` (read
    /// once) over the defaults, checked; an error names the flag, variable or file key the bad value came from.
    /// `flags` holds what the command line gave, in the file's form (nil: not given).
    public static func resolve(
        flags: AgentConfigurationFile, configFile: String?, environment: EnvironmentLayer = EnvironmentLayer(program: "emp-agent")
    ) throws -> AgentConfiguration {
        let file = try configFile.map { try AgentConfigurationFile.load($0) }
        /// Setting `key` (named `name` in the file and the environment, `--flag` on the command line) from the first
        /// layer that has it, with where it came from.
        func pick<T>(_ key: KeyPath<AgentConfigurationFile, T?>, _ name: String, flag: String, env: (String) throws -> T?) throws -> (
            T, String
        )? {
            if let value = flags[keyPath: key] { return (value, "--\(flag)") }
            do {
                if let value = try env(name) { return (value, environment.variable(name)) }
            } catch let error as ValidationError {
                throw AgentError(error.description)
            }
            if let value = file?[keyPath: key], let configFile { return (value, "\(name) in \(configFile)") }
            return nil
        }
        func string(_ key: KeyPath<AgentConfigurationFile, String?>, _ name: String, flag: String) throws -> String? {
            try pick(key, name, flag: flag, env: environment.string)?.0
        }

        guard let url = try string(\.controlPlane, "controlPlane", flag: "control-plane") else {
            throw AgentError(
                "the control plane URL is required (--control-plane, \(environment.variable("controlPlane")) or controlPlane in --config)")
        }
        let defaults = AgentConfiguration(controlPlaneURL: url)
        var type = defaults.domainType
        if let (name, source) = try pick(\.domainType, "domainType", flag: "domain-type", env: environment.string) {
            guard let parsed = DomainSpec.DomainType(rawValue: name) else {
                throw AgentError("\(source) must be kvm, qemu or test (got \"\(name)\")")
            }
            type = parsed
        }
        var interval = 10.0
        if let (seconds, source) = try pick(
            \.reportIntervalSeconds, "reportIntervalSeconds", flag: "report-interval", env: environment.double)
        {
            guard seconds > 0, seconds <= 300 else { throw AgentError("\(source) must be in (0, 300] seconds (got \(seconds))") }
            interval = seconds
        }
        var wait = defaults.pollWait
        if let (seconds, source) = try pick(\.pollWaitSeconds, "pollWaitSeconds", flag: "poll-wait", env: environment.int) {
            guard (1...60).contains(seconds) else { throw AgentError("\(source) must be 1...60 seconds (got \(seconds))") }
            wait = seconds
        }
        var configuration = AgentConfiguration(
            controlPlaneURL: url,
            joinToken: try string(\.joinToken, "joinToken", flag: "join-token"),
            hostID: try string(\.hostID, "hostID", flag: "host-id"),
            libvirtURI: try string(\.libvirtURI, "libvirtURI", flag: "libvirt-uri") ?? defaults.libvirtURI,
            stateDirectory: try string(\.stateDir, "stateDir", flag: "state-dir") ?? defaults.stateDirectory,
            domainType: type,
            reportInterval: .milliseconds(Int64(interval * 1000)),
            pollWait: wait,
            kernel: try string(\.kernel, "kernel", flag: "kernel"),
            initrd: try string(\.initrd, "initrd", flag: "initrd"),
            kernelCommandLine: try string(\.cmdline, "cmdline", flag: "cmdline"),
            network: try string(\.network, "network", flag: "network"),
            isoTool: try string(\.isoTool, "isoTool", flag: "iso-tool")
        )
        configuration.migrationURI = try string(\.migrationURI, "migrationURI", flag: "migration-uri")
        configuration.migrationAddress = try string(\.migrationAddress, "migrationAddress", flag: "migration-address")
        configuration.kubeconfigPath = try string(\.kubeconfig, "kubeconfig", flag: "kubeconfig")
        if let directory = try string(\.imageDir, "imageDir", flag: "image-dir") { configuration.imageDirectory = directory }
        if let (url, source) = try pick(\.interruptionURL, "interruptionURL", flag: "interruption-url", env: environment.string) {
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
        return Built(agent: agent, service: AgentService(agent: agent, http: http, kube: kube))
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
