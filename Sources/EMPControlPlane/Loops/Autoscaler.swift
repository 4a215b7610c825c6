public import EMPModel
import EMPScheduling
public import EMPStore
import Foundation
public import Kube
public import Logging
import Metrics
public import ServiceLifecycle

/// Adds EVMs when pods are Pending and removes EVMs whose node has been empty for a while.
///
/// Informers keep Pods and EVM Nodes in memory. Every tick the autoscaler reads them: a batch of unschedulable
/// pods is decided once no new one has appeared for ``Settings/idleWindow`` (or ``Settings/maxWindow`` after the
/// first); ``PodPacker`` says how many EVMs each pool needs (booting EVMs count as room, so the same pods never
/// trigger twice), and ``EVMPlacement`` creates and places them. Pods no EVM could run get one Event saying why.
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
        public init() {}
    }

    let client: KubeClient
    let store: any StateStore
    let placement: EVMPlacement
    let settings: Settings
    let provider: any HostProvider
    /// Ticks, the batch window and the empty-node timer run on this clock; events take their dates from it.
    let clock: any EMPClock
    let logger: Logger

    init(
        client: KubeClient, store: any StateStore, placement: EVMPlacement, settings: Settings,
        provider: any HostProvider = StaticHostProvider(), clock: any EMPClock, logger: Logger
    ) {
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
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await pods.run() }
                group.addTask { await nodes.run() }
                group.addTask {
                    await pods.waitUntilSynced()
                    await nodes.waitUntilSynced()
                    var state = LoopState()
                    while !Task.isCancelled {
                        await self.pass(pods: await pods.items, nodes: await nodes.items, state: &state)
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
        var pending: Set<String> = []
        /// Clock readings (``EMPClock/uptime``) of the batch's first pod and of its last change.
        var firstSeen: Duration?
        var lastChange: Duration?
        var reported: Set<String> = []
        /// When each EVM's node was first seen empty (``EMPClock/uptime``).
        var emptySince: [String: Duration] = [:]
        /// The last shortage logged per pool, so it is logged once.
        var shortage: [String: String] = [:]
    }

    func pass(pods: [Pod], nodes: [Node], state: inout LoopState) async {
        do {
            let (pools, evms) = try await store.read { tx in (try tx.pools(), try tx.evms(EVMFilter())) }
            let views = pools.map { pool in
                ClusterView(pool: pool, pods: pods, nodes: nodes, evms: evms.filter { $0.poolID == pool.id }, reserved: settings.reserved)
            }
            let pending = Set(views.flatMap { $0.unschedulable.map(\.metadata.uid) }.compactMap { $0 })
            for phase in EVMPhase.allCases {
                Gauge(label: "emp_evms", dimensions: [("phase", phase.rawValue)]).record(evms.filter { $0.phase == phase }.count)
            }
            Gauge(label: "emp_autoscaler_pending_candidates").record(pending.count)
            let uptime = clock.uptime
            if pending.isEmpty {
                state.firstSeen = nil
            } else {
                if state.firstSeen == nil { state.firstSeen = uptime }
                if pending != state.pending { state.lastChange = uptime }
            }
            state.pending = pending
            if let first = state.firstSeen, let last = state.lastChange,
                uptime - last >= settings.idleWindow || uptime - first >= settings.maxWindow
            {
                let started = ContinuousClock.now
                for view in views { try await scaleUp(view, state: &state) }
                Metrics.Timer(label: "emp_autoscaler_decision_seconds").record(duration: ContinuousClock.now - started)
                state.firstSeen = nil
                state.lastChange = nil
            }
            for view in views where view.unschedulable.isEmpty {
                if view.pool.policy.headroom != nil { try await scaleUp(view, state: &state) }
                try await scaleDown(view, state: &state, uptime: uptime)
            }
        } catch {
            logger.error("autoscaler pass failed", metadata: ["error": "\(error)"])
        }
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
        // All or none per request, so on a shortage take as many as the hosts have room for.
        var created: [EVM] = []
        var failure: DomainError?
        var attempt = count
        while created.isEmpty, failure == nil {
            do {
                created = try await placement.create(count: attempt, poolID: view.pool.id, at: now())
            } catch let error as DomainError where error.code == .insufficientCapacity && attempt > 1 {
                // Try what the hosts said they have room for (at least one fewer than before).
                attempt = min(attempt - 1, max(1, error.evmsThatFit ?? 0))
            } catch let error as DomainError {
                failure = error
            }
        }
        try await reportShortage(view.pool, needed: count, got: created.count, failure: failure, state: &state)
        guard !created.isEmpty else { return }
        let names = Dictionary(uniqueKeysWithValues: zip(result.newEVMs.map(\.name), created.map(\.nodeName)))
        let ids = created.map(\.id).joined(separator: ", ")
        _ = try await store.write { tx in
            try tx.append(
                Event(
                    time: self.now(), object: ObjectRef(.pool, view.pool.id), reason: "ScaledUp",
                    message:
                        "\(count) EVMs for \(input.pods.count) pending pods\(result.headroomEVMs > 0 ? " and headroom" : ""): \(ids)"
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

    func scaleDown(_ view: ClusterView, state: inout LoopState, uptime: Duration) async throws {
        let empty = view.emptyEVMs
        let emptyIDs = Set(empty.map(\.id))
        for id in state.emptySince.keys where !emptyIDs.contains(id) && view.evms.contains(where: { $0.id == id }) {
            state.emptySince[id] = nil
        }
        var live = view.evms.filter { $0.phase != .deleting && $0.phase != .failed }.count
        let room = view.packInput().nodes
        var free = room.reduce(EMPModel.Resources.zero) { $0 + $1.free }
        for evm in empty.sorted(by: { $0.createdAt > $1.createdAt }) {
            let since = state.emptySince[evm.id] ?? uptime
            state.emptySince[evm.id] = since
            guard uptime - since >= settings.emptyAfter, live > view.pool.policy.minEVMs else { continue }
            // Headroom: keep the EVM when the free room without it would not cover the pool's headroom.
            let mine = room.first { $0.name == evm.nodeName }?.free ?? .zero
            if let headroom = view.pool.policy.headroom, !headroom.fits(in: free - mine) { continue }
            free -= mine
            try await remove(evm, view: view)
            state.emptySince[evm.id] = nil
            live -= 1
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
