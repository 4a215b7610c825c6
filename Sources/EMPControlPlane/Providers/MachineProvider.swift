public import EMPModel
import Foundation

/// What one launch asks a provider for.
public struct MachineOrder: Sendable {
    /// The launch's id: the idempotency key (a repeated order with the same id must not make a second machine).
    public var launchID: String
    public var poolID: String
    /// Where to put it (an EC2 subnet); nil when the provider has no choice to make.
    public var placement: String?
    /// The cloud-init document that installs and starts `emp-agent` with the launch's join token.
    public var userData: String
    /// `ID.SECRET`, also inside `userData`; for providers that hand it to their own tooling.
    public var joinToken: String
}

/// A machine as the provider reports it.
public struct Machine: Sendable, Equatable {
    public var id: String
    public var state: String
    public var instanceType: String?
    public var zone: String?
    public var placement: String?
    public var spot: Bool
    /// True once the provider says the machine is gone or going for good.
    public var isGone: Bool

    public init(
        id: String, state: String, instanceType: String? = nil, zone: String? = nil, placement: String? = nil, spot: Bool = false,
        isGone: Bool = false
    ) {
        self.id = id
        self.state = state
        self.instanceType = instanceType
        self.zone = zone
        self.placement = placement
        self.spot = spot
        self.isGone = isGone
    }
}

/// Why a provider could not do what it was asked, sorted by what the bookkeeping does next.
public enum MachineFailure: Error, Sendable, CustomStringConvertible {
    /// No capacity there: try the next placement, then later.
    case capacity(String)
    /// Throttled, a timeout, the provider's own fault: the same request later.
    case retryLater(String)
    /// A person must act (permissions, a bad AMI, a script that answers garbage): the launch fails with this.
    case refused(String)

    public var description: String {
        switch self {
        case .capacity(let message), .retryLater(let message), .refused(let message): message
        }
    }
}

/// Where bare-metal machines come from for a pool: EC2 (``EC2Machines``) or the operator's commands
/// (``CommandMachines``). ``HostFleet`` does the bookkeeping around it — records, join tokens, timeouts, scale-in —
/// the same for every provider.
public protocol MachineProvider: Sendable {
    /// `ec2` or `command`: shown with each host and in metrics.
    var kind: String { get }
    /// Placements to try in order (EC2 subnets, spread across zones); empty when the provider decides.
    var placements: [String] { get }
    /// What it launches, when it knows (for the cost view).
    var instanceType: String? { get }
    var lifecycle: HostLifecycle { get }
    /// Launches one machine for `order`.
    func launch(_ order: MachineOrder) async throws(MachineFailure) -> Machine
    /// The machine an earlier `launch` of `launchID` made, if any (a control plane that died before recording it).
    func find(launchID: String) async throws(MachineFailure) -> Machine?
    /// The current state of these machines; a machine the provider no longer knows is absent from the answer.
    func describe(_ ids: [String]) async throws(MachineFailure) -> [String: Machine]
    /// Gives the machine back; done when it returns (the machine may still be shutting down).
    func terminate(_ id: String, launchID: String) async throws(MachineFailure)
}
