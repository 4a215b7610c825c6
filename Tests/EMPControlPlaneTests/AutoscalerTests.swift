import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Kube
import KubeSim
import Logging
import Testing

@testable import EMPControlPlane

/// The seed walkthrough through KubeSim, the store, the real Autoscaler and the agent's NodeRegistrar (standing in
/// for agents: each EVM becomes its Node, and goes when deleted).
@Suite(.serialized) struct AutoscalerTests {
    struct Rig {
        let sim: KubeSim
        let client: KubeClient
        let store: SQLiteStore
        let dir: TemporaryDirectory
        let tasks: [Task<Void, Never>]
        /// The autoscaler's clock: it ticks only when a test steps it.
        let clock: ManualClock
        let tick: Duration
        let autoscaler: Autoscaler

        func stop() async {
            for task in tasks { task.cancel() }
            for task in tasks { await task.value }
            try? await client.shutdown()
            await sim.stop()
        }

        func evms() async throws -> [EVM] {
            try await store.read { try $0.evms(EVMFilter(poolID: "demo")) }.filter { $0.phase != .deleting }
        }

        /// Polls `condition`, running one autoscaler pass (a tick of the manual clock) between polls.
        func eventually(timeout: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
            try await EMPTesting.eventually(timeout: timeout) {
                if try await condition() { return true }
                try await clock.step(by: tick)
                return false
            }
        }

        /// EVM Nodes Ready, once every EVM runs.
        func readyNodes() async throws -> Int {
            guard try await evms().allSatisfy({ $0.phase == .running }) else { return 0 }
            let nodes: [Kube.Node] = try await client.resources(Kube.Node.self).list().items
            return nodes.filter { $0.isReady }.count
        }

        /// One autoscaler pass over what the cluster holds now (for rigs started without the loop).
        func pass(_ state: inout Autoscaler.LoopState) async throws {
            let pods = try await client.resources(Pod.self).list().items
            let nodes = try await client.resources(Node.self).list().items
            await autoscaler.pass(pods: pods, nodes: nodes, state: &state)
        }

        /// Runs the autoscaler for `duration` of its clock, one pass per tick.
        func run(for duration: Duration) async throws {
            var elapsed = Duration.zero
            while elapsed < duration {
                try await clock.step(by: tick)
                elapsed += tick
            }
        }
    }

