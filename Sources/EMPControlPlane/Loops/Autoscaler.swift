public import EMPModel
import EMPScheduling
public import EMPStore
import Foundation
public import Kube
public import Logging
import Metrics
public import ServiceLifecycle

/// Adds EVMs when pods are Pending, keeps each pool's floor (minEVMs and warm EVMs, raised by active schedules),
/// replaces EVMs that never boot and those written off with a lost host, and removes EVMs whose node has been
/// empty for a while.
///
/// Informers keep Pods and EVM Nodes in memory. Every tick the autoscaler reads them: a batch of unschedulable
/// pods is decided once no new one has appeared for ``Settings/idleWindow`` (or ``Settings/maxWindow`` after the
/// first); ``PodPacker`` says how many EVMs each pool needs (booting EVMs count as room, so the same pods never
/// trigger twice); warm EVMs are claimed first and ``EVMPlacement`` creates and places the rest. Pods no EVM could
/// run get one Event saying why.
/// An EVM whose node has only DaemonSet or mirror pods for ``Settings/emptyAfter`` is cordoned, drained through
/// the eviction API, its Node deleted and the EVM destroyed — never below the pool's minimum and never while the
/// pool has pending pods.
public struct Autoscaler: Service {
    /// Timings and reserved resources; defaults are DESIGN.md's.
    public struct Settings: Sendable {
        /// Decide once no new pending pod appeared for this long. Default 1 s.
        public var idleWindow: Duration = .seconds(1)
        /// Decide at the latest this long after the first pending pod. Default 10 s.
        public var maxWindow: Duration = .seconds(10)
        /// Remove an EVM whose node has been empty this long. Default 30 s.
        public var emptyAfter: Duration = .seconds(30)
        /// What the kubelet keeps from pods on each EVM: kube + system reserved + the eviction threshold.
        /// Default 100m CPU and 1124Mi (kubeadm's 1Gi kube-reserved + 100Mi `memory.available`).
        public var reserved = EMPModel.Resources(cpuMillis: 100, memoryBytes: 1124 << 20)
        /// How often the cluster is read. Default 250 ms.
        public var tick: Duration = .milliseconds(250)
        /// An EVM whose Node is not Ready this long after creation is replaced. Default 10 min.
        public var bootTimeout: Duration = .seconds(600)
        /// After a failed attempt to restore a pool's floor, wait this long before the next. Default 2 s.
        public var floorRetry: Duration = .seconds(2)
        /// A tick does nothing when no pod, EVM node or stored object changed and no timer of its own is due; a
        /// full pass runs at least this often anyway (boot timeouts, schedules). Default 5 s.
        public var fullPassEvery: Duration = .seconds(5)
        public init() {}
    }

    let client: KubeClient
    let store: any StateStore
    let placement: EVMPlacement
    let settings: Settings
    let provider: any HostProvider
    /// Where the pods waiting for an EVM are shown (the console).
    let pendingBoard: PendingBoard
    /// Ticks, the batch window and the empty-node timer run on this clock; events take their dates from it.
    let clock: any EMPClock
    let logger: Logger

    init(
        client: KubeClient, store: any StateStore, placement: EVMPlacement, settings: Settings,
        provider: any HostProvider = StaticHostProvider(), pending: PendingBoard = PendingBoard(), clock: any EMPClock, logger: Logger
    ) {
        self.pendingBoard = pending
        self.client = client
        self.store = store
        self.placement = placement
        self.settings = settings
        self.provider = provider
        self.clock = clock
        self.logger = logger
    }

    func now() -> Date { clock.date }

    /// An autoscaler over `store` for the cluster `client` reaches (embedding and benchmarks; the control plane
    /// builds its own from the configuration).
    public init(
        client: KubeClient, store: any StateStore, settings: Settings, expectedUseFraction: Double = 0.25,
        provider: any HostProvider = StaticHostProvider(), clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.init(
            client: client, store: store, placement: EVMPlacement(store: store, expectedUseFraction: expectedUseFraction),
            settings: settings, provider: provider, clock: clock, logger: logger)
    }

