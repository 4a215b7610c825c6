public import Foundation

/// `POST /v1/agent/join`: an agent trades a one-time join token for its host credential.
public struct JoinRequest: Sendable, Hashable, Codable {
    /// `<token id>.<secret>` as printed by `empctl host token`.
    public var token: String
    /// The host's name in EMP; defaults to the inventory's hostname.
    public var hostID: String?
    public var inventory: HostInventory

    public init(token: String, hostID: String? = nil, inventory: HostInventory) {
        self.token = token
        self.hostID = hostID
        self.inventory = inventory
    }
}

/// The answer to a join: who the agent is and the secret it presents from now on (shown once).
public struct JoinResponse: Sendable, Hashable, Codable {
    public var hostID: String
    public var poolID: String
    public var credential: String

    public init(hostID: String, poolID: String, credential: String) {
        self.hostID = hostID
        self.poolID = poolID
        self.credential = credential
    }
}

/// The EVMs the control plane wants on a host, at a revision; agents long-poll for a newer one.
public struct DesiredState: Sendable, Hashable, Codable {
    public var revision: Int64
    /// Every EVM assigned to the host; those in phase `deleting` are to be removed.
    public var evms: [EVM]
    /// The host's pool's kubelet join, for the EVMs' cloud-init seeds; nil when the pool has none.
    public var kubelet: KubeletJoin?
    /// Migrations this host's agent runs (it is the source).
    public var outgoing: [MigrationCommand]
    /// EVMs migrating here: prepare their files, and leave their incoming domains alone.
    public var incoming: [IncomingEVM]
    /// EVMs that live-migrated away from this host: their Nodes stay (they run elsewhere).
    public var departed: [String]

    public init(
        revision: Int64, evms: [EVM], kubelet: KubeletJoin? = nil, outgoing: [MigrationCommand] = [], incoming: [IncomingEVM] = [],
        departed: [String] = []
    ) {
        self.revision = revision
        self.evms = evms
        self.kubelet = kubelet
        self.outgoing = outgoing
        self.incoming = incoming
        self.departed = departed
    }

    private enum CodingKeys: String, CodingKey { case revision, evms, kubelet, outgoing, incoming, departed }

    /// The migration fields may be absent (a control plane older than the rebalancer).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            revision: try c.decode(Int64.self, forKey: .revision), evms: try c.decode([EVM].self, forKey: .evms),
            kubelet: try c.decodeIfPresent(KubeletJoin.self, forKey: .kubelet),
            outgoing: try c.decodeIfPresent([MigrationCommand].self, forKey: .outgoing) ?? [],
            incoming: try c.decodeIfPresent([IncomingEVM].self, forKey: .incoming) ?? [],
            departed: try c.decodeIfPresent([String].self, forKey: .departed) ?? [])
    }
}

/// What the source agent needs to run one live migration.
public struct MigrationCommand: Sendable, Hashable, Codable {
    /// The migration record's id.
    public var id: String
    public var evmID: String
    public var destinationHost: String
    /// libvirt URI of the destination's daemon (peer-to-peer).
    public var destinationURI: String
    /// Where the migration stream connects; nil lets libvirt choose.
    public var destinationAddress: String?
    /// The destination agent's state directory, for rewriting per-host paths in the domain XML.
    public var destinationStateDirectory: String?
    public var postCopy: Bool
    /// Abort the libvirt job: the operator cancelled it.
    public var cancel: Bool

    public init(
        id: String, evmID: String, destinationHost: String, destinationURI: String, destinationAddress: String? = nil,
        destinationStateDirectory: String? = nil, postCopy: Bool = false, cancel: Bool = false
    ) {
        self.id = id
        self.evmID = evmID
        self.destinationHost = destinationHost
        self.destinationURI = destinationURI
        self.destinationAddress = destinationAddress
        self.destinationStateDirectory = destinationStateDirectory
        self.postCopy = postCopy
        self.cancel = cancel
    }
}

/// An EVM on its way to this host, with its migration's id and state.
public struct IncomingEVM: Sendable, Hashable, Codable {
    public var migrationID: String
    public var state: MigrationState
    public var evm: EVM

    public init(migrationID: String, state: MigrationState, evm: EVM) {
        self.migrationID = migrationID
        self.state = state
        self.evm = evm
    }
}

/// `POST /v1/agent/hosts/{id}/migrations/{migration}`: what an agent reports about a migration.
public struct MigrationUpdate: Sendable, Hashable, Codable {
    public enum Step: String, Sendable, Hashable, Codable {
        /// The destination has the EVM's files ready.
        case prepared
        /// The source's job is under way (progress only).
        case running
        case completed
        case failed
    }

    public var step: Step
    public var progress: MigrationProgress?
    /// libvirt's message when it failed.
    public var message: String?

    public init(step: Step, progress: MigrationProgress? = nil, message: String? = nil) {
        self.step = step
        self.progress = progress
        self.message = message
    }
}