    /// `neverBoots`: EVMs whose kubelet never joins (the stand-in agent registers no Node for them).
    static func start(
        hostMemoryGiB: Int64 = 256, loop: Bool = true, epoch: Date = Date(),
        neverBoots: @escaping @Sendable (EVM) -> Bool = { _ in false }, configure: (inout Autoscaler.Settings) -> Void = { _ in }
    ) async throws -> Rig {
        var options = KubeSim.Options()
        options.nodeReadyAfter = .zero
        let sim = try KubeSim(options: options)
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        try await store.write { tx in
            try tx.save(
                Pool(
                    id: "demo", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)), policy: PoolPolicy(minEVMs: 1, maxEVMs: 10),
                    createdAt: epoch))
            try tx.save(
                EMPModel.Host(
                    id: "h1", poolID: "demo", capacity: EMPModel.Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(hostMemoryGiB))))
        }
        let placement = EVMPlacement(store: store, expectedUseFraction: 0.25)
        _ = try await placement.create(count: 1, poolID: "demo", at: epoch)
        var settings = Autoscaler.Settings()
        settings.idleWindow = .milliseconds(200)
        settings.maxWindow = .seconds(2)
        settings.emptyAfter = .seconds(1)
        settings.tick = .milliseconds(100)
        configure(&settings)
        let clock = ManualClock(epoch: epoch)
        let autoscaler = Autoscaler(
            client: client, store: store, placement: placement, settings: settings, clock: clock,
            logger: Logger(label: "test.autoscaler"))
        let registrar = NodeRegistrar(client: client, hostID: "h1", logger: Logger(label: "test.agent"))
        // Like a real agent, it long-polls its host's revision (placements and deletions bump it) and acts on a change;
        // the 1 s timeout retries a pass that failed.
        let agent = Task {
            var revision: Int64 = -1
            while !Task.isCancelled {
                guard let seen = try? await store.waitForRevision(HostRevision.scope("h1"), differentFrom: revision, timeout: .seconds(1))
                else { break }
                revision = seen
                do {
                    let all = try await store.read { try $0.evms(EVMFilter(poolID: "demo")) }
                    let wanted = all.filter { $0.phase != .deleting && $0.phase != .lost && !neverBoots($0) }
                    for evm in wanted { try await registrar.ensure(evm) }
                    try await registrar.sync(wanted: wanted, domains: Set(wanted.map(\.id)))
                    try await store.write { tx in
                        // Read again inside the write: a phase changed since `all` was read (a deletion) wins.
                        for stale in all {
                            guard var evm = try tx.evm(stale.id) else { continue }
                            if evm.phase == .deleting {
                                try tx.deleteEVM(evm.id)
                            } else if evm.phase == .creating {
                                evm.phase = evm.warm != nil ? .warm : .running
                                try tx.save(evm)
                            }
                        }
                    }
                } catch {
                    revision = -1  // try again after the timeout
                }
            }
        }
        let scaler = Task { if loop { _ = try? await autoscaler.run() } }
        return Rig(
            sim: sim, client: client, store: store, dir: dir, tasks: [agent, scaler], clock: clock, tick: settings.tick,
            autoscaler: autoscaler)
    }

    static func deployment(replicas: Int) -> Deployment {
        var deployment = Deployment(name: "emp-test-deployment", namespace: "emp-test")
        deployment.spec.replicas = replicas
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "emp-test-deployment"])
        deployment.spec.template.metadata.labels = ["app": "emp-test-deployment"]
        deployment.spec.template.spec.tolerations = [Toleration(key: Profile.taintKey, value: "true", effect: "NoSchedule")]
        deployment.spec.template.spec.nodeSelector = [Profile.ownedLabel: "true"]
        deployment.spec.template.spec.containers = [Container(name: "no-op", image: "alpine", requests: ["memory": "3Gi"])]
        return deployment
    }

    @Test func theSeedWalkthrough() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let client = rig.client
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        let deployments = client.resources(Deployment.self, namespace: "emp-test")
        let pods = client.resources(Pod.self, namespace: "emp-test")
        _ = try await deployments.create(Self.deployment(replicas: 1))
        let first = try #require(try await rig.evms().first)
        #expect(
            try await rig.eventually {
                try await pods.list().items.contains { $0.status.phase == "Running" && $0.spec.nodeName == first.nodeName }
            })

        // Scale to 5: four fit the EVM (16Gi, a little under 15Gi allocatable), one is Pending; a second EVM is made for it and it runs there.
        _ = try await deployments.scale("emp-test-deployment", replicas: 5)
        #expect(try await rig.eventually { try await rig.evms().count == 2 })
        #expect(
            try await rig.eventually { try await pods.list().items.filter { $0.status.phase == "Running" }.count == 5 })
        let second = try #require(try await rig.evms().first { $0.id != first.id })
        let onSecond = try await pods.list().items.filter { $0.spec.nodeName == second.nodeName }
        #expect(onSecond.count == 1)
        let events = try await client.resources(CoreEvent.self, namespace: "emp-test").list().items
        #expect(events.contains { $0.reason == "TriggeredScaleUp" && $0.message?.contains(second.nodeName) == true })
        #expect(try await rig.evms().count == 2, "no second scale-up for the same pod")

        // Scale to 1: the EVM left empty is removed, never the one still hosting the pod; never below minEVMs.
        _ = try await deployments.scale("emp-test-deployment", replicas: 1)
        #expect(try await rig.eventually { try await rig.evms().count == 1 })
        let survivor = try #require(try await rig.evms().first)
        let remaining = try await pods.list().items.filter { !$0.isTerminated && $0.metadata.deletionTimestamp == nil }
        #expect(remaining.count == 1)
        #expect(remaining.first?.spec.nodeName == survivor.nodeName)
        #expect(
            try await rig.eventually {
                try await client.resources(Node.self).list().items.map(\.name) == [survivor.nodeName]
            })
        // Long past emptyAfter (1 s in the rig): the last EVM stays, since the pool's minimum is 1.
        try await rig.run(for: .seconds(3))
        #expect(try await rig.evms().count == 1)
    }

    @Test func podsEVMsCannotHelpGetAnEventAndNoEVM() async throws {
        let rig = try await Self.start()
        defer { Task { await rig.stop() } }
        let client = rig.client
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        var huge = Self.deployment(replicas: 1)
        huge.metadata.name = "huge"
        huge.spec.template.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "40Gi"])]
        _ = try await client.resources(Deployment.self, namespace: "emp-test").create(huge)
        let events = client.resources(CoreEvent.self, namespace: "emp-test")
        let allocatable = EMPModel.Resources.formatBytes(.gibibytes(16) - (1124 << 20))
        #expect(
            try await rig.eventually {
                try await events.list().items.contains {
                    $0.reason == "NotTriggerScaleUp"
                        && $0.message?.contains("requests 40Gi memory; an EVM of pool demo has \(allocatable) allocatable") == true
                }
            })
        try await rig.run(for: .seconds(3))  // past the batch's max window, several times
        #expect(try await rig.evms().count == 1)
        #expect(try await events.list().items.filter { $0.reason == "NotTriggerScaleUp" }.count == 1)
    }
}

