import ArgumentParser
import AsyncHTTPClient
import EMPAgent
import Foundation
import Kube
import Libvirt
import Logging

/// `emp-agent`: runs on each bare-metal host; keeps libvirt's EVM domains equal to the control plane's desired set.
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-agent",
        abstract: "Run the EMP host agent: join, follow the desired EVM set, reconcile libvirt, report usage."
    )

    @Option(name: .long, help: "YAML configuration file (agent/agent.example.yaml); flags override it.")
    var config: String?

    @Option(name: .long, help: "Control plane base URL, e.g. https://10.0.0.5:7443.")
    var controlPlane: String?

    @Option(name: .long, help: "One-time join token (<id>.<secret>); needed only for the first start.")
    var joinToken: String?

    @Option(name: .long, help: "Host id to register as (default: the libvirt hostname).")
    var hostID: String?

    @Option(name: .long, help: "libvirt URI of this host (default qemu:///system).")
    var libvirtURI: String?

    @Option(name: .long, help: "State directory: credential, consoles, disks (default /var/lib/emp-agent).")
    var stateDir: String?

    @Option(name: .long, help: "EVM domain type: kvm (default), qemu (no usable KVM) or test (libvirt test driver).")
    var domainType: String?

    @Option(name: .long, help: "Seconds between usage reports (heartbeats; default 10).")
    var reportInterval: Double?

    @Option(name: .long, help: "Longest desired-state long poll, in seconds (1...60; default 30).")
    var pollWait: Int?

    @Option(name: .long, help: "Kernel for direct boot of every EVM (optional).")
    var kernel: String?

    @Option(name: .long, help: "Initrd for direct boot (optional).")
    var initrd: String?

    @Option(name: .long, help: "Kernel command line for direct boot (optional).")
    var cmdline: String?

    @Option(name: .long, help: "libvirt network to attach EVMs to (optional).")
    var network: String?

    @Option(name: .long, help: "kubeconfig for pre-registering each EVM as a Node (default: none, registration off).")
    var kubeconfig: String?

    @Option(name: .long, help: "Program that writes cloud-init seed ISOs (default: xorriso, genisoimage or mkisofs on PATH).")
    var isoTool: String?

    @Option(name: .long, help: "libvirt URI peers migrate EVMs here through, e.g. qemu+tcp://10.0.0.2/system.")
    var migrationURI: String?

    @Option(name: .long, help: "Address of the migration stream, e.g. tcp://10.0.0.2 (default: libvirt chooses).")
    var migrationAddress: String?

    @Option(
        name: .long,
        help: "Interruption notice URL to poll every 5 s (EC2 spot: http://169.254.169.254/latest/meta-data/spot/instance-action).")
    var interruptionURL: String?

    @Option(name: .long, help: "Directory of pool images named without a path (default /var/lib/emp-agent/images).")
    var imageDir: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    /// Flags over the file over the defaults, checked; errors name the flag or key.
    func resolve() throws -> AgentConfiguration {
        let file = try config.map { try AgentConfigurationFile.load($0) }
        guard let url = controlPlane ?? file?.controlPlane else {
            throw ValidationError("the control plane URL is required (--control-plane or controlPlane in --config)")
        }
        let defaults = AgentConfiguration(controlPlaneURL: url)
        let typeName = domainType ?? file?.domainType ?? defaults.domainType.rawValue
        guard let type = DomainSpec.DomainType(rawValue: typeName) else {
            throw ValidationError("--domain-type must be kvm, qemu or test (got \"\(typeName)\")")
        }
        let interval = reportInterval ?? file?.reportIntervalSeconds ?? 10
        guard interval > 0, interval <= 300 else { throw ValidationError("--report-interval must be in (0, 300] seconds") }
        let wait = pollWait ?? file?.pollWaitSeconds ?? defaults.pollWait
        guard (1...60).contains(wait) else { throw ValidationError("--poll-wait must be 1...60 seconds") }
        var configuration = AgentConfiguration(
            controlPlaneURL: url,
            joinToken: joinToken ?? file?.joinToken,
            hostID: hostID ?? file?.hostID,
            libvirtURI: libvirtURI ?? file?.libvirtURI ?? defaults.libvirtURI,
            stateDirectory: stateDir ?? file?.stateDir ?? defaults.stateDirectory,
            domainType: type,
            reportInterval: .milliseconds(Int64(interval * 1000)),
            pollWait: wait,
            kernel: kernel ?? file?.kernel,
            initrd: initrd ?? file?.initrd,
            kernelCommandLine: cmdline ?? file?.cmdline,
            network: network ?? file?.network,
            isoTool: isoTool ?? file?.isoTool
        )
        configuration.migrationURI = migrationURI ?? file?.migrationURI
        configuration.migrationAddress = migrationAddress ?? file?.migrationAddress
        configuration.interruptionURL = interruptionURL ?? file?.interruptionURL
        if let directory = imageDir ?? file?.imageDir { configuration.imageDirectory = directory }
        if let url = configuration.interruptionURL, URL(string: url)?.scheme?.hasPrefix("http") != true {
            throw ValidationError("--interruption-url must be an http(s) URL (got \"\(url)\")")
        }
        return configuration
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        var configuration: AgentConfiguration
        do {
            configuration = try resolve()
        } catch let error as AgentError {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "emp-agent")
        if configuration.domainType == .kvm, configuration.libvirtURI.hasPrefix("qemu"), let reason = KVMProbe.unusableReason() {
            logger.warning("KVM is not usable (\(reason)); EVMs run as domain type qemu (TCG emulation, much slower)")
            configuration.domainType = .qemu
        }
        let connection = try await Connection(uri: configuration.libvirtURI)
        var kube: KubeClient?
        let fileKubeconfig = try config.map { try AgentConfigurationFile.load($0) }?.kubeconfig
        if let path = kubeconfig ?? fileKubeconfig {
            do {
                kube = try KubeClient(config: try KubeConfig.load(paths: [path]), logger: Logger(label: "emp-agent.kube"))
            } catch {
                throw ValidationError("--kubeconfig: \(error)")
            }
        }
        let agent = HostAgent(
            configuration: configuration,
            client: ControlPlaneClient(http: HTTPClient.shared, baseURL: configuration.controlPlaneURL),
            connection: connection,
            kube: kube,
            logger: logger
        )
        try await agent.run()
    }
}
