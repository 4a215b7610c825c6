public import Foundation

/// An elastic VM: one libvirt domain on one host that becomes one Kubernetes Node.
public struct EVM: Sendable, Hashable, Codable, Identifiable {
    /// Also the libvirt domain name.
    public var id: String
    public var poolID: String
    /// Where it is placed; nil until placement.
    public var hostID: String?
    public var shape: EVMShape
    public var phase: EVMPhase
    /// The Kubernetes Node name the EVM registers as.
    public var nodeName: String
    public var createdAt: Date
    /// Why the EVM is `failed`, or the last problem seen.
    public var message: String?
    /// When it last finished a live migration (for the cooldown).
    public var lastMigratedAt: Date?
    /// The host it last left by live migration: the rebalancer never sends it straight back (no ping-pong), and
    /// that host's agent keeps the EVM's Node.
    public var previousHostID: String?
    /// Measured use from the agent's last report: memory is the QEMU process RSS; CPU the rate over the
    /// last report interval. Nil until reported.
    public var used: Resources?
    /// The cumulative CPU time and when it was sampled, to turn the next sample into a rate.
    public var cpuSample: CPUSample?
    /// Set while the EVM is warm capacity (created warm, not yet claimed): how it waits.
    public var warm: WarmMode?
    /// When its Node was first seen Ready (the kubelet joined); nil while booting.
    public var nodeReadyAt: Date?
    /// When a warm EVM was handed to pods.
    public var claimedAt: Date?
    /// Contention signals from the agent's last report: steal time and the guest's swap.
    public var contention: Contention?
    /// The agent's provisioning steps, once reported.
    public var provisioning: ProvisioningSteps?

    /// How the agent holds the domain while it waits: `paused` or `saved` once a warm EVM's kubelet has joined; nil
    /// (run it) otherwise.
    public var hold: WarmMode? {
        guard let warm, warm != .running, phase == .warm, nodeReadyAt != nil else { return nil }
        return warm
    }
    /// True when the agent should hold the domain suspended: a `paused` warm EVM whose kubelet has joined.
    public var wantsSuspended: Bool { hold == .paused }
    /// Still counts in the pool: not being deleted, not written off with a lost host, not failed.
    public var isLive: Bool { phase != .deleting && phase != .lost && phase != .failed }

    public init(
        id: String,
        poolID: String,
        hostID: String? = nil,
        shape: EVMShape,
        phase: EVMPhase = .pending,
        nodeName: String,
        createdAt: Date,
        message: String? = nil,
        lastMigratedAt: Date? = nil
    ) {
        self.id = id
        self.poolID = poolID
        self.hostID = hostID
        self.shape = shape
        self.phase = phase
        self.nodeName = nodeName
        self.createdAt = createdAt
        self.message = message
        self.lastMigratedAt = lastMigratedAt
    }
}

/// Lifecycle of an EVM.
public enum EVMPhase: String, Sendable, Hashable, Codable, CaseIterable {
    case pending
    case creating
    case running
    /// Booted and joined but held back as warm capacity (see ``WarmMode``).
    case warm
    case migrating
    case deleting
    case failed
    /// Its host was lost (NotReady past `hostLostAfter`): written off, its allocation released, replaced elsewhere.
    /// The record goes when the host's agent returns and reports the domain destroyed.
    case lost
}

/// How much an EVM waits for its host: the signals EMP documents for overcommit gone too far.
public struct Contention: Sendable, Hashable, Codable {
    /// Time the vCPUs were runnable but not running (steal), as millicores over the last report interval.
    public var stealMillis: Int64?
    /// The guest's swap traffic and free memory (cumulative since its boot).
    public var memory: GuestMemory?

    public init(stealMillis: Int64? = nil, memory: GuestMemory? = nil) {
        self.stealMillis = stealMillis
        self.memory = memory
    }
}

/// A cumulative CPU-time reading and when it was taken.
public struct CPUSample: Sendable, Hashable, Codable {
    public var cpuTimeNanoseconds: Int64
    public var at: Date
    /// The domain instance the counter belongs to (see ``DomainReport/instance``); a new instance restarts it.
    public var instance: String?
    /// Cumulative steal time of all vCPUs at the same moment, when reported.
    public var stealNanoseconds: Int64?

    public init(cpuTimeNanoseconds: Int64, at: Date, instance: String? = nil, stealNanoseconds: Int64? = nil) {
        self.cpuTimeNanoseconds = cpuTimeNanoseconds
        self.at = at
        self.instance = instance
        self.stealNanoseconds = stealNanoseconds
    }

    /// Steal between `self` and a later `sample` as millicores (nil as for ``millicores(until:limit:)``).
    public func stealMillicores(until sample: CPUSample) -> Int64? {
        guard let start = stealNanoseconds, let end = sample.stealNanoseconds else { return nil }
        return CPUSample(cpuTimeNanoseconds: start, at: at, instance: instance)
            .millicores(until: CPUSample(cpuTimeNanoseconds: end, at: sample.at, instance: sample.instance))
    }

    /// Millicores used between `self` and a later `sample`, at most `limit` (nil when time did not advance, the
    /// counter went back, or it belongs to another domain instance). Never traps, whatever the two readings hold.
    public func millicores(until sample: CPUSample, limit: Int64 = .max) -> Int64? {
        let seconds = sample.at.timeIntervalSince(at)
        let (delta, overflow) = sample.cpuTimeNanoseconds.subtractingReportingOverflow(cpuTimeNanoseconds)
        guard seconds > 0, !overflow, delta >= 0, sample.instance == instance else { return nil }
        return Swift.min(limit, Int64(clamping: (Double(delta) / 1e9 / seconds * 1000).rounded()))
    }
}
