public import Foundation

/// A bare-metal machine running libvirt and `emp-agent`, as the control plane tracks it.
public struct Host: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var poolID: String
    /// Physical capacity (cores × 1000, memory bytes) from the agent's inventory.
    public var capacity: Resources
    /// Sum of the sizes of EVMs placed here; kept equal to that sum in the same transaction as each placement.
    public var allocated: Resources
    /// Actual use reported by the agent (libvirt stats).
    public var used: Resources
    public var state: HostState
    /// Operator cordon: no new EVMs land here, existing ones stay.
    public var cordoned: Bool
    /// Operator maintenance: the host is evacuated.
    public var maintenance: Bool
    public var inventory: HostInventory?
    public var lastHeartbeat: Date?
    /// When an interruption notice says the host goes away.
    public var deadline: Date?
    /// Set by an operator (`empctl host rejoin`): the next join with this host's `hostUUID` may take the host over
    /// and revoke its current credential. Cleared by that join.
    public var rejoinApprovedAt: Date?
    /// Set when a host provider launched the machine: what it is and where, for operators and the cost view.
    public var provider: HostProviderInfo?

    public init(
        id: String,
        poolID: String,
        capacity: Resources,
        allocated: Resources = .zero,
        used: Resources = .zero,
        state: HostState = .ready,
        cordoned: Bool = false,
        maintenance: Bool = false,
        inventory: HostInventory? = nil,
        lastHeartbeat: Date? = nil,
        deadline: Date? = nil
    ) {
        self.id = id
        self.poolID = poolID
        self.capacity = capacity
        self.allocated = allocated
        self.used = used
        self.state = state
        self.cordoned = cordoned
        self.maintenance = maintenance
        self.inventory = inventory
        self.lastHeartbeat = lastHeartbeat
        self.deadline = deadline
    }

    /// What an operator sees: lost beats maintenance beats cordon beats health.
    public var effectiveState: HostState {
        if state == .lost { return .lost }
        if maintenance { return .maintenance }
        if cordoned { return .cordoned }
        return state
    }

    /// True when new EVMs may be placed here.
    public var acceptsPlacements: Bool { effectiveState == .ready && deadline == nil }
}

/// The provider's side of a host it launched (`empctl host list`, the console, the cost view).
public struct HostProviderInfo: Sendable, Hashable, Codable {
    /// `ec2` or `command`.
    public var provider: String
    public var launchID: String
    /// The provider's machine id (`i-0abc…`).
    public var machineID: String?
    /// The provider's word for its state (`running`, `shutting-down`, `terminated`).
    public var machineState: String?
    public var instanceType: String?
    public var lifecycle: HostLifecycle
    public var zone: String?

    public init(
        provider: String, launchID: String, machineID: String?, machineState: String?, instanceType: String?, lifecycle: HostLifecycle,
        zone: String?
    ) {
        self.provider = provider
        self.launchID = launchID
        self.machineID = machineID
        self.machineState = machineState
        self.instanceType = instanceType
        self.lifecycle = lifecycle
        self.zone = zone
    }
}

/// Where a host stands, as shown to operators.
public enum HostState: String, Sendable, Hashable, Codable, CaseIterable {
    case ready
    case notReady
    /// NotReady past `hostLostAfter`: its EVMs were written off; it stays cordoned after it returns until an
    /// operator uncordons it.
    case lost
    case cordoned
    case maintenance
}

/// What an agent reports about its machine when it joins.
public struct HostInventory: Sendable, Hashable, Codable {
    public var hostname: String
    public var cores: Int
    public var memoryBytes: Int64
    public var cpuModel: String
    public var hostUUID: String?
    public var libvirtVersion: String
    public var hypervisorVersion: String
    /// libvirt URI other hosts' daemons reach this one at for peer-to-peer migration (`qemu+tcp://10.0.0.2/system`).
    public var migrationURI: String?
    /// Where the migration stream connects (`tcp://10.0.0.2`); nil lets libvirt choose.
    public var migrationAddress: String?
    /// The agent's state directory: per-EVM files (seed, console log) live under it, so migrated XML is rewritten to it.
    public var stateDirectory: String?

    public init(
        hostname: String,
        cores: Int,
        memoryBytes: Int64,
        cpuModel: String,
        hostUUID: String?,
        libvirtVersion: String,
        hypervisorVersion: String,
        migrationURI: String? = nil,
        migrationAddress: String? = nil,
        stateDirectory: String? = nil
    ) {
        self.hostname = hostname
        self.cores = cores
        self.memoryBytes = memoryBytes
        self.cpuModel = cpuModel
        self.hostUUID = hostUUID
        self.libvirtVersion = libvirtVersion
        self.hypervisorVersion = hypervisorVersion
        self.migrationURI = migrationURI
        self.migrationAddress = migrationAddress
        self.stateDirectory = stateDirectory
    }
}
