public import EMPModel
public import Foundation

/// The control plane's persistence seam: every read and write of pools, hosts, EVMs, migrations, join tokens
/// and events goes through one of these, inside a transaction.
///
/// A write transaction's body runs synchronously and either commits entirely or not at all; that is how a
/// placement and its host allocation stay consistent. Bodies must not do I/O other than through the
/// transaction handle, and must not capture the handle beyond the call.
///
/// - Note: Implementations are safe to use from many tasks; write transactions are serialized.
public protocol StateStore: Sendable {
    /// Runs `body` in a read-only transaction (a consistent snapshot).
    func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T
    /// Runs `body` in a write transaction; a thrown error rolls everything back.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T
    /// Returns `scope`'s revision as soon as it differs from `known`, or after `timeout` (the long poll behind
    /// the agents' desired-state watch).
    func waitForRevision(_ scope: String, differentFrom known: Int64, timeout: Duration) async throws -> Int64
    /// Long polls waiting now (tests use it to know one is waiting).
    var waiterCount: Int { get }
    /// Write transactions this store object has committed: a reader that cached what it read knows from this
    /// whether anything may have changed since (the autoscaler re-reads only then). Writes by another process are
    /// not counted.
    var commitCount: Int { get }
    /// Why writes fail right now (disk full, I/O error, read-only file), or nil when they work: tries a small write
    /// when the last one failed, so it clears by itself once the cause is gone.
    func writeFailure() async -> String?
    /// Ends every pending and future ``waitForRevision(_:differentFrom:timeout:)`` on scopes starting with `prefix`
    /// at once (shutdown: the agents' long polls answer with what they have instead of holding the process open).
    func endWaits(prefix: String)
    /// Records a report's heartbeat and usage (the host's `lastHeartbeat` and `used`, each EVM's `used` and
    /// `cpuSample`): every later read returns them. With `persisted` false they are written by the next
    /// ``flushSoftState(batch:evms:)``; true says the caller's own transaction already wrote them.
    func recordSoftState(host: EMPModel.Host, evms: [EVM], persisted: Bool)
    /// Hosts in `state` whose latest heartbeat is at or before `cutoff`, from memory (no host is read).
    func silentHosts(heartbeatAtOrBefore cutoff: Date, in state: HostState) -> [String]
    /// Writes the heartbeats and usage recorded in memory only, `batch` objects per transaction; returns how many.
    /// Hosts always; EVMs' usage only with `evms` (it is rebuilt by the next report and costs ten times as much).
    @discardableResult func flushSoftState(batch: Int, evms: Bool) async throws -> Int
}

/// What a transaction can read.
public protocol StoreReading {
    func pool(_ id: String) throws -> Pool?
    func pools() throws -> [Pool]
    func host(_ id: String) throws -> EMPModel.Host?
    func hosts(pool: String?) throws -> [EMPModel.Host]
    func evm(_ id: String) throws -> EVM?
    func evms(_ filter: EVMFilter) throws -> [EVM]
    /// At most `limit` matching EVMs with ids after `after`, by id: one page read without the rest.
    func evms(_ filter: EVMFilter, after: String?, limit: Int) throws -> [EVM]
    /// At most `limit` hosts (of `pool`, or all) with ids after `after`, by id.
    func hosts(pool: String?, after: String?, limit: Int) throws -> [EMPModel.Host]
    /// How many EVMs match, without reading them.
    func evmCount(_ filter: EVMFilter) throws -> Int
    /// How many EVMs each host of `pool` holds (hosts with none left out), in one query.
    func evmCountsByHost(pool: String) throws -> [String: Int]
    /// Whether an EVM with this id exists, without reading it.
    func evmExists(_ id: String) throws -> Bool
    func migration(_ id: String) throws -> Migration?
    func migrations(_ filter: MigrationFilter) throws -> [Migration]
    func joinToken(_ id: String) throws -> JoinToken?
    func joinTokens(pool: String?) throws -> [JoinToken]
    /// Host providers' launches, by id.
    func hostLaunches(pool: String?) throws -> [HostLaunch]
    func hostLaunch(_ id: String) throws -> HostLaunch?
    /// The launch whose join token is `joinToken` (the join route marks it joined).
    func hostLaunch(joinToken: String) throws -> HostLaunch?
    func credential(host: String) throws -> AgentCredential?
    /// The credential whose secret hashes to `secretHash` (one indexed lookup, whoever presents it).
    func credential(secretHash: String) throws -> AgentCredential?
    func events(_ filter: EventFilter) throws -> [Event]
    /// A counter bumped whenever `scope`'s desired state changes (agents long-poll on their host's).
    func revision(_ scope: String) throws -> Int64
    /// A pool's samples (one a minute) from `since` on, oldest first.
    func poolSamples(pool: String, since: Date) throws -> [PoolSample]
    /// A host's samples from `since` on, oldest first.
    func hostSamples(host: String, since: Date) throws -> [HostSample]
    /// The pool's newest sample (the running total) and the time of its first (when the total began).
    func latestPoolSample(pool: String) throws -> (latest: PoolSample, first: Date)?
}

