/// Everything needed to describe an EVM as a libvirt domain; ``xml()`` renders the domain XML.
///
/// ```swift
/// var spec = DomainSpec(name: "evm-1", uuid: uuid, type: .qemu, vcpus: 2, memoryBytes: 128 << 20)
/// spec.boot = .kernel(path: "/var/lib/emp/vmlinuz", initrd: "/var/lib/emp/initrd", cmdline: "console=ttyS0")
/// spec.metadata = EVMMetadata(poolID: "p1", evmID: "evm-1")
/// let domain = try await connection.defineDomain(xml: spec.xml())
/// ```
public struct DomainSpec: Sendable, Hashable {
    /// `<domain type=…>`.
    public enum DomainType: String, Sendable, Hashable, CaseIterable {
        /// Hardware virtualization (production).
        case kvm
        /// QEMU's TCG emulation, where KVM is unusable.
        case qemu
        /// libvirt's test driver (unit tests).
        case test
    }

    /// How the guest boots.
    public enum Boot: Sendable, Hashable {
        /// Boot from the first disk.
        case disk
        /// Direct kernel boot.
        case kernel(path: String, initrd: String?, cmdline: String?)
    }

    /// A disk attached to the guest.
    public struct Disk: Sendable, Hashable {
        public enum Device: String, Sendable, Hashable { case disk, cdrom }
        public var path: String
        /// `qcow2` or `raw`.
        public var format: String
        /// Guest device name (`vda`, `sda`).
        public var target: String
        public var device: Device
        public var readOnly: Bool

        public init(path: String, format: String = "qcow2", target: String, device: Device = .disk, readOnly: Bool = false) {
            self.path = path
            self.format = format
            self.target = target
            self.device = device
            self.readOnly = readOnly
        }
    }

    /// A network interface.
    public struct Interface: Sendable, Hashable {
        public enum Source: Sendable, Hashable {
            /// A libvirt network (`<source network=…>`).
            case network(String)
            /// A host bridge (`<source bridge=…>`).
            case bridge(String)
        }
        public var source: Source
        public var macAddress: String?
        /// `virtio` unless set.
        public var model: String

        public init(source: Source, macAddress: String? = nil, model: String = "virtio") {
            self.source = source
            self.macAddress = macAddress
            self.model = model
        }
    }

    public var name: String
    public var uuid: String?
    public var type: DomainType
    public var vcpus: Int
    public var memoryBytes: Int64
    public var boot: Boot
    public var disks: [Disk]
    /// Path of a NoCloud ISO (volume label `cidata`), attached read-only as a CD-ROM.
    public var cloudInitSeed: String?
    public var interfaces: [Interface]
    /// When set, the first serial port writes to this file (append).
    public var serialLogPath: String?
    public var metadata: EVMMetadata?
    /// `<emulator>`; nil leaves it to libvirt.
    public var emulator: String?
    public var architecture: String
    /// Machine type (`pc`, `q35`); nil leaves it to libvirt.
    public var machine: String?

    public init(
        name: String,
        uuid: String? = nil,
        type: DomainType,
        vcpus: Int,
        memoryBytes: Int64,
        boot: Boot = .disk,
        disks: [Disk] = [],
        cloudInitSeed: String? = nil,
        interfaces: [Interface] = [],
        serialLogPath: String? = nil,
        metadata: EVMMetadata? = nil,
        emulator: String? = nil,
        architecture: String = "x86_64",
        machine: String? = nil
    ) {
        self.name = name
        self.uuid = uuid
        self.type = type
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.boot = boot
        self.disks = disks
        self.cloudInitSeed = cloudInitSeed
        self.interfaces = interfaces
        self.serialLogPath = serialLogPath
        self.metadata = metadata
        self.emulator = emulator
        self.architecture = architecture
        self.machine = machine
    }

    /// The domain XML. Memory is rendered in KiB.
    public func xml() -> String {
        tree.render()
    }

    // MARK: Rendering