/// Flapping guard: with 5 replicas on 2 EVMs, 50 alternating scale events (4 ↔ 5 replicas, 200 ms apart) create
/// no EVM and remove none: the room a removed pod leaves is what the next one needs.
@Suite(.serialized) struct AutoscalerFlappingTests {
    @Test func alternatingScaleEventsDoNotFlap() async throws {
        let rig = try await AutoscalerTests.start()
        defer { Task { await rig.stop() } }
        let client = rig.client
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        let deployments = client.resources(Deployment.self, namespace: "emp-test")
        let pods = client.resources(Pod.self, namespace: "emp-test")
        _ = try await deployments.create(AutoscalerTests.deployment(replicas: 5))
        #expect(try await rig.eventually { try await pods.list().items.filter({ $0.status.phase == "Running" }).count == 5 })
        #expect(try await rig.evms().count == 2)
        func count(_ reason: String) async throws -> Int {
            try await rig.store.read { try $0.events(EventFilter(limit: 5000)) }.filter { $0.reason == reason }.count
        }
        let placedBefore = try await count("Placed")
        for round in 0..<50 {
            let replicas = round.isMultiple(of: 2) ? 4 : 5
            _ = try await deployments.scale("emp-test-deployment", replicas: replicas)
            // The replica set follows; then 200 ms of the autoscaler's clock (the idle window) pass.
            #expect(
                try await EMPTesting.eventually {
                    try await pods.list().items.filter { !$0.isTerminated && $0.metadata.deletionTimestamp == nil }.count == replicas
                })
            try await rig.run(for: .milliseconds(200))
        }
        let created = try await count("Placed") - placedBefore
        let removed = try await count("ScaledDown")
        #expect(created == 0, "EVM creations during the replay: \(created)")
        #expect(removed == 0, "EVM removals during the replay: \(removed)")
    }
}

/// Headroom: free room kept on EVMs with no pod asking for it, and not scaled away while empty.
@Suite(.serialized) struct AutoscalerHeadroomTests {
    @Test func headroomIsKeptFreeAndNotScaledAway() async throws {
        let rig = try await AutoscalerTests.start()
        defer { Task { await rig.stop() } }
        try await rig.store.write { tx in
            guard var pool = try tx.pool("demo") else { return }
            pool.policy.headroom = EMPModel.Resources(cpuMillis: 0, memoryBytes: .gibibytes(20))
            try tx.save(pool)
        }
        #expect(try await rig.eventually { try await rig.evms().count >= 2 })
        #expect(try await rig.evms().count == 2, "two EVMs offer 2 × 14.9Gi ≥ 20Gi free")
        try await rig.run(for: .seconds(2.5))  // emptyAfter is 1 s in the rig
        #expect(try await rig.evms().count == 2, "empty EVMs that hold the headroom stay")
        let events = try await rig.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "demo"))) }
        #expect(events.contains { $0.reason == "ScaledUp" && $0.message.contains("headroom") })
    }
}

