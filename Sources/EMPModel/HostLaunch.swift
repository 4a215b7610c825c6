public import Foundation

/// A machine a host provider (EC2, an operator's command) was asked for, tracked from the decision until it has
/// joined and, later, been given back: a restarted control plane neither forgets a launch nor repeats it, and
/// scale-in knows which hosts it may terminate.
public struct HostLaunch: Sendable, Hashable, Codable, Identifiable {
    /// Also the idempotency key the provider is given (EC2's `ClientToken`, the command's `launchID`).
    public var id: String
    public var poolID: String
    /// `ec2` or `command`.
    public var provider: String
    public var state: HostLaunchState
    /// The provider's id for the machine (`i-0abc…`), once known.
    public var machineID: String?
    /// The provider's own word for the machine's state (`pending`, `running`, `terminated`).
    public var machineState: String?
    public var instanceType: String?
    public var lifecycle: HostLifecycle
    public var zone: String?
    /// The subnet (or other placement) this launch uses; kept so a retried launch asks for the same.
    public var subnet: String?
    /// The one-time join token created for this launch (its secret is in the user data, never stored).
    public var joinTokenID: String
    /// The host that joined with that token.
    public var hostID: String?
    public var requestedAt: Date
    public var launchedAt: Date?
    public var joinedAt: Date?
    /// When the joined host was first seen without EVMs (scale-in's timer); nil while it has some.
    public var emptySince: Date?
    /// When the machine was asked to go (scale-in, join timeout, an operator).
    public var releasedAt: Date?
    /// Launch attempts so far and when the next may be made (after a capacity or throttling error).
    public var attempts: Int
    public var nextAttemptAt: Date?
    /// The last thing that went wrong, as the provider said it.
    public var lastError: String?

    public init(
        id: String, poolID: String, provider: String, joinTokenID: String, requestedAt: Date, instanceType: String? = nil,
        lifecycle: HostLifecycle = .onDemand, subnet: String? = nil
    ) {
        self.id = id
        self.poolID = poolID
        self.provider = provider
        self.state = .requested
        self.joinTokenID = joinTokenID
        self.requestedAt = requestedAt
        self.instanceType = instanceType
        self.lifecycle = lifecycle
        self.subnet = subnet
        self.attempts = 0
    }

    /// True while the launch is expected to become a host (counts as coming capacity).
    public var isInFlight: Bool { state == .requested || state == .launched }
    /// True until the machine is gone.
    public var isOpen: Bool { state != .released && state != .failed }
}

/// Where a launch stands.
public enum HostLaunchState: String, Sendable, Hashable, Codable, CaseIterable {
    /// Decided and recorded; the provider has not confirmed a machine yet.
    case requested
    /// The provider has a machine; its agent has not joined.
    case launched
    /// Its agent joined: it is a host of the pool.
    case joined
    /// Asked to go (empty, join timeout, gone); waiting for the provider to confirm.
    case releasing
    /// Gone; kept for the record.
    case released
    /// The provider refused for good (bad AMI, no permission); kept with the error.
    case failed
}

/// How a host is bought, for the cost view.
public enum HostLifecycle: String, Sendable, Hashable, Codable {
    case onDemand
    case spot
}
