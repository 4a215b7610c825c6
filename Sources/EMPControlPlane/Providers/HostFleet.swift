import AsyncHTTPClient
import Crypto
import EMPCloud
public import EMPModel
public import EMPStore
public import Foundation
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization

/// A pool's host provider and what to do with the machines it gives.
public struct PoolHostProvider: Sendable {
    public var machines: any MachineProvider
    /// A launched machine whose agent has not joined this long after the launch is terminated. Default 15 min.
    public var joinTimeout: TimeInterval = 900
    /// A launched host without EVMs this long is cordoned and terminated (while the pool is above `minHosts`).
    /// Default 10 min.
    public var emptyHostAfter: TimeInterval = 600
    public var userData: AgentUserData

    public init(machines: any MachineProvider, userData: AgentUserData) {
        self.machines = machines
        self.userData = userData
    }
}

/// Grows and shrinks pools whose hosts come from a provider (EC2, an operator's commands), and is the autoscaler's
/// ``HostProvider`` for them (other pools keep the static provider's `HostsRequested` event).
///
/// Every launch is a ``HostLaunch`` record written *before* the provider is called, with its own one-time join
/// token, whose secret is derived from the launch id and a key kept in the data directory, so a retried launch
/// renders the same user data and a restarted control plane neither forgets nor repeats a launch (EC2: the
/// client token and the launch tag). Each pass: launches not yet confirmed are found or made; machines are
/// described; a machine not joined within `joinTimeout` is terminated; a launched host empty for `emptyHostAfter`
/// while the pool is above `minHosts` is cordoned and terminated; a machine gone is removed from the store; a pool
/// below `minHosts` gets launches.
public struct HostFleet: Service, HostProvider {
    public let providers: [String: PoolHostProvider]
    let store: any StateStore
    let key: SymmetricKey
    let interval: Duration
    let clock: any EMPClock
    let logger: Logger
    let fallback = StaticHostProvider()
    /// Launches this process is asking a provider for right now: the loop and a scale-up never both ask for one.
    let attempting = Attempting()

    /// The ids in ``attempting``.
    final class Attempting: Sendable {
        let ids = Mutex<Set<String>>([])
        /// True when `id` was not claimed yet (and now is).
        func claim(_ id: String) -> Bool { ids.withLock { $0.insert(id).inserted } }
        func release(_ id: String) { _ = ids.withLock { $0.remove(id) } }
    }