/// Hosts lacking room: as many EVMs as fit are made, the shortage is logged once, and hosts are requested.
@Suite(.serialized) struct AutoscalerShortageTests {
    @Test func aShortHostGetsWhatFitsAndHostsAreRequestedOnce() async throws {
        let rig = try await AutoscalerTests.start(hostMemoryGiB: 48)  // room for three 16Gi EVMs; one exists
        defer { Task { await rig.stop() } }
        let client = rig.client
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        var big = AutoscalerTests.deployment(replicas: 5)
        big.spec.template.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "14Gi"])]
        _ = try await client.resources(Deployment.self, namespace: "emp-test").create(big)
        #expect(try await rig.eventually { try await rig.evms().count >= 3 })
        #expect(try await rig.evms().count == 3, "the two EVMs the host has room for are made")
        try await rig.run(for: .seconds(3))
        let events = try await rig.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "demo"), limit: 5000)) }
        let requested = events.filter { $0.reason == "HostsRequested" }
        #expect(requested.count == 1, "asked once, not at every pass: \(requested.map(\.message))")
        #expect(requested.first?.message.hasPrefix("1 more hosts wanted (1 of at most 100)") == true)
        #expect(events.filter { $0.reason == "ScaleUpShort" }.count >= 1)
        #expect(try await rig.evms().count == 3)
    }
}

/// The autoscaler's timers on the manual clock, one pass at a time: each fires at its instant, not a tick before.
@Suite(.serialized) struct AutoscalerTimingTests {
    @Test func anEmptyEVMIsRemovedAtEmptyAfterNotBefore() async throws {
        let rig = try await AutoscalerTests.start(loop: false)
        defer { Task { await rig.stop() } }
        _ = try await EVMPlacement(store: rig.store, expectedUseFraction: 0.25).create(count: 1, poolID: "demo", at: rig.clock.date)
        let bothReady = try await eventually { try await rig.readyNodes() == 2 }
        #expect(bothReady)
        var state = Autoscaler.LoopState()
        try await rig.pass(&state)  // 0 s: both nodes seen empty; the pool's minimum (1) lets one go
        rig.clock.advance(by: .seconds(1) - .milliseconds(1))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 2, "removed before emptyAfter")
        rig.clock.advance(by: .milliseconds(1))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 1, "not removed at emptyAfter")
        let events = try await rig.store.read { try $0.events(EventFilter(limit: 5000)) }.filter { $0.reason == "ScaledDown" }
        #expect(events.map(\.time) == [rig.clock.date])
    }

    /// One pending pod, unchanged: decided when it has been the same for the idle window (200 ms in the rig).
    @Test func aBatchIsDecidedAtTheIdleWindow() async throws {
        let rig = try await AutoscalerTests.start(loop: false)
        defer { Task { await rig.stop() } }
        let pending = try await Self.onePendingPod(rig)
        var state = Autoscaler.LoopState()
        try await rig.pass(&state)
        rig.clock.advance(by: .milliseconds(199))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 1, "decided before the idle window")
        rig.clock.advance(by: .milliseconds(1))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 2, "not decided at the idle window (pending: \(pending))")
    }

    /// Pending pods that keep changing every 150 ms never go idle: decided at the max window (2 s in the rig).
    @Test func aChangingBatchIsDecidedAtTheMaxWindow() async throws {
        let rig = try await AutoscalerTests.start(loop: false)
        defer { Task { await rig.stop() } }
        let pending = try await Self.onePendingPod(rig)
        let pods = try await rig.client.resources(Pod.self).list().items
        let nodes = try await rig.client.resources(Node.self).list().items
        var state = Autoscaler.LoopState()
        var arrivals: [Pod] = []
        func arrival(_ index: Int) -> Pod {
            var pod = pending
            pod.metadata.name = "arrival-\(index)"
            pod.metadata.uid = "arrival-\(index)"
            return pod
        }
        await rig.autoscaler.pass(pods: pods, nodes: nodes, state: &state)  // 0 s: the batch opens
        for index in 1...13 {  // 150 ms … 1950 ms: a new pod each time, so the idle window never passes
            rig.clock.advance(by: .milliseconds(150))
            arrivals.append(arrival(index))
            await rig.autoscaler.pass(pods: pods + arrivals, nodes: nodes, state: &state)
            #expect(try await rig.evms().count == 1, "decided at \(index * 150) ms, before the max window")
        }
        rig.clock.advance(by: .milliseconds(50))  // 2 s
        arrivals.append(arrival(14))
        await rig.autoscaler.pass(pods: pods + arrivals, nodes: nodes, state: &state)
        #expect(try await rig.evms().count > 1, "not decided at the max window")
    }

    /// A deployment of five 3Gi pods: four fit the first EVM, one is Pending as unschedulable; returns it.
    static func onePendingPod(_ rig: AutoscalerTests.Rig) async throws -> Pod {
        _ = try await rig.client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        _ = try await rig.client.resources(Deployment.self, namespace: "emp-test").create(AutoscalerTests.deployment(replicas: 5))
        let pods = rig.client.resources(Pod.self, namespace: "emp-test")
        #expect(try await eventually { try await pods.list().items.filter(\.isUnschedulable).count == 1 })
        return try #require(try await pods.list().items.first(where: \.isUnschedulable))
    }
}