/// What a write transaction can change. `save` inserts or replaces by id.
public protocol StoreWriting: StoreReading {
    func save(_ pool: Pool) throws
    /// Returns false when there was no such pool.
    @discardableResult func deletePool(_ id: String) throws -> Bool
    func save(_ host: EMPModel.Host) throws
    @discardableResult func deleteHost(_ id: String) throws -> Bool
    func save(_ evm: EVM) throws
    @discardableResult func deleteEVM(_ id: String) throws -> Bool
    func save(_ migration: Migration) throws
    func save(_ token: JoinToken) throws
    @discardableResult func deleteJoinToken(_ id: String) throws -> Bool
    func save(_ launch: HostLaunch) throws
    @discardableResult func deleteHostLaunch(_ id: String) throws -> Bool
    /// Replaces the host's credential (a host has at most one).
    func save(_ credential: AgentCredential) throws
    /// Appends an event and returns it with its assigned id.
    @discardableResult func append(_ event: Event) throws -> Event
    /// Increments `scope`'s revision and returns the new value.
    @discardableResult func bumpRevision(_ scope: String) throws -> Int64
    func save(_ sample: PoolSample) throws
    func save(_ sample: HostSample) throws
    /// Drops every host sample older than `cutoff`.
    @discardableResult func deleteHostSamples(before cutoff: Date) throws -> Int
    /// Drops every pool's samples older than `cutoff` except each pool's newest (the running total lives on).
    @discardableResult func deletePoolSamples(before cutoff: Date) throws -> Int
}

extension StateStore {
    /// Ready hosts whose latest heartbeat is at or before `cutoff`.
    public func silentHosts(heartbeatAtOrBefore cutoff: Date) -> [String] { silentHosts(heartbeatAtOrBefore: cutoff, in: .ready) }
}

extension StoreReading {
    /// Every pool's hosts.
    public func hosts() throws -> [EMPModel.Host] { try hosts(pool: nil) }
}

/// Which EVMs to list; nil fields match everything.
public struct EVMFilter: Sendable, Hashable {
    public var poolID: String?
    public var hostID: String?
    /// EVMs whose last migration left this host.
    public var previousHostID: String?
    public var phases: Set<EVMPhase>?

    public init(poolID: String? = nil, hostID: String? = nil, previousHostID: String? = nil, phases: Set<EVMPhase>? = nil) {
        self.poolID = poolID
        self.hostID = hostID
        self.previousHostID = previousHostID
        self.phases = phases
    }

    public static let all = EVMFilter()
}

/// Which migrations to list; nil fields match everything.
public struct MigrationFilter: Sendable, Hashable {
    public var evmID: String?
    public var hostID: String?
    public var states: Set<MigrationState>?

    public init(evmID: String? = nil, hostID: String? = nil, states: Set<MigrationState>? = nil) {
        self.evmID = evmID
        self.hostID = hostID
        self.states = states
    }

    public static let all = MigrationFilter()
}

/// Which events to list, oldest first.
public struct EventFilter: Sendable, Hashable {
    public var object: ObjectRef?
    /// Only events with an id greater than this.
    public var after: Int64?
    /// At most this many (the newest ones when more match).
    public var limit: Int

    public init(object: ObjectRef? = nil, after: Int64? = nil, limit: Int = 500) {
        self.object = object
        self.after = after
        self.limit = limit
    }
}

/// A store failure that is not the caller's bug: the database could not be opened, is corrupt, or is newer.
/// The store cannot write (or read) for a reason outside EMP: the disk is full, an I/O error, a read-only file.
/// The API answers 503 naming ``cause``; nothing was changed.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public let cause: String
    public init(_ cause: String) { self.cause = cause }
    public var description: String { "the store cannot write: \(cause)" }
}

public struct StoreError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
