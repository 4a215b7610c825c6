import ArgumentParser
import EMPAgent
import Logging

/// `emp-agent`: runs on each bare-metal host; keeps libvirt's EVM domains equal to the control plane's desired set.
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-agent",
        abstract: "Run the EMP host agent: join, follow the desired EVM set, reconcile libvirt, report usage.",
        discussion:
            "Each setting can also come from the environment (EMP_AGENT_<KEY>, e.g. EMP_AGENT_CONTROL_PLANE) or the file; flags win."
    )

    @Option(name: .long, help: "YAML configuration file (agent/agent.example.yaml); flags and the environment override it.")
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

    /// What the command line gave, in the configuration file's form.
    var flags: AgentConfigurationFile {
        var flags = AgentConfigurationFile()
        flags.controlPlane = controlPlane
        flags.joinToken = joinToken
        flags.hostID = hostID
        flags.libvirtURI = libvirtURI
        flags.stateDir = stateDir
        flags.domainType = domainType
        flags.reportIntervalSeconds = reportInterval
        flags.pollWaitSeconds = pollWait
        flags.kernel = kernel
        flags.initrd = initrd
        flags.cmdline = cmdline
        flags.network = network
        flags.kubeconfig = kubeconfig
        flags.isoTool = isoTool
        flags.migrationURI = migrationURI
        flags.migrationAddress = migrationAddress
        flags.interruptionURL = interruptionURL
        flags.imageDir = imageDir
        return flags
    }

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        let configuration: AgentConfiguration
        do {
            configuration = try AgentConfiguration.resolve(flags: flags, configFile: config)
        } catch let error as AgentError {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "emp-agent")
        let built: Agent.Built
        do {
            built = try await Agent.build(configuration: configuration, logger: logger)
        } catch let error as AgentError {
            throw ValidationError(error.description)
        }
        try await built.runService(logger: logger)
    }
}
