import Foundation

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

    public init(revision: Int64, evms: [EVM], kubelet: KubeletJoin? = nil) {
        self.revision = revision
        self.evms = evms
        self.kubelet = kubelet
    }
}

/// What an agent observed on its host: sent as the heartbeat every report interval.
public struct HostReport: Sendable, Hashable, Codable {
    /// Host-wide use (sum of the EVMs' RSS and CPU, plus the host's own).
    public var used: Resources
    /// The EMP domains present on the host.
    public var domains: [DomainReport]

    public init(used: Resources, domains: [DomainReport]) {
        self.used = used
        self.domains = domains
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

    public init(
        evmID: String,
        running: Bool,
        rssBytes: Int64? = nil,
        cpuTimeNanoseconds: Int64? = nil,
        stealNanoseconds: Int64? = nil,
        error: String? = nil
    ) {
        self.evmID = evmID
        self.running = running
        self.rssBytes = rssBytes
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
        self.stealNanoseconds = stealNanoseconds
        self.error = error
    }
}