    /// `keyHex`: the secret the join tokens' secrets are derived from (``HostFleet/loadOrCreateKey(in:)``).
    public init(
        providers: [String: PoolHostProvider], store: any StateStore, keyHex: String, interval: Duration = .seconds(15),
        clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.providers = providers
        self.store = store
        self.key = SymmetricKey(data: Data(keyHex.utf8))
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    /// The derivation key in `directory`/provider.key (mode 0600), created on first use.
    public static func loadOrCreateKey(in directory: String) throws -> String {
        let path = "\(directory)/provider.key"
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if key.count >= 32 { return key }
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = Secrets.random()
        guard FileManager.default.createFile(atPath: path, contents: Data((key + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError("cannot write \(path)")
        }
        return key
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.pass()
                try? await self.clock.sleep(for: self.interval)
            }
        }
    }

    // MARK: Scale out

    public func request(_ count: Int, for pool: Pool, store: any StateStore, at time: Date) async throws -> Int {
        guard let provider = providers[pool.id] else { return try await fallback.request(count, for: pool, store: store, at: time) }
        let launches = try await plan(count, for: pool, provider: provider, at: time)
        for launch in launches { await attempt(launch, provider: provider) }
        return launches.count
    }

    /// Records up to `count` new launches (fewer when launches in flight already cover the need, or `maxHosts`
    /// leaves no room), each with a join token; returns them.
    func plan(_ count: Int, for pool: Pool, provider: PoolHostProvider, at time: Date) async throws -> [HostLaunch] {
        let ttl = provider.joinTimeout + 300
        let kind = provider.machines.kind
        let placements = provider.machines.placements
        let (instanceType, lifecycle) = (provider.machines.instanceType, provider.machines.lifecycle)
        return try await store.write { tx in
            let hosts = try tx.hosts(pool: pool.id).count
            let open = try tx.hostLaunches(pool: pool.id).filter(\.isOpen)
            let inFlight = open.filter(\.isInFlight).count
            let room = pool.policy.maxHosts - hosts - inFlight
            let wanted = min(count - inFlight, room)
            guard wanted > 0 else {
                if room <= 0, count > inFlight {
                    try tx.appendOnce(
                        Event(
                            time: time, object: ObjectRef(.pool, pool.id), reason: "HostsRequested",
                            message:
                                "\(count) more hosts wanted but the pool is at maxHosts (\(hosts) hosts, \(inFlight) launching, at most \(pool.policy.maxHosts))",
                            type: .warning))
                }
                return []
            }
            var made: [HostLaunch] = []
            for _ in 0..<wanted {
                let id = "l-" + String(Secrets.random().prefix(12))
                let tokenID = String(Secrets.random().prefix(12))
                let token = JoinToken(
                    id: tokenID, poolID: pool.id, secretHash: Secrets.hash(Secrets.derived(key: key, from: id)),
                    expiresAt: time + ttl, createdAt: time)
                // Spread across placements: the one with the fewest open launches first.
                let used = Dictionary(grouping: open + made, by: { $0.subnet ?? "" }).mapValues(\.count)
                let subnet = placements.enumerated().min { (used[$0.element] ?? 0, $0.offset) < (used[$1.element] ?? 0, $1.offset) }?
                    .element
                let launch = HostLaunch(
                    id: id, poolID: pool.id, provider: kind, joinTokenID: tokenID, requestedAt: time, instanceType: instanceType,
                    lifecycle: lifecycle, subnet: subnet)
                try tx.save(token)
                try tx.save(launch)
                made.append(launch)
            }
            try tx.append(
                Event(
                    time: time, object: ObjectRef(.pool, pool.id), reason: "HostsRequested",
                    message:
                        "launching \(made.count) \(instanceType ?? "") host\(made.count == 1 ? "" : "s") through \(kind) (\(hosts) hosts, \(inFlight) already launching, at most \(pool.policy.maxHosts)): \(made.map(\.id).joined(separator: ", "))"
                ))
            return made
        }
    }

    /// Asks the provider for the launch's machine, trying each placement once from the launch's own on a capacity
    /// error; records the machine, or the error and when to try again, or the failure.
    func attempt(_ launch: HostLaunch, provider: PoolHostProvider) async {
        guard attempting.claim(launch.id) else { return }
        defer { attempting.release(launch.id) }
        await attemptClaimed(launch, provider: provider)
    }

    func attemptClaimed(_ launch: HostLaunch, provider: PoolHostProvider) async {
        let secret = Secrets.derived(key: key, from: launch.id)
        let token = "\(launch.joinTokenID).\(secret)"
        let userData = provider.userData.render(launchID: launch.id, poolID: launch.poolID, joinToken: token)
        let placements = provider.machines.placements
        let start = launch.subnet.flatMap { placements.firstIndex(of: $0) } ?? 0
        let order = placements.isEmpty ? [nil] : (0..<placements.count).map { Optional(placements[(start + $0) % placements.count]) }
        var failures: [String] = []
        for placement in order {
            let request = MachineOrder(
                launchID: launch.id, poolID: launch.poolID, placement: placement, userData: userData, joinToken: token)
            do throws(MachineFailure) {
                let machine = try await provider.machines.launch(request)
                await record(launch.id, machine: machine, recovered: false)
                return
            } catch {
                switch error {
                case .capacity(let message):
                    failures.append(message)
                    let next = order.last == placement ? "retrying later" : "trying the next subnet"
                    await note(launch.id, reason: "HostLaunchFailed", message: "\(message); \(next)", placement: placement, retry: false)
                case .retryLater(let message):
                    await note(
                        launch.id, reason: "HostLaunchFailed", message: "\(message); retrying later", placement: placement, retry: true)
                    return
                case .refused(let message):
                    await fail(launch.id, message: message)
                    return
                }
            }
        }
        await note(launch.id, reason: nil, message: failures.last ?? "no capacity", placement: launch.subnet, retry: true)
    }

    /// Backoff after the n-th failed attempt: 30 s doubling to 10 min.
    static func backoff(_ attempts: Int) -> TimeInterval { min(600, 30 * pow(2, Double(max(0, attempts - 1)))) }

    func record(_ id: String, machine: Machine, recovered: Bool) async {
        let time = clock.date
        do {
            let kind = try await store.write { tx -> String? in
                guard var launch = try tx.hostLaunch(id), launch.state == .requested else { return nil }
                launch.state = .launched
                launch.machineID = machine.id
                launch.machineState = machine.state
                launch.zone = machine.zone ?? launch.zone
                launch.subnet = machine.placement ?? launch.subnet
                launch.instanceType = machine.instanceType ?? launch.instanceType
                if machine.spot { launch.lifecycle = .spot }
                launch.launchedAt = time
                launch.attempts += 1
                launch.nextAttemptAt = nil
                try tx.save(launch)
                let place = [launch.instanceType, launch.zone, launch.lifecycle == .spot ? "spot" : "on-demand"].compactMap { $0 }
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, launch.poolID), reason: "HostLaunched",
                        message:
                            "\(machine.id) (\(place.joined(separator: ", "))) for launch \(id)\(recovered ? ", found after a restart" : ""); waiting for its agent to join"
                    ))
                return launch.provider
            }
            if let kind { Counter(label: "emp_hosts_launched_total", dimensions: [("provider", kind)]).increment() }
            logger.info("host launched", metadata: ["launch": "\(id)", "machine": "\(machine.id)"])
        } catch {
            logger.error(
                "could not record a launched machine", metadata: ["launch": "\(id)", "machine": "\(machine.id)", "error": "\(error)"])
        }
    }

    func note(_ id: String, reason: String?, message: String, placement: String?, retry: Bool) async {
        let time = clock.date
        _ = try? await store.write { tx in
            guard var launch = try tx.hostLaunch(id) else { return }
            launch.lastError = message
            if retry {
                launch.attempts += 1
                launch.nextAttemptAt = time + Self.backoff(launch.attempts)
            }
            if let placement { launch.subnet = placement }
            try tx.save(launch)
            if let reason {
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, launch.poolID), reason: reason, message: "launch \(id): \(message)",
                        type: .warning))
            }
        }
        logger.warning("host launch failed", metadata: ["launch": "\(id)", "error": "\(message)"])
    }

    func fail(_ id: String, message: String) async {
        let time = clock.date
        _ = try? await store.write { tx in
            try Self.end(
                tx, launch: id, as: .failed, at: time, error: message, reason: "HostLaunchFailed",
                message: "launch \(id) failed and will not be retried: \(message)", type: .warning)
        }
        logger.error("host launch refused", metadata: ["launch": "\(id)", "error": "\(message)"])
    }

    // MARK: The pass

    /// One round of bookkeeping for every pool with a provider.
    public func pass() async {
        for (poolID, provider) in providers.sorted(by: { $0.key < $1.key }) {
            do {
                try await pass(poolID, provider: provider)
            } catch {
                logger.error("host provider pass failed", metadata: ["pool": "\(poolID)", "error": "\(error)"])
            }
        }
    }

    func pass(_ poolID: String, provider: PoolHostProvider) async throws {
        let time = clock.date
        let (pool, launches, hosts, counts) = try await store.read { tx in
            (
                try tx.pool(poolID), try tx.hostLaunches(pool: poolID).filter(\.isOpen), try tx.hosts(pool: poolID),
                try tx.evmCountsByHost(pool: poolID)
            )
        }
        guard let pool else { return }
        // Launches not confirmed: a machine made before a restart is found, else the launch is (re)made.
        for launch in launches where launch.state == .requested && launch.nextAttemptAt.map({ $0 <= time }) ?? true {
            guard attempting.claim(launch.id) else { continue }  // a scale-up is launching it now
            defer { attempting.release(launch.id) }
            do {
                if let machine = try await provider.machines.find(launchID: launch.id) {
                    await record(launch.id, machine: machine, recovered: true)
                    continue
                }
            } catch {
                await note(launch.id, reason: nil, message: "\(error)", placement: nil, retry: true)
                continue
            }
            await attemptClaimed(launch, provider: provider)
        }
        let watched = launches.filter { $0.state != .requested }.compactMap(\.machineID)
        let machines: [String: Machine]
        do {
            machines = try await provider.machines.describe(watched)
        } catch {
            logger.warning("could not describe machines", metadata: ["pool": "\(poolID)", "error": "\(error)"])
            return
        }
        let hostsByID = Dictionary(hosts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        // Hosts that stay: those of launches being released do not (a launch that never joined has no host).
        var remaining = hosts.count - launches.filter { $0.state == .releasing && $0.hostID.map { hostsByID[$0] != nil } == true }.count
        for launch in launches where launch.state != .requested {
            guard let machineID = launch.machineID else { continue }
            let machine = machines[machineID]
            let gone = machine == nil || machine?.isGone == true
            switch launch.state {
            case .launched:
                if gone {
                    try await close(launch, reason: "HostReleased", message: "\(machineID) is gone before its agent joined", at: time)
                } else if time.timeIntervalSince(launch.launchedAt ?? launch.requestedAt) >= provider.joinTimeout {
                    try await release(
                        launch, provider: provider, reason: "HostJoinTimedOut", metric: "join_timeout",
                        message:
                            "\(machineID) has not joined \(Int(provider.joinTimeout)) s after its launch; terminating it and revoking its join token",
                        at: time)
                }
                try await refresh(launch, machine: machine, host: nil)
            case .joined:
                let host = launch.hostID.flatMap { hostsByID[$0] }
                if gone {
                    if let host, (counts[host.id] ?? 0) > 0 { continue }  // host loss writes its EVMs off first
                    try await close(
                        launch, reason: "HostRemoved",
                        message: "\(machineID) is gone (\(machine?.state ?? "unknown to the provider")); host record removed", at: time)
                    remaining -= 1
                    continue
                }
                try await refresh(launch, machine: machine, host: host)
                guard let host else { continue }
                let empty = (counts[host.id] ?? 0) == 0
                let since = empty ? (launch.emptySince ?? time) : nil
                if since != launch.emptySince { try await setEmptySince(launch.id, since) }
                if let since, time.timeIntervalSince(since) >= provider.emptyHostAfter, remaining > pool.policy.minHosts {
                    if try await releaseEmpty(launch, host: host.id, provider: provider, at: time) { remaining -= 1 }
                }
            case .releasing:
                if gone {
                    try await close(launch, reason: "HostRemoved", message: "\(machineID) terminated; host record removed", at: time)
                } else {
                    do {
                        try await provider.machines.terminate(machineID, launchID: launch.id)
                    } catch {
                        logger.warning("terminate failed; retrying", metadata: ["machine": "\(machineID)", "error": "\(error)"])
                    }
                    try await refresh(launch, machine: machine, host: nil)
                }
            case .requested, .released, .failed:
                continue
            }
        }
        // The floor: minHosts counts hosts not being released and launches in flight.
        let inFlight = launches.filter(\.isInFlight).count
        if remaining + inFlight < pool.policy.minHosts {
            _ = try await request(pool.policy.minHosts - remaining, for: pool, store: store, at: time)
        }
        try await prune(before: time - 7 * 86_400)
    }

    /// Keeps the launch's and its host's view of the machine current.
    func refresh(_ launch: HostLaunch, machine: Machine?, host: EMPModel.Host?) async throws {
        guard let machine, machine.state != launch.machineState || (host != nil && host?.provider?.machineState != machine.state) else {
            return
        }
        try await store.write { tx in
            guard var current = try tx.hostLaunch(launch.id) else { return }
            current.machineState = machine.state
            current.zone = machine.zone ?? current.zone
            try tx.save(current)
            if let hostID = current.hostID, var host = try tx.host(hostID) {
                host.provider = Self.info(current)
                try tx.save(host)
            }
        }
    }

    func setEmptySince(_ id: String, _ since: Date?) async throws {
        try await store.write { tx in
            guard var launch = try tx.hostLaunch(id) else { return }
            launch.emptySince = since
            try tx.save(launch)
        }
    }

    /// Cordons the host if it still has no EVM (in the transaction that decides, so no placement slips in), then
    /// terminates the machine. Returns false when an EVM arrived.
    func releaseEmpty(_ launch: HostLaunch, host hostID: String, provider: PoolHostProvider, at time: Date) async throws -> Bool {
        let emptyFor = Int(time.timeIntervalSince(launch.emptySince ?? time))
        let cordoned = try await store.write { tx -> Bool in
            guard (try tx.evmCountsByHost(pool: launch.poolID)[hostID] ?? 0) == 0, var host = try tx.host(hostID) else { return false }
            guard try tx.migrations(MigrationFilter()).allSatisfy({ !$0.state.isActive || ($0.to != hostID && $0.from != hostID) }) else {
                return false
            }
            host.cordoned = true
            try tx.save(host)
            try tx.bumpRevision(HostRevision.scope(hostID))
            return true
        }
        guard cordoned else { return false }
        try await release(
            launch, provider: provider, reason: "HostReleased", metric: "empty",
            message: "host \(hostID) (\(launch.machineID ?? "?")) empty for \(emptyFor) s; cordoned and terminated", at: time)
        return true
    }

    /// Terminates the launch's machine and marks the launch releasing (its join token revoked).
    func release(_ launch: HostLaunch, provider: PoolHostProvider, reason: String, metric: String, message: String, at time: Date)
        async throws
    {
        guard let machineID = launch.machineID else { return }
        let failure: String?
        do {
            try await provider.machines.terminate(machineID, launchID: launch.id)
            failure = nil
        } catch {
            failure = "\(error)"
        }
        _ = try await store.write { tx in
            try Self.end(
                tx, launch: launch.id, as: .releasing, at: time, error: failure, reason: reason,
                message: message + (failure.map { "; terminate failed, retrying: \($0)" } ?? ""),
                type: reason == "HostReleased" ? .normal : .warning)
        }
        Counter(label: "emp_hosts_terminated_total", dimensions: [("provider", provider.machines.kind), ("reason", metric)]).increment()
        logger.info("host released", metadata: ["launch": "\(launch.id)", "machine": "\(machineID)", "reason": "\(metric)"])
    }

    /// The machine is gone: the launch is released and its host (without EVMs) and credential removed.
    func close(_ launch: HostLaunch, reason: String, message: String, at time: Date) async throws {
        try await store.write { tx in
            guard let ended = try Self.end(tx, launch: launch.id, as: .released, at: time, reason: reason, message: message) else { return }
            if let hostID = ended.hostID, try tx.host(hostID) != nil {
                try tx.deleteHost(hostID)  // and its credential
                try tx.bumpRevision(HostRevision.scope(hostID))
            }
        }
    }

    func prune(before cutoff: Date) async throws {
        try await store.write { tx in
            for launch in try tx.hostLaunches(pool: nil) where !launch.isOpen && (launch.releasedAt ?? launch.requestedAt) < cutoff {
                try tx.deleteHostLaunch(launch.id)
            }
        }
    }

    // MARK: Helpers

    /// Moves a launch to `state` (failed, releasing, released) with its error, revokes its join token, records the
    /// event; returns the launch, nil when it is gone.
    @discardableResult
    static func end(
        _ tx: any StoreWriting, launch id: String, as state: HostLaunchState, at time: Date, error: String? = nil, reason: String,
        message: String, type: EventType = .normal
    ) throws -> HostLaunch? {
        guard var launch = try tx.hostLaunch(id) else { return nil }
        launch.state = state
        launch.releasedAt = launch.releasedAt ?? time
        if state == .released { launch.machineState = "terminated" } else { launch.lastError = error }
        try tx.save(launch)
        try revoke(tx, token: launch.joinTokenID)
        try tx.append(Event(time: time, object: ObjectRef(.pool, launch.poolID), reason: reason, message: message, type: type))
        return launch
    }

    static func revoke(_ tx: any StoreWriting, token id: String) throws {
        guard var token = try tx.joinToken(id), !token.revoked, token.usedByHost == nil else { return }
        token.revoked = true
        try tx.save(token)
    }

    /// What a host shows of its launch.
    static func info(_ launch: HostLaunch) -> HostProviderInfo {
        HostProviderInfo(
            provider: launch.provider, launchID: launch.id, machineID: launch.machineID, machineState: launch.machineState,
            instanceType: launch.instanceType, lifecycle: launch.lifecycle, zone: launch.zone)
    }
}

