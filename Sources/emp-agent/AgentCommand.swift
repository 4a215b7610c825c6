import ArgumentParser
import AsyncHTTPClient
import EMPAgent
import Foundation
import Libvirt
import Logging

/// `emp-agent`: runs on each bare-metal host; keeps libvirt's EVM domains equal to the control plane's desired set.
@main
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-agent",
        abstract: "Run the EMP host agent: join, follow the desired EVM set, reconcile libvirt, report usage."
    )

    @Option(name: .long, help: "Control plane base URL, e.g. http://10.0.0.5:7443.")
    var controlPlane: String

    @Option(name: .long, help: "One-time join token (<id>.<secret>); needed only for the first start.")
    var joinToken: String?

    @Option(name: .long, help: "Host id to register as (default: the libvirt hostname).")
    var hostID: String?

    @Option(name: .long, help: "libvirt URI of this host.")
    var libvirtURI: String = "qemu:///system"

    @Option(name: .long, help: "State directory (credential, consoles, disks).")
    var stateDir: String = "/var/lib/emp-agent"

    @Option(name: .long, help: "EVM domain type: kvm, qemu (no usable KVM) or test (libvirt test driver).")
    var domainType: String = "kvm"

    @Option(name: .long, help: "Seconds between usage reports (heartbeats).")
    var reportInterval: Double = 10

    @Option(name: .long, help: "Longest desired-state long poll, in seconds (1...60).")
    var pollWait: Int = 30

    @Option(name: .long, help: "Kernel for direct boot of every EVM (optional).")
    var kernel: String?

    @Option(name: .long, help: "Initrd for direct boot (optional).")
    var initrd: String?

    @Option(name: .long, help: "Kernel command line for direct boot (optional).")
    var cmdline: String?

    @Option(name: .long, help: "libvirt network to attach EVMs to (optional).")
    var network: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard DomainSpec.DomainType(rawValue: domainType) != nil else {
            throw ValidationError("--domain-type must be kvm, qemu or test (got \"\(domainType)\")")
        }
        guard reportInterval > 0, reportInterval <= 300 else { throw ValidationError("--report-interval must be in (0, 300] seconds") }
        guard (1...60).contains(pollWait) else { throw ValidationError("--poll-wait must be 1...60 seconds") }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "emp-agent")
        let configuration = AgentConfiguration(
            controlPlaneURL: controlPlane,
            joinToken: joinToken,
            hostID: hostID,
            libvirtURI: libvirtURI,
            stateDirectory: stateDir,
            domainType: DomainSpec.DomainType(rawValue: domainType) ?? .kvm,
            reportInterval: .milliseconds(Int64(reportInterval * 1000)),
            pollWait: pollWait,
            kernel: kernel,
            initrd: initrd,
            kernelCommandLine: cmdline,
            network: network
        )
        let connection = try await Connection(uri: libvirtURI)
        let agent = HostAgent(
            configuration: configuration,
            client: ControlPlaneClient(http: HTTPClient.shared, baseURL: controlPlane),
            connection: connection,
            logger: logger
        )
        try await agent.run()
    }
}