    public func run() async throws {
        let pods = Informer(client.resources(Pod.self), logger: logger)
        let nodes = Informer(client.resources(Node.self), labelSelector: "\(Profile.ownedLabel)=\(Profile.ownedValue)", logger: logger)
        // Subscribed before the first list: the events after it are applied over the listed pods (in order, so a pod
        // deleted after the list goes too).
        let events = await pods.subscribe()
        let index = SharedPodIndex()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await pods.run() }
                group.addTask { await nodes.run() }
                group.addTask { for await event in events { index.apply(event) } }
                group.addTask {
                    await pods.waitUntilSynced()
                    await nodes.waitUntilSynced()
                    index.seed(await pods.items)
                    var state = LoopState()
                    while !Task.isCancelled {
                        await self.tick(pods: index, nodes: nodes, state: &state)
                        try? await self.clock.sleep(for: self.settings.tick)
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// What the loop remembers between ticks.
    struct LoopState {
        /// The batch window and the empty-node timers (``EMPClock/uptime`` readings), shared with the simulator;
        /// their durations are set from ``Settings`` at each pass.
        var timers = ScalingTimers(idleWindow: .seconds(1), maxWindow: .seconds(10), emptyAfter: .seconds(30))
        var reported: Set<String> = []
        /// The last shortage logged per pool, so it is logged once.
        var shortage: [String: String] = [:]
        /// Per pool, no floor restoration before this reading (after a failure).
        var floorRetryAt: [String: Duration] = [:]
        /// The schedules active at the last pass per pool, so each activation and end is logged once.
        var activeSchedules: [String: [String]] = [:]
        /// What the last pass read, with the change counters it was read at (``Informer/changes``,
        /// ``StateStore/commitCount``): a tick re-reads only what moved, and does nothing when nothing did.
        var podChanges: Int?
        var nodes: (changes: Int, items: [Node])?
        var stored: (commits: Int, pools: [Pool], evms: [EVM], hosts: [EMPModel.Host])?
        /// When the last pass ran, and when a timer of its own (batch window, empty node, floor retry) is next due.
        var lastPass: Duration?
        var wakeAt: Duration?
    }

    /// One tick: a pass when something changed, a timer is due or ``Settings/fullPassEvery`` has gone by; else
    /// nothing (no copy of the informers' caches, no store read).
    func tick(pods: SharedPodIndex, nodes: Informer<Node>, state: inout LoopState) async {
        let (podChanges, nodeChanges, commits) = (pods.changes, await nodes.changes, store.commitCount)
        let uptime = clock.uptime
        let changed = state.podChanges != podChanges || state.nodes?.changes != nodeChanges || state.stored?.commits != commits
        let due = state.wakeAt.map { uptime >= $0 } ?? false
        let periodic = state.lastPass.map { uptime - $0 >= settings.fullPassEvery } ?? true
        guard changed || due || periodic else {
            Counter(label: "emp_autoscaler_ticks_total", dimensions: [("pass", "skipped")]).increment()
            return
        }
        Counter(label: "emp_autoscaler_ticks_total", dimensions: [("pass", "run")]).increment()
        if state.nodes?.changes != nodeChanges { state.nodes = (nodeChanges, await nodes.items) }
        state.podChanges = podChanges
        state.lastPass = uptime
        let nodeList = state.nodes?.items ?? []
        let reading = pods.reading(nodes: nodeList.map(\.name))
        await pass(candidates: reading.candidates, bound: reading.bound, nodes: nodeList, state: &state)
        // The next timer of its own: every tick while a batch forms; an empty node's removal; a floor retry.
        var wake = state.timers.nextDue(after: uptime).map { [$0] } ?? []
        wake += state.floorRetryAt.values.filter { $0 > uptime }
        state.wakeAt = wake.min()
    }

    /// One pass over `pods` as a list (tests that drive passes themselves).
    func pass(pods: [Pod], nodes: [Node], state: inout LoopState) async {
        let reading = PodIndex(pods).reading(nodes: nodes.map(\.name))
        await pass(candidates: reading.candidates, bound: reading.bound, nodes: nodes, state: &state)
    }

    /// One pass: `candidates` are the pods a scale-up may be for, `bound` the pods on each EVM node.
    func pass(candidates: [Pod], bound: [String: [Pod]], nodes: [Node], state: inout LoopState) async {
        do {
            // Stored objects are read again only after a commit (the count is taken first, so a commit during the
            // read makes the next tick read again).
            let commits = store.commitCount
            let (pools, stored, hosts): ([Pool], [EVM], [EMPModel.Host])
            if let cached = state.stored, cached.commits == commits {
                (pools, stored, hosts) = (cached.pools, cached.evms, cached.hosts)
            } else {
                (pools, stored, hosts) = try await store.read { tx in (try tx.pools(), try tx.evms(EVMFilter()), try tx.hosts()) }
                state.stored = (commits, pools, stored, hosts)
            }
            let time = now()
            let readyHosts = Set(hosts.filter { $0.state == .ready }.map(\.id))
            let nodesByName = Dictionary(nodes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
            var evms = try await noteReadyNodes(stored, nodes: nodesByName, at: time)
            evms = try await replaceStuck(evms, nodes: nodesByName, readyHosts: readyHosts, at: time)
            await releaseLostNodes(evms, nodes: nodesByName)
            let views = pools.map { pool in
                ClusterView(
                    pool: pool, candidates: candidates, bound: bound, nodes: nodes, evms: evms.filter { $0.poolID == pool.id },
                    reserved: settings.reserved,
                    readyHosts: readyHosts, now: time, bootTimeout: settings.bootTimeout.timeInterval)
            }
            let pending = Set(views.flatMap { $0.unschedulable.map(\.metadata.uid) }.compactMap { $0 })
            for view in views {
                pendingBoard.set(
                    pool: view.pool.id, pods: view.unschedulable.map { "\($0.metadata.namespace ?? "default")/\($0.metadata.name ?? "?")" })
            }
            Gauge(label: "emp_autoscaler_pending_candidates").record(pending.count)
            let uptime = clock.uptime
            state.timers.idleWindow = settings.idleWindow
            state.timers.maxWindow = settings.maxWindow
            state.timers.emptyAfter = settings.emptyAfter
            var decided = false
            if state.timers.observe(pending: pending, at: uptime) {
                let started = ContinuousClock.now
                for view in views { try await scaleUp(view, state: &state) }
                Metrics.Timer(label: "emp_autoscaler_decision_seconds").record(duration: ContinuousClock.now - started)
                state.timers.decided()
                decided = true
            }
            for view in views {
                let floor = CapacityCalendar.floor(view.pool.policy, at: time)
                try await noteSchedules(view.pool, floor: floor, state: &state)
                // Right after a scale-up the view is stale: the floor is looked at again next pass.
                if !decided { try await keepFloor(view, floor: floor, state: &state, uptime: uptime) }
                guard view.unschedulable.isEmpty else { continue }
                if view.pool.policy.headroom != nil { try await scaleUp(view, state: &state) }
                try await scaleDown(view, floor: floor, state: &state, uptime: uptime)
            }
        } catch {
            logger.error("autoscaler pass failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Boot and loss

    /// Records when each EVM's Node is first seen Ready (the provisioning timeline, the boot timeout, and the
    /// moment a paused warm EVM may be suspended: its host's agent is woken). Returns `evms` updated.
    func noteReadyNodes(_ evms: [EVM], nodes: [String: Node], at time: Date) async throws -> [EVM] {
        let joined = Set(evms.filter { $0.isLive && $0.nodeReadyAt == nil && nodes[$0.nodeName]?.isReady == true }.map(\.id))
        guard !joined.isEmpty else { return evms }
        try await store.write { tx in
            for id in joined.sorted() {
                guard var evm = try tx.evm(id), evm.nodeReadyAt == nil else { continue }
                evm.nodeReadyAt = time
                try tx.save(evm)
                let booted = Int(time.timeIntervalSince(evm.createdAt).rounded())
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.evm, id), reason: "NodeReady",
                        message: "Node \(evm.nodeName) Ready \(booted) s after creation"))
                if evm.wantsSuspended, let host = evm.hostID { try tx.bumpRevision(HostRevision.scope(host)) }
            }
        }
        return evms.map { evm in
            var evm = evm
            if joined.contains(evm.id) { evm.nodeReadyAt = time }
            return evm
        }
    }

    /// Marks deleting every EVM whose Node has not been Ready within the boot timeout on a host that reports (a
    /// broken image, a kubelet that cannot join); its Node goes, and the floor or the pending pods it was counted
    /// for get a new EVM. An EVM on a NotReady host is the host's business (``HostHealth``). Returns `evms` updated.
    func replaceStuck(_ evms: [EVM], nodes: [String: Node], readyHosts: Set<String>, at time: Date) async throws -> [EVM] {
        let limit = settings.bootTimeout.timeInterval
        let stuck = evms.filter { evm in
            evm.isLive && evm.phase != .migrating && evm.nodeReadyAt == nil && nodes[evm.nodeName]?.isReady != true
                && evm.hostID.map(readyHosts.contains) == true && time.timeIntervalSince(evm.createdAt) >= limit
        }
        guard !stuck.isEmpty else { return evms }
        let drainer = NodeDrainer(client: client, logger: logger)
        var replaced = Set<String>()
        for evm in stuck {
            let message = "Node \(evm.nodeName) not Ready \(Int(limit)) s after creation; the EVM is destroyed and replaced"
            _ = try await store.write { tx in
                try tx.markDeleting(evm.id, at: time, reason: "BootTimeout", message: message)
            }
            try? await drainer.deleteNode(evm.nodeName)
            Counter(label: "emp_evm_boot_timeouts_total", dimensions: [("pool", evm.poolID)]).increment()
            logger.warning("EVM did not boot in time; replacing it", metadata: ["evm": "\(evm.id)"])
            replaced.insert(evm.id)
        }
        return evms.map { evm in
            var evm = evm
            if replaced.contains(evm.id) { evm.phase = .deleting }
            return evm
        }
    }

    /// Deletes the Nodes of EVMs written off with a lost host, so their pods are garbage-collected and recreated
    /// by their controllers on EVMs that run.
    func releaseLostNodes(_ evms: [EVM], nodes: [String: Node]) async {
        let drainer = NodeDrainer(client: client, logger: logger)
        for evm in evms where evm.phase == .lost && nodes[evm.nodeName] != nil {
            do {
                try await drainer.deleteNode(evm.nodeName)
                logger.notice("deleted the Node of an EVM lost with its host", metadata: ["evm": "\(evm.id)"])
            } catch {
                logger.warning("could not delete a lost EVM's Node", metadata: ["evm": "\(evm.id)", "error": "\(error)"])
            }
        }
    }

    // MARK: Floor

    /// Logs each schedule's activation and end once (an event on the pool).
    func noteSchedules(_ pool: Pool, floor: CapacityFloor, state: inout LoopState) async throws {
        let before = state.activeSchedules[pool.id] ?? []
        guard before != floor.active else { return }
        state.activeSchedules[pool.id] = floor.active
        let started = floor.active.filter { !before.contains($0) }
        let ended = before.filter { !floor.active.contains($0) }
        let time = now()
        _ = try await store.write { tx in
            for name in started {
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, pool.id), reason: "ScheduleActive",
                        message: "schedule \(name) active: floor now \(floor.minEVMs) EVMs and \(floor.warm) warm"))
            }
            for name in ended {
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.pool, pool.id), reason: "ScheduleEnded",
                        message: "schedule \(name) ended: floor now \(floor.minEVMs) EVMs and \(floor.warm) warm"))
            }
        }
    }

    /// Keeps the pool at its floor: EVMs in use (not warm) up to `floor.minEVMs`, warm EVMs exactly `floor.warm`
    /// (extra ones, when a schedule ends or the count is lowered, are retired; EVMs in use above the minimum are
    /// left to scale-down). A failure waits ``Settings/floorRetry`` before the next attempt.
    func keepFloor(_ view: ClusterView, floor: CapacityFloor, state: inout LoopState, uptime: Duration) async throws {
        let pool = view.pool
        if let retry = state.floorRetryAt[pool.id], uptime < retry { return }
        let live = view.live
        let warm = live.filter { $0.warm != nil }
        let source =
            floor.active.isEmpty
            ? "minEVMs \(floor.minEVMs)" : "minEVMs \(floor.minEVMs) (schedule \(floor.active.joined(separator: ", ")))"
        switch ScalingTimers.floorAction(
            inUse: live.count - warm.count, warm: warm.count, live: live.count, minEVMs: floor.minEVMs, warmWanted: floor.warm,
            maxEVMs: pool.policy.maxEVMs)
        {
        case .none:
            return
        case .create(let missing):
            let created = try await createForFloor(pool, count: missing, warm: nil, state: &state, uptime: uptime)
            if !created.isEmpty {
                try await poolEvent(
                    pool, "ScaledUp", "minimum: \(created.count) EVMs to keep \(source): \(created.map(\.id).joined(separator: ", "))")
                Counter(label: "emp_autoscaler_decisions_total", dimensions: [("pool", pool.id), ("action", "minimum")]).increment()
            }
        case .refillWarm(let count):
            let mode = pool.policy.warm?.mode ?? .running
            let created = try await createForFloor(pool, count: count, warm: mode, state: &state, uptime: uptime)
            if !created.isEmpty {
                try await poolEvent(
                    pool, "WarmEVMRefilled",
                    "\(created.count) warm EVMs (\(mode.rawValue)) created to keep \(floor.warm) warm: \(created.map(\.id).joined(separator: ", "))"
                )
                Counter(label: "emp_autoscaler_decisions_total", dimensions: [("pool", pool.id), ("action", "warm_refill")]).increment()
            }
        case .retireWarm(let count):
            // Not yet joined first, then the newest.
            let extra = warm.sorted { a, b in
                (a.nodeReadyAt == nil ? 0 : 1, b.createdAt, a.id) < (b.nodeReadyAt == nil ? 0 : 1, a.createdAt, b.id)
            }.prefix(count)
            let drainer = NodeDrainer(client: client, logger: logger)
            for evm in extra {
                let time = now()
                _ = try await store.write { tx in
                    try tx.markDeleting(
                        evm.id, at: time, reason: "WarmEVMReleased", message: "more warm EVMs than the \(floor.warm) the pool keeps now")
                }
                try? await drainer.deleteNode(evm.nodeName)
            }
        }
    }

    /// Creates up to `count` EVMs (none for 0). Placement is all or none per request, so on a shortage it tries what
    /// the hosts said they have room for (at least one fewer each time); returns what was made and the error that
    /// ended the attempts, if any.
    func createAsManyAsFit(_ count: Int, poolID: String, warm: WarmMode?) async throws -> ([EVM], DomainError?) {
        var attempt = count
        while attempt > 0 {
            do {
                return (try await placement.create(count: attempt, poolID: poolID, at: now(), warm: warm), nil)
            } catch let error as DomainError where error.code == .insufficientCapacity && attempt > 1 {
                attempt = min(attempt - 1, max(1, error.evmsThatFit ?? 0))
            } catch let error as DomainError {
                return ([], error)
            }
        }
        return ([], nil)
    }

    /// Creates `count` EVMs for the floor, as many as fit when hosts are short (the shortage is logged once and
    /// hosts are requested, as for a scale-up).
    func createForFloor(_ pool: Pool, count: Int, warm: WarmMode?, state: inout LoopState, uptime: Duration) async throws -> [EVM] {
        let (created, failure) = try await createAsManyAsFit(count, poolID: pool.id, warm: warm)
        if created.count < count { state.floorRetryAt[pool.id] = uptime + settings.floorRetry }
        try await reportShortage(pool, needed: count, got: created.count, failure: failure, state: &state)
        return created
    }

    func poolEvent(_ pool: Pool, _ reason: String, _ message: String) async throws {
        let time = now()
        _ = try await store.write { tx in
            try tx.append(Event(time: time, object: ObjectRef(.pool, pool.id), reason: reason, message: message))
        }
        logger.info("\(reason)", metadata: ["pool": "\(pool.id)", "detail": "\(message)"])
    }

    // MARK: Scale up

    func scaleUp(_ view: ClusterView, state: inout LoopState) async throws {
        let input = view.packInput(headroom: view.pool.policy.headroom)
        guard !input.pods.isEmpty || input.headroom != nil else { return }
        let result = PodPacker().pack(input)
        let byID = Dictionary(view.unschedulable.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for miss in result.unplaced where miss.permanent && !state.reported.contains(miss.pod) {
            state.reported.insert(miss.pod)
            if let pod = byID[miss.pod] {
                await event(on: pod, "NotTriggerScaleUp", "pod cannot run on EVMs: \(miss.reason)", warning: true)
            }
        }
        let count = result.newEVMs.count
        guard count > 0 || !input.pods.isEmpty else { return }
        Counter(label: "emp_autoscaler_decisions_total", dimensions: [("pool", view.pool.id), ("action", count > 0 ? "scale_up" : "none")])
            .increment()
        guard count > 0 else { return }
        // Warm EVMs first: a claim hands over a booted, joined EVM.
        let decided = now()
        let claimed = try await store.write { tx in try tx.claimWarm(count: count, poolID: view.pool.id, at: decided) }
        if !claimed.isEmpty {
            let drainer = NodeDrainer(client: client, logger: logger)
            for evm in claimed {
                do { try await drainer.removeWarmTaint(evm.nodeName) } catch {
                    logger.warning("could not remove the warm taint; the agent will", metadata: ["evm": "\(evm.id)", "error": "\(error)"])
                }
            }
            Counter(label: "emp_warm_claims_total", dimensions: [("pool", view.pool.id)]).increment(by: claimed.count)
        }
        var (created, failure) = try await createAsManyAsFit(count - claimed.count, poolID: view.pool.id, warm: nil)
        created = claimed + created
        try await reportShortage(view.pool, needed: count, got: created.count, failure: failure, state: &state)
        guard !created.isEmpty else { return }
        let names = Dictionary(uniqueKeysWithValues: zip(result.newEVMs.map(\.name), created.map(\.nodeName)))
        let ids = created.map(\.id).joined(separator: ", ")
        _ = try await store.write { tx in
            try tx.append(
                Event(
                    time: self.now(), object: ObjectRef(.pool, view.pool.id), reason: "ScaledUp",
                    message:
                        "\(count) EVMs for \(input.pods.count) pending pods\(result.headroomEVMs > 0 ? " and headroom" : "")\(claimed.isEmpty ? "" : " (\(claimed.count) claimed warm)"): \(ids)"
                ))
        }
        for (podID, target) in result.placements {
            guard let pod = byID[podID], let evm = names[target] else { continue }
            await event(on: pod, "TriggeredScaleUp", "pod triggered scale-up: EVM \(evm) of pool \(view.pool.id)", warning: false)
        }
        logger.info("scaled up", metadata: ["pool": "\(view.pool.id)", "evms": "\(ids)"])
    }

    /// Logs a shortage once per distinct message and, when hosts lack room, asks the host provider for more.
    func reportShortage(_ pool: Pool, needed: Int, got: Int, failure: DomainError?, state: inout LoopState) async throws {
        guard got < needed else {
            state.shortage[pool.id] = nil
            return
        }
        let message = failure.map { "\(needed) EVMs needed: \($0.message)" } ?? "\(needed) EVMs needed, hosts had room for \(got)"
        if state.shortage[pool.id] != message {
            state.shortage[pool.id] = message
            let time = now()
            _ = try await store.write { tx in
                try tx.append(
                    Event(time: time, object: ObjectRef(.pool, pool.id), reason: "ScaleUpShort", message: message, type: .warning))
            }
            logger.warning("scale-up short", metadata: ["pool": "\(pool.id)", "reason": "\(message)"])
        }
        guard failure == nil || failure?.code == .insufficientCapacity else { return }
        // Hosts to ask for: the missing EVMs' size over the room of the pool's largest host.
        let hosts = try await store.read { try $0.hosts(pool: pool.id) }
        let limit = hosts.map { pool.policy.allocatable($0.capacity) }.max { $0.memoryBytes < $1.memoryBytes }
        let missing = pool.shape.resources * Int64(needed - got)
        var wanted = 1
        if let limit, limit.memoryBytes > 0, limit.cpuMillis > 0 {
            wanted = Int(
                max(
                    (missing.memoryBytes + limit.memoryBytes - 1) / limit.memoryBytes,
                    (missing.cpuMillis + limit.cpuMillis - 1) / limit.cpuMillis))
        }
        _ = try await provider.request(max(1, wanted), for: pool, store: store, at: now())
    }

    // MARK: Scale down

    func scaleDown(_ view: ClusterView, floor: CapacityFloor, state: inout LoopState, uptime: Duration) async throws {
        let room = Dictionary(view.packInput().nodes.map { ($0.name, $0.free) }, uniquingKeysWith: { a, _ in a })
        let empty = view.emptyEVMs.sorted { $0.createdAt > $1.createdAt }
        let removals = state.timers.removals(
            empty: empty.map { ScalingTimers.EmptyEVM(id: $0.id, free: room[$0.nodeName] ?? .zero) }, pool: Set(view.evms.map(\.id)),
            live: view.live.filter { $0.warm == nil }.count, minimum: floor.minEVMs, headroom: view.pool.policy.headroom,
            free: room.values.reduce(EMPModel.Resources.zero, +), at: uptime)
        let byID = Dictionary(empty.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for id in removals {
            guard let evm = byID[id] else { continue }
            try await remove(evm, view: view)
        }
    }

    /// Drains the EVM's Node (``NodeDrainer``; pods that landed before the cordon are evicted, and a PodDisruptionBudget
    /// that refuses keeps the EVM), marks the EVM
    /// deleting (first, so its agent stops re-registering the Node and destroys the domain), deletes the Node.
    func remove(_ evm: EVM, view: ClusterView) async throws {
        let drainer = NodeDrainer(client: client, logger: logger)
        if case .blocked(let pod) = try await drainer.drain(evm.nodeName, whenBlocked: .keepNode) {
            let time = now()
            _ = try await store.write { tx in
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.evm, evm.id), reason: "ScaleDownBlocked",
                        message: "pod \(pod) cannot be evicted (PodDisruptionBudget); EVM kept", type: .warning))
            }
            return
        }
        let time = now()
        let message = "node empty for \(settings.emptyAfter); removed"
        _ = try await store.write { tx in try tx.markDeleting(evm.id, at: time, reason: "ScaledDown", message: message) }
        try await drainer.deleteNode(evm.nodeName)
        Counter(label: "emp_autoscaler_decisions_total", dimensions: [("pool", view.pool.id), ("action", "scale_down")]).increment()
        logger.info("scaled down", metadata: ["evm": "\(evm.id)"])
    }

    func event(on pod: Pod, _ reason: String, _ message: String, warning: Bool) async {
        let event = CoreEvent(
            regarding: ObjectReference(of: pod), type: warning ? "Warning" : "Normal", reason: reason, message: message,
            component: "emp-autoscaler")
        do {
            _ = try await client.resources(CoreEvent.self, namespace: pod.metadata.namespace).create(event)
        } catch {
            logger.warning("could not record an event", metadata: ["pod": "\(pod.key)", "error": "\(error)"])
        }
    }
}