    var tree: XMLTree {
        var children: [XMLTree] = [XMLTree("name", text: name)]
        if let uuid { children.append(XMLTree("uuid", text: uuid)) }
        if let metadata { children.append(XMLTree("metadata", children: [metadata.element])) }
        let kib = String(memoryBytes / 1024)
        children.append(XMLTree("memory", attributes: [("unit", "KiB")], text: kib))
        children.append(XMLTree("currentMemory", attributes: [("unit", "KiB")], text: kib))
        children.append(XMLTree("vcpu", attributes: [("placement", "static")], text: String(vcpus)))
        children.append(osElement)
        children.append(XMLTree("features", children: [XMLTree("acpi")]))
        children.append(XMLTree("on_poweroff", text: "destroy"))
        children.append(XMLTree("on_reboot", text: "restart"))
        children.append(XMLTree("on_crash", text: "destroy"))
        children.append(XMLTree("devices", children: devices))
        return XMLTree("domain", attributes: [("type", type.rawValue)], children: children)
    }

    private var osElement: XMLTree {
        var typeAttributes = [("arch", architecture)]
        if let machine { typeAttributes.append(("machine", machine)) }
        var children = [XMLTree("type", attributes: typeAttributes, text: "hvm")]
        switch boot {
        case .disk:
            children.append(XMLTree("boot", attributes: [("dev", "hd")]))
        case .kernel(let path, let initrd, let cmdline):
            children.append(XMLTree("kernel", text: path))
            if let initrd { children.append(XMLTree("initrd", text: initrd)) }
            if let cmdline { children.append(XMLTree("cmdline", text: cmdline)) }
        }
        return XMLTree("os", children: children)
    }

    private var devices: [XMLTree] {
        var devices: [XMLTree] = []
        if let emulator { devices.append(XMLTree("emulator", text: emulator)) }
        var allDisks = disks
        if let cloudInitSeed {
            allDisks.append(Disk(path: cloudInitSeed, format: "raw", target: "sdz", device: .cdrom, readOnly: true))
        }
        for disk in allDisks {
            var children = [
                XMLTree("driver", attributes: [("name", "qemu"), ("type", disk.format)]),
                XMLTree("source", attributes: [("file", disk.path)]),
                XMLTree("target", attributes: [("dev", disk.target), ("bus", disk.device == .cdrom ? "sata" : "virtio")]),
            ]
            if disk.readOnly { children.append(XMLTree("readonly")) }
            devices.append(
                XMLTree("disk", attributes: [("type", "file"), ("device", disk.device.rawValue)], children: children)
            )
        }
        for interface in interfaces {
            var children: [XMLTree] = []
            switch interface.source {
            case .network(let network):
                children.append(XMLTree("source", attributes: [("network", network)]))
            case .bridge(let bridge):
                children.append(XMLTree("source", attributes: [("bridge", bridge)]))
            }
            if let mac = interface.macAddress { children.append(XMLTree("mac", attributes: [("address", mac)])) }
            children.append(XMLTree("model", attributes: [("type", interface.model)]))
            let kind = if case .network = interface.source { "network" } else { "bridge" }
            devices.append(XMLTree("interface", attributes: [("type", kind)], children: children))
        }
        if let serialLogPath {
            devices.append(
                XMLTree(
                    "serial",
                    attributes: [("type", "file")],
                    children: [
                        XMLTree("source", attributes: [("path", serialLogPath), ("append", "on")]),
                        XMLTree("target", attributes: [("port", "0")]),
                    ]
                )
            )
        }
        devices.append(XMLTree("controller", attributes: [("type", "usb"), ("model", "none")]))
        // A virtio balloon that never inflates, for its statistics: guests with the driver report swap traffic and
        // free memory (`balloon.swap_in`, `balloon.unused`, …) every 10 s.
        devices.append(
            XMLTree("memballoon", attributes: [("model", "virtio")], children: [XMLTree("stats", attributes: [("period", "10")])]))
        return devices
    }
}