/// A tick costs nothing when nothing changed: no copy of the informers' caches, no store read, no pass — and a
/// change of a pod, a node or a stored object, a due timer or the periodic full pass brings the pass back.
@Suite(.serialized) struct AutoscalerTickTests {
    @Test func ticksRunAPassOnlyWhenSomethingChanged() async throws {
        let rig = try await AutoscalerTests.start(loop: false)
        defer { Task { await rig.stop() } }
        let informer = Informer(rig.client.resources(Pod.self), logger: Logger(label: "test.pods"))
        let nodes = Informer(
            rig.client.resources(Node.self), labelSelector: "\(Profile.ownedLabel)=\(Profile.ownedValue)",
            logger: Logger(label: "test.nodes"))
        // As the autoscaler's run loop does: pod events into a shared index, seeded from the first list.
        let events = await informer.subscribe()
        let pods = SharedPodIndex()
        let tasks = [
            Task { await informer.run() }, Task { await nodes.run() }, Task { for await event in events { pods.apply(event) } },
        ]
        defer { for task in tasks { task.cancel() } }
        await informer.waitUntilSynced()
        await nodes.waitUntilSynced()
        pods.seed(await informer.items)
        // The EVM of minEVMs runs and its Node is Ready: nothing left for the autoscaler to do.
        let ready = try await EMPTesting.eventually(timeout: .seconds(20)) {
            let changes = await nodes.changes
            return try await rig.readyNodes() == 1 && changes > 0
        }
        #expect(ready)

        var state = Autoscaler.LoopState()
        /// Ticks until two passes in a row find nothing to do (its own writes count as changes once).
        func settle() async throws {
            for _ in 0..<10 { await rig.autoscaler.tick(pods: pods, nodes: nodes, state: &state) }
        }
        try await settle()
        let settled = try #require(state.lastPass)
        rig.clock.advance(by: rig.tick)
        await rig.autoscaler.tick(pods: pods, nodes: nodes, state: &state)
        #expect(state.lastPass == settled, "a tick with nothing changed ran a pass")

        // A pod appears: the next tick runs a pass and sees it.
        _ = try await rig.client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        var pod = Pod(name: "waiting", namespace: "emp-test")
        pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "1Gi"])]
        let before = pods.changes
        _ = try await rig.client.resources(Pod.self, namespace: "emp-test").create(pod)
        #expect(try await EMPTesting.eventually(timeout: .seconds(10)) { pods.changes > before })
        rig.clock.advance(by: rig.tick)
        await rig.autoscaler.tick(pods: pods, nodes: nodes, state: &state)
        #expect(state.lastPass != settled)

        // A stored change (an operator cordons the host): the next tick reads the store again.
        try await settle()
        let quiet = try #require(state.lastPass)
        _ = try await rig.store.write { tx in
            var host = try tx.host("h1")!
            host.state = .cordoned
            try tx.save(host)
        }
        rig.clock.advance(by: rig.tick)
        await rig.autoscaler.tick(pods: pods, nodes: nodes, state: &state)
        #expect(state.lastPass != quiet)
        #expect(state.stored?.hosts.first?.state == .cordoned)

        // Nothing changes for fullPassEvery: a pass runs anyway (boot timeouts and schedules are time alone).
        try await settle()
        let idle = try #require(state.lastPass)
        rig.clock.advance(by: Autoscaler.Settings().fullPassEvery)
        await rig.autoscaler.tick(pods: pods, nodes: nodes, state: &state)
        #expect(state.lastPass != idle)
    }
}