/// What an agent observed on its host: sent as the heartbeat every report interval.
public struct HostReport: Sendable, Hashable, Codable {
    /// Host-wide use (sum of the EVMs' RSS and CPU, plus the host's own).
    public var used: Resources
    /// The EMP domains present on the host.
    public var domains: [DomainReport]
    /// When the host's provider says it goes away (spot interruption notice); nil when none.
    public var interruptionDeadline: Date?

    public init(used: Resources, domains: [DomainReport], interruptionDeadline: Date? = nil) {
        self.used = used
        self.domains = domains
        self.interruptionDeadline = interruptionDeadline
    }
}

/// One EMP domain as the agent sees it in libvirt.
public struct DomainReport: Sendable, Hashable, Codable {
    public var evmID: String
    public var running: Bool
    public var rssBytes: Int64?
    public var cpuTimeNanoseconds: Int64?
    public var stealNanoseconds: Int64?
    /// The last libvirt error for this domain, if reconciling it failed.
    public var error: String?
    /// Which run of the domain the counters belong to (libvirt's domain id, new at every start): CPU time may only
    /// go back when this changes. Nil from agents older than the check.
    public var instance: String?
    /// The guest's swap traffic and free memory from the virtio balloon's statistics (`swap_in`, `swap_out`,
    /// `unused`, `available`); nil when the guest reports none.
    public var swap: GuestMemory?
    /// When the agent completed each provisioning step of this EVM; nil from agents that do not record them.
    public var provisioning: ProvisioningSteps?

    public init(
        evmID: String,
        running: Bool,
        rssBytes: Int64? = nil,
        cpuTimeNanoseconds: Int64? = nil,
        stealNanoseconds: Int64? = nil,
        error: String? = nil,
        instance: String? = nil,
        swap: GuestMemory? = nil,
        provisioning: ProvisioningSteps? = nil
    ) {
        self.swap = swap
        self.provisioning = provisioning
        self.evmID = evmID
        self.running = running
        self.rssBytes = rssBytes
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
        self.stealNanoseconds = stealNanoseconds
        self.error = error
        self.instance = instance
    }
}

/// What the guest says about its memory through the virtio balloon (cumulative swap traffic since boot, bytes):
/// swapping guests are the sign that memory overcommit went too far.
public struct GuestMemory: Sendable, Hashable, Codable {
    public var swapInBytes: Int64?
    public var swapOutBytes: Int64?
    /// Memory the guest leaves unused, and what it could use without swapping.
    public var unusedBytes: Int64?
    public var availableBytes: Int64?

    public init(swapInBytes: Int64? = nil, swapOutBytes: Int64? = nil, unusedBytes: Int64? = nil, availableBytes: Int64? = nil) {
        self.swapInBytes = swapInBytes
        self.swapOutBytes = swapOutBytes
        self.unusedBytes = unusedBytes
        self.availableBytes = availableBytes
    }

    /// Every figure at least 0.
    public var isNonNegative: Bool {
        [swapInBytes, swapOutBytes, unusedBytes, availableBytes].allSatisfy { ($0 ?? 0) >= 0 }
    }
}

/// When the agent did each step of bringing up an EVM: the console's "See Details" timeline.
public struct ProvisioningSteps: Sendable, Hashable, Codable {
    /// The Kubernetes Node registered (tainted) before boot; nil without Node pre-registration.
    public var nodeRegisteredAt: Date?
    /// The cloud-init seed ISO written.
    public var seedWrittenAt: Date?
    /// The libvirt domain defined.
    public var definedAt: Date?
    /// The domain started.
    public var bootedAt: Date?

    public init(nodeRegisteredAt: Date? = nil, seedWrittenAt: Date? = nil, definedAt: Date? = nil, bootedAt: Date? = nil) {
        self.nodeRegisteredAt = nodeRegisteredAt
        self.seedWrittenAt = seedWrittenAt
        self.definedAt = definedAt
        self.bootedAt = bootedAt
    }

    private enum CodingKeys: String, CodingKey { case nodeRegisteredAt, seedWrittenAt, definedAt, bootedAt }

    // The steps are a second or less apart: they travel as ISO 8601 with milliseconds, where the wire's other dates
    // are whole seconds (a timeline in whole seconds would put the seed before the request). Whole seconds are read too.
    private static let precise = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
    private static let whole = Date.ISO8601FormatStyle()

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            if let date = try? Self.precise.parse(text) { return date }
            if let date = try? Self.whole.parse(text) { return date }
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not an ISO 8601 time (got \"\(text)\")")
        }
        self.init(
            nodeRegisteredAt: try date(.nodeRegisteredAt), seedWrittenAt: try date(.seedWrittenAt), definedAt: try date(.definedAt),
            bootedAt: try date(.bootedAt))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, date) in [
            (CodingKeys.nodeRegisteredAt, nodeRegisteredAt), (.seedWrittenAt, seedWrittenAt), (.definedAt, definedAt),
            (.bootedAt, bootedAt),
        ] {
            if let date { try c.encode(date.formatted(Self.precise), forKey: key) }
        }
    }
}