extension HostFleet {
    /// Called by the join route inside its transaction: the launch whose token `token` is becomes joined, and the
    /// host carries the provider's view. Returns seconds from launch to join, for the metric.
    static func noteJoin(_ tx: any StoreWriting, token: String, host: inout EMPModel.Host, at time: Date) throws -> Double? {
        guard var launch = try tx.hostLaunch(joinToken: token), launch.isOpen else { return nil }
        launch.state = .joined
        launch.hostID = host.id
        launch.joinedAt = time
        try tx.save(launch)
        host.provider = info(launch)
        let seconds = time.timeIntervalSince(launch.launchedAt ?? launch.requestedAt)
        try tx.append(
            Event(
                time: time, object: ObjectRef(.pool, launch.poolID), reason: "HostJoined",
                message: "\(launch.machineID ?? launch.id) joined as host \(host.id) \(Int(seconds)) s after its launch"))
        return seconds
    }
}

extension HostFleet {
    /// The fleet for the configured host providers; nil when no pool has one. EC2 credentials come from the
    /// environment, the shared credentials file (the section's `profile`) and the instance metadata service.
    public static func build(_ configuration: ControlPlaneConfiguration, store: any StateStore, clock: any EMPClock) throws -> HostFleet? {
        guard !configuration.hostProviders.isEmpty else { return nil }
        var providers: [String: PoolHostProvider] = [:]
        for (pool, settings) in configuration.hostProviders {
            let machines: any MachineProvider
            switch settings.kind {
            case .ec2(let ec2):
                let credentials = AWSCredentialChain.standard(profile: ec2.profile, client: .shared, clock: clock)
                let client = EC2Client(region: ec2.region, endpoint: ec2.endpoint, credentials: credentials, client: .shared, clock: clock)
                machines = EC2Machines(settings: ec2, client: client)
            case .command(let command):
                machines = CommandMachines(settings: command, poolID: pool)
            }
            var provider = PoolHostProvider(machines: machines, userData: settings.userData)
            provider.joinTimeout = settings.joinTimeout
            provider.emptyHostAfter = settings.emptyHostAfter
            providers[pool] = provider
        }
        return HostFleet(
            providers: providers, store: store, keyHex: try loadOrCreateKey(in: configuration.dataDirectory),
            interval: configuration.hostProviderInterval, clock: clock, logger: Logger(label: "emp-control-plane.hosts"))
    }
}