/// The pod index the autoscaler keeps from informer events: the same candidates and bound pods as a full scan.
@Suite struct PodIndexTests {
    static func pod(_ name: String, node: String? = nil, unschedulable: Bool = false, tolerates: Bool = true, phase: String? = nil) -> Pod {
        var pod = Pod(name: name, namespace: "ns")
        pod.spec.nodeName = node
        if tolerates { pod.spec.tolerations = [Toleration(key: Profile.taintKey, value: "true", effect: "NoSchedule")] }
        if unschedulable {
            pod.status.conditions = [Condition(type: "PodScheduled", status: "False", reason: "Unschedulable")]
        }
        if let phase { pod.status.phase = phase }
        return pod
    }

    @Test func eventsKeepTheIndexEqualToAFreshOne() {
        var index = PodIndex()
        var alive: [String: Pod] = [:]
        var random = SplitMix(seed: 5)
        for step in 0..<2_000 {
            let name = "p\(random.next(below: 60))"
            if random.next(below: 4) == 0, let old = alive[name] {
                index.apply(.deleted(old))
                alive[name] = nil
            } else {
                let node: String? = random.next(below: 3) == 0 ? nil : "n\(random.next(below: 5))"
                let pod = Self.pod(
                    name, node: node, unschedulable: node == nil && random.next(below: 2) == 0, tolerates: random.next(below: 5) != 0,
                    phase: random.next(below: 6) == 0 ? "Succeeded" : nil)
                index.apply(alive[name] == nil ? .added(pod) : .modified(pod))
                alive[name] = pod
            }
            if step % 100 == 99 {
                let nodes = (0..<5).map { "n\($0)" }
                let kept = index.reading(nodes: nodes)
                let fresh = PodIndex(Array(alive.values)).reading(nodes: nodes)
                #expect(kept.candidates.map(\.key) == fresh.candidates.map(\.key))
                #expect(kept.bound.mapValues { Set($0.map(\.key)) } == fresh.bound.mapValues { Set($0.map(\.key)) })
                // And what a scan of every pod says directly.
                #expect(Set(kept.candidates.map(\.key)) == Set(alive.values.filter(ClusterView.isCandidate).map(\.key)))
            }
        }
    }

    @Test func eventsBeforeTheSeedAreAppliedAfterIt() {
        let shared = SharedPodIndex()
        shared.apply(.deleted(Self.pod("gone", node: "n1")))
        shared.apply(.added(Self.pod("new", node: "n1")))
        shared.seed([Self.pod("gone", node: "n1"), Self.pod("kept", node: "n1")])
        #expect(Set(shared.reading(nodes: ["n1"]).bound["n1"]?.map(\.key) ?? []) == ["ns/kept", "ns/new"])
    }
}
