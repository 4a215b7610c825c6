public import EMPModel
import Foundation
public import Libvirt

/// Everything `emp-agent` reads at start; each default is stated where it is declared.
public struct AgentConfiguration: Sendable {
    /// Base URL of the control plane, e.g. `https://emp.example.net:7443`.
    public var controlPlaneURL: String
    /// One-time join token (`<id>.<secret>`); needed only until the credential is stored.
    public var joinToken: String?
    /// Host id to register as. Default: the libvirt hostname, sanitized.
    public var hostID: String?
    /// libvirt URI of this host. Default `qemu:///system`.
    public var libvirtURI: String
    /// Holds `credential.json` (mode 0600) and per-EVM files. Default `/var/lib/emp-agent`.
    public var stateDirectory: String
    /// Domain type of EVMs: `kvm` in production, `qemu` where KVM is unusable, `test` for the test driver. Default `kvm`.
    public var domainType: DomainSpec.DomainType
    /// How often usage is reported (the heartbeat). Default 10 s.
    public var reportInterval: Duration
    /// Longest a desired-state poll waits on the control plane. Default 30 s.
    public var pollWait: Int
    /// Direct kernel boot: kernel, initrd and command line for every EVM; nil boots the pool image's disk.
    public var kernel: String?
    public var initrd: String?
    public var kernelCommandLine: String?
    /// libvirt network EVMs attach to; nil attaches none. Default nil.
    public var network: String?
    /// Program that writes cloud-init seed ISOs; nil finds xorriso, genisoimage or mkisofs on PATH.
    public var isoTool: String?
    /// libvirt URI other hosts' daemons use to migrate EVMs here (`qemu+tcp://10.0.0.2/system`). Default nil:
    /// the control plane uses `qemu+tcp://<hostname>/system`.
    public var migrationURI: String?
    /// Address the migration stream connects to (`tcp://10.0.0.2`). Default nil: libvirt chooses.
    public var migrationAddress: String?
    /// Where the provider publishes an interruption notice (EC2: `http://169.254.169.254/latest/meta-data/spot/instance-action`).
    /// Default nil: not watched.
    public var interruptionURL: String?
    /// How often the notice is polled. Default 5 s.
    public var interruptionPollInterval: Duration = .seconds(5)
    /// Where pool images named without a path live (qcow2). Default `/var/lib/emp-agent/images`.
    public var imageDirectory = "/var/lib/emp-agent/images"
    /// kubeconfig for pre-registering each EVM as a Node. Default nil: registration off.
    public var kubeconfigPath: String?

    public init(
        controlPlaneURL: String,
        joinToken: String? = nil,
        hostID: String? = nil,
        libvirtURI: String = "qemu:///system",
        stateDirectory: String = "/var/lib/emp-agent",
        domainType: DomainSpec.DomainType = .kvm,
        reportInterval: Duration = .seconds(10),
        pollWait: Int = 30,
        kernel: String? = nil,
        initrd: String? = nil,
        kernelCommandLine: String? = nil,
        network: String? = nil,
        isoTool: String? = nil
    ) {
        self.controlPlaneURL = controlPlaneURL
        self.joinToken = joinToken
        self.hostID = hostID
        self.libvirtURI = libvirtURI
        self.stateDirectory = stateDirectory
        self.domainType = domainType
        self.reportInterval = reportInterval
        self.pollWait = pollWait
        self.kernel = kernel
        self.initrd = initrd
        self.kernelCommandLine = kernelCommandLine
        self.network = network
        self.isoTool = isoTool
    }

    /// Where an EVM's root disk overlay lives (pools with an image, without direct kernel boot).
    public func diskPath(for evmID: String) -> String { "\(stateDirectory)/disks/\(evmID).qcow2" }

    /// Where an EVM's cloud-init seed ISO lives.
    public func seedPath(for evmID: String) -> String { "\(stateDirectory)/seeds/\(evmID).iso" }

    /// The domain an EVM becomes on this host.
    public func domainSpec(for evm: EVM) -> DomainSpec {
        var spec = DomainSpec(
            name: evm.id,
            type: domainType,
            vcpus: evm.shape.vcpus,
            memoryBytes: evm.shape.memoryBytes,
            cloudInitSeed: seedPath(for: evm.id),
            serialLogPath: "\(stateDirectory)/console/\(evm.id).log",
            metadata: EVMMetadata(poolID: evm.poolID, evmID: evm.id)
        )
        if let kernel {
            spec.boot = .kernel(path: kernel, initrd: initrd, cmdline: kernelCommandLine)
        } else if !evm.shape.image.isEmpty {
            spec.disks = [DomainSpec.Disk(path: diskPath(for: evm.id), target: "vda")]
        }
        if let network { spec.interfaces = [DomainSpec.Interface(source: .network(network))] }
        return spec
    }
}
