public import EMPModel
public import Libvirt

/// What the agent must do to make libvirt match the desired EVM set: pure, so it is tested with values.
///
/// Rules: a desired EVM (not `deleting`) with no domain is defined and started; one whose domain is stopped
/// is started; a domain carrying EMP metadata whose EVM is not desired, or is `deleting`, is destroyed and
/// undefined; a domain without EMP metadata is never touched. Migrations: a `migrating` EVM is neither created
/// nor started here (its domain may be on its way out), and an incoming EVM's domain is never removed (libvirt is
/// bringing it in). A `lost` EVM is not desired (its host was written off; a returned host destroys it). A paused
/// warm EVM whose kubelet has joined (``EVM/wantsSuspended``) is suspended; any other desired EVM whose domain is
/// suspended is resumed (a claimed warm EVM). A `saved` warm EVM whose kubelet has joined is written to disk (managed
/// save) and not started again until it is claimed (starting restores it). Applying a plan twice is the same as once.
public struct ReconcilePlan: Sendable, Hashable {
    /// EVMs to define (from their spec) and start.
    public var create: [EVM]
    /// Domains (by name) that exist but are stopped and should run.
    public var start: [String]
    /// Domains (by name) to destroy if running and undefine.
    public var remove: [String]
    /// Running domains to suspend (paused warm EVMs).
    public var suspend: [String]
    /// Suspended domains to resume.
    public var resume: [String]
    /// Running domains to write to disk (libvirt managed save).
    public var save: [String]

    public var isEmpty: Bool {
        create.isEmpty && start.isEmpty && remove.isEmpty && suspend.isEmpty && resume.isEmpty && save.isEmpty
    }

    /// A domain as the agent observed it.
    public struct Observed: Sendable, Hashable {
        public var name: String
        public var metadata: EVMMetadata?
        public var active: Bool
        /// Suspended (`virDomainSuspend`), still active.
        public var paused: Bool

        public init(name: String, metadata: EVMMetadata?, active: Bool, paused: Bool = false) {
            self.name = name
            self.metadata = metadata
            self.active = active
            self.paused = paused
        }
    }

    /// Compares `desired` (this host's EVMs from the control plane) with `observed` (libvirt's domains).
    public init(desired: [EVM], observed: [Observed], incoming: Set<String> = []) {
        let wanted = Dictionary(
            desired.filter { $0.phase != .deleting && $0.phase != .lost }.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let present = Dictionary(observed.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        create = wanted.values.filter { present[$0.id] == nil && $0.phase != .migrating }.sorted { $0.id < $1.id }
        start = wanted.keys.filter {
            present[$0]?.active == false && wanted[$0]?.phase != .migrating && wanted[$0]?.hold != .saved
        }.sorted()
        remove = observed.filter { domain in
            guard let metadata = domain.metadata else { return false }  // not ours: leave it alone
            return wanted[metadata.evmID] == nil && !incoming.contains(metadata.evmID)
        }.map(\.name).sorted()
        // A migrating domain is left as libvirt has it (the source pauses it at the end of a migration).
        let settled = wanted.values.filter { $0.phase != .migrating && present[$0.id]?.active == true }
        suspend = settled.filter { $0.wantsSuspended && present[$0.id]?.paused == false }.map(\.id).sorted()
        resume = settled.filter { !$0.wantsSuspended && $0.hold != .saved && present[$0.id]?.paused == true }.map(\.id).sorted()
        save = settled.filter { $0.hold == .saved }.map(\.id).sorted()
    }
}
