import EMPModel
import EMPScheduling
import Foundation

/// EMP's way: metal hosts with the pool's overcommit ratios; EVMs made by the autoscaler's own decisions
/// (``ScalingTimers``: batch window, empty-EVM removal; ``PodPacker`` for how many), placed by ``Placer``, moved by
/// ``Rebalancer`` (watermark relief, consolidation); a host is asked for when placement is short and returned once
/// empty for a while.
struct EMPScenario: Scenario {
    struct Host {
        let id: Int
        let launchedAt: Int
        let readyAt: Int
        var emptySince: Int?
    }

    let name = "emp"
    let settings: SimulationSettings
    /// The pool as the simulation sets it (``SimulationSettings/poolPolicy``): its floor comes from ``CapacityCalendar``.
    let policy: PoolPolicy
    let hostType: InstancePrice
    var hosts: [Int: Host] = [:]
    var hostOrder: [Int] = []
    var nextHost = 0
    var timers: ScalingTimers
    /// Per EVM node: the host it last left and when (cooldown, no ping-pong).
    var lastMove: [Int: (from: Int, at: Int)] = [:]
    /// Live migrations under way: the EVM stays on its source until `endsAt` (its memory over the migration
    /// bandwidth, as the planner estimates it) while its destination already holds its allocation.
    struct Flight {
        let node: Int
        let from: Int
        let to: Int
        let endsAt: Int
    }
    var flights: [Flight] = []
    var extras = ScenarioExtras()
    /// Scale decisions as (time, EVMs asked for or removed), for comparing with the live autoscaler.
    var decisions: [(time: Int, evms: Int)] = []
    var removals: [(time: Int, evms: Int)] = []

    init(settings: SimulationSettings) throws(TraceError) {
        self.settings = settings
        policy = settings.poolPolicy
        guard let type = settings.prices.price(settings.hostType) else {
            throw TraceError(line: nil, column: nil, message: "unknown host type \(settings.hostType)")
        }
        hostType = type
        timers = ScalingTimers(
            idleWindow: .seconds(settings.batchIdleSeconds), maxWindow: .seconds(settings.batchMaxSeconds),
            emptyAfter: .seconds(settings.emptyEVMSeconds))
        for _ in 0..<settings.minHosts { addHost(at: 0, readyAt: 0) }
    }

    var shape: Resources { Resources(cpuMillis: Int64(settings.evmShape.vcpus) * 1000, memoryBytes: settings.evmShape.memoryBytes) }
    var allocatable: Resources { shape - settings.reserved }

    mutating func addHost(at time: Int, readyAt: Int) {
        let id = nextHost
        nextHost += 1
        hosts[id] = Host(id: id, launchedAt: time, readyAt: readyAt)
        hostOrder.append(id)
    }

    /// The EVMs the first pods need, and the hosts for them, ready at 0.
    mutating func bootstrap(_ cluster: inout SimCluster) {
        scaleUp(&cluster, at: 0)
        if hostOrder.count > settings.minHosts || cluster.nodes.isEmpty { scaleUp(&cluster, at: 0) }
        keepFloor(&cluster, floor: floor(at: 0), at: 0)
        decisions.removeAll()
        extras = ScenarioExtras()
    }

    mutating func step(_ cluster: inout SimCluster, at time: Int) {
        let uptime = Duration.seconds(time)
        let pending = Set(cluster.pending.map { "p\($0)" })
        // The service's pass, in its order: a due batch, else the floor; scale-down only with nothing pending.
        var decided = false
        let floor = floor(at: time)
        if timers.observe(pending: pending, at: uptime) {
            scaleUp(&cluster, at: time)
            timers.decided()
            decided = true
        }
        if !decided { keepFloor(&cluster, floor: floor, at: time) }
        if cluster.pending.isEmpty { scaleDown(&cluster, minimum: floor.minEVMs, at: time) }
        land(&cluster, at: time)
        if time % settings.rebalanceSeconds == 0 { rebalance(&cluster, at: time) }
        releaseHosts(cluster, at: time)
        for snapshot in snapshots(cluster).values where !snapshot.used.fits(in: snapshot.usageLimit) {
            extras.hotHostSeconds += settings.step
        }
    }

    /// The pool's floor at simulated `time`.
    func floor(at time: Int) -> CapacityFloor {
        CapacityCalendar.floor(policy, at: settings.start.addingTimeInterval(Double(time)))
    }

    // MARK: Autoscaler

    /// As the service: the packer's count of new EVMs, joined warm EVMs claimed first, the rest created.
    mutating func scaleUp(_ cluster: inout SimCluster, at time: Int) {
        let input = PackInput(
            shape: PackShape(pool: "emp", allocatable: allocatable, labels: [:], taints: []), nodes: cluster.packNodes(taints: []),
            pods: cluster.pendingPackPods(), maxNewEVMs: max(0, settings.maxEVMs - cluster.nodes.count))
        let count = PodPacker().pack(input).newEVMs.count
        guard count > 0 else { return }
        decisions.append((time, count))
        let claimable = cluster.nodeOrder.filter { cluster.nodes[$0]!.warm && cluster.nodes[$0]!.isReady(at: time) }.prefix(count)
        for id in claimable { cluster.claim(id) }
        extras.warmClaims += claimable.count
        create(count - claimable.count, &cluster, at: time)
    }

    /// As the service: EVMs in use up to the floor's minimum; else warm EVMs refilled to, or retired down to, the
    /// floor's count (not yet joined first, then the newest).
    mutating func keepFloor(_ cluster: inout SimCluster, floor: CapacityFloor, at time: Int) {
        let live = cluster.nodes.count
        let warm = cluster.nodeOrder.filter { cluster.nodes[$0]!.warm }
        switch ScalingTimers.floorAction(
            inUse: live - warm.count, warm: warm.count, live: live, minEVMs: floor.minEVMs, warmWanted: floor.warm,
            maxEVMs: settings.maxEVMs)
        {
        case .none:
            return
        case .create(let missing):
            decisions.append((time, missing))
            create(missing, &cluster, at: time)
        case .refillWarm(let count):
            create(count, &cluster, at: time, warm: true)
        case .retireWarm(let count):
            // Not yet joined first, then the newest (as the service).
            let extra = warm.sorted { a, b in
                let (x, y) = (cluster.nodes[a]!, cluster.nodes[b]!)
                return (x.isReady(at: time) ? 1 : 0, -x.launchedAt, a) < (y.isReady(at: time) ? 1 : 0, -y.launchedAt, b)
            }.prefix(count)
            for id in extra { cluster.remove(id, at: time) }
        }
    }

    /// Places `count` EVMs on ready hosts; asks for hosts when they lack room.
    mutating func create(_ count: Int, _ cluster: inout SimCluster, at time: Int, warm: Bool = false) {
        guard count > 0 else { return }
        let requests = (0..<count).map {
            PlacementRequest(id: "new-\($0)", size: shape, expectedUse: shape.scaled(cpu: 0.25, memory: 0.25))
        }
        let ready = hostOrder.filter { hosts[$0]!.readyAt <= time }
        let views = snapshots(cluster)
        let result = Placer().place(requests, on: ready.map { views[$0]! })
        for placement in result.placements {
            let host = Int(placement.hostID.dropFirst())!
            let boot = time == 0 ? 0 : time + settings.evmBootSeconds
            cluster.launch(allocatable: allocatable, at: time, readyAt: boot, host: host, warm: warm)
            hosts[host]!.emptySince = nil
        }
        let short = result.unplaced.count
        // Hosts are asked for only when none is on its way (the host provider launches nothing while a launch is
        // in flight).
        guard short > 0, !hostOrder.contains(where: { hosts[$0]!.readyAt > time }) else { return }
        let limit = hostType.capacity.scaled(cpu: settings.cpuOvercommit, memory: settings.memoryOvercommit)
        let missing = shape * Int64(short)
        let wanted = max(
            (missing.memoryBytes + limit.memoryBytes - 1) / limit.memoryBytes, (missing.cpuMillis + limit.cpuMillis - 1) / limit.cpuMillis)
        for _ in 0..<max(1, Int(wanted)) { addHost(at: time, readyAt: time == 0 ? 0 : time + settings.hostLaunchSeconds) }
    }

    /// Empty EVMs removed by the service's timers, keeping `minimum` in use.
    mutating func scaleDown(_ cluster: inout SimCluster, minimum: Int, at time: Int) {
        let migrating = Set(flights.map(\.node))
        let empty = cluster.nodeOrder.filter {
            cluster.nodes[$0]!.isReady(at: time) && cluster.nodes[$0]!.pods.isEmpty && !cluster.nodes[$0]!.warm && !migrating.contains($0)
        }
        .reversed()  // newest first
        let free = cluster.nodeOrder.filter { !cluster.nodes[$0]!.warm }.reduce(Resources.zero) { $0 + cluster.nodes[$1]!.free }
        let removals = timers.removals(
            empty: empty.map { ScalingTimers.EmptyEVM(id: "n\($0)", free: cluster.nodes[$0]!.free) },
            pool: Set(cluster.nodeOrder.map { "n\($0)" }), live: cluster.nodeOrder.count { !cluster.nodes[$0]!.warm },
            minimum: minimum, headroom: nil, free: free,
            at: .seconds(time))
        if !removals.isEmpty { self.removals.append((time, removals.count)) }
        for name in removals {
            let id = Int(name.dropFirst())!
            cluster.remove(id, at: time)
            lastMove[id] = nil
        }
    }

    // MARK: Hosts

    /// An EVM's use: its pods' plus what its own system takes.
    func used(_ node: SimCluster.Node) -> Resources { node.used + settings.reserved }

    /// Every host as the placer and the planner see it, from one pass over the EVMs: its EVMs' use, and the
    /// allocation of its EVMs and of those migrating to it.
    func snapshots(_ cluster: SimCluster) -> [Int: HostSnapshot] {
        var count: [Int: Int] = [:]
        var load: [Int: Resources] = [:]
        for id in cluster.nodeOrder {
            let node = cluster.nodes[id]!
            guard let host = node.host else { continue }
            count[host, default: 0] += 1
            load[host, default: .zero] += used(node)
        }
        for flight in flights { count[flight.to, default: 0] += 1 }
        return Dictionary(
            uniqueKeysWithValues: hostOrder.map { host in
                (
                    host,
                    HostSnapshot(
                        id: "h\(host)", capacity: hostType.capacity, allocated: shape * Int64(count[host] ?? 0), used: load[host] ?? .zero,
                        cpuOvercommit: settings.cpuOvercommit, memoryOvercommit: settings.memoryOvercommit,
                        highWatermark: settings.highWatermark, poolID: "emp")
                )
            })
    }

    func snapshot(_ host: Int, _ cluster: SimCluster) -> HostSnapshot { snapshots(cluster)[host]! }

    mutating func rebalance(_ cluster: inout SimCluster, at time: Int) {
        let ready = hostOrder.filter { hosts[$0]!.readyAt <= time }
        guard ready.count > 1 else { return }
        let evms = cluster.nodeOrder.compactMap { id -> EVMSnapshot? in
            guard let node = cluster.nodes[id], let host = node.host, ready.contains(host) else { return nil }
            let moved = lastMove[id]
            return EVMSnapshot(
                id: "n\(id)", hostID: "h\(host)", size: shape, used: used(node), secondsSinceMigration: moved.map { Double(time - $0.at) },
                previousHostID: moved.map { "h\($0.from)" })
        }
        let views = snapshots(cluster)
        let inFlight = flights.map {
            InFlightMigration(evmID: "n\($0.node)", from: "h\($0.from)", to: "h\($0.to)", remainingSeconds: Double($0.endsAt - time))
        }
        let snapshot = Snapshot(
            hosts: ready.map { views[$0]! }, evms: evms, inFlight: inFlight,
            pools: [PoolSnapshot(id: "emp", minHosts: settings.minHosts)])
        var planner = RebalanceSettings()
        planner.bandwidthBytesPerSecond = settings.migrationBandwidth
        let plan = Rebalancer(settings: planner).plan(snapshot)
        let moving = Set(flights.map(\.node))
        for move in plan.startable {
            guard let id = Int(move.evmID.dropFirst()), let from = Int(move.from.dropFirst()), let to = Int(move.to.dropFirst()),
                !moving.contains(id), cluster.nodes[id] != nil
            else { continue }
            let seconds = max(1, Int(move.durationSeconds.rounded(.up)))
            flights.append(Flight(node: id, from: from, to: to, endsAt: time + seconds))
            hosts[to]!.emptySince = nil
            extras.migrations += 1
            extras.bytesMoved += move.bytes
            extras.migrationSeconds += seconds
        }
    }

    /// Migrations that have ended move their EVM to the destination.
    mutating func land(_ cluster: inout SimCluster, at time: Int) {
        let (done, flying) = (flights.filter { $0.endsAt <= time }, flights.filter { $0.endsAt > time })
        flights = flying
        for flight in done where cluster.nodes[flight.node] != nil {
            cluster.setHost(flight.node, flight.to)
            lastMove[flight.node] = (flight.from, time)
        }
    }

    /// Returns hosts empty for ``SimulationSettings/hostReleaseSeconds``, keeping ``SimulationSettings/minHosts``.
    mutating func releaseHosts(_ cluster: SimCluster, at time: Int) {
        // Holding an EVM, or one migrating to it.
        let occupied = Set(cluster.nodeOrder.compactMap { cluster.nodes[$0]!.host } + flights.map(\.to))
        for id in hostOrder where hosts[id]!.readyAt <= time {
            if !occupied.contains(id) {
                if hosts[id]!.emptySince == nil { hosts[id]!.emptySince = time }
            } else {
                hosts[id]!.emptySince = nil
            }
        }
        let releasable = hostOrder.filter { id in
            hosts[id]!.emptySince.map { time - $0 >= settings.hostReleaseSeconds } ?? false
        }
        var count = hostOrder.count
        for id in releasable.reversed() where count > settings.minHosts {
            hosts[id] = nil
            hostOrder.removeAll { $0 == id }
            count -= 1
        }
    }

    func held(_ cluster: SimCluster, at time: Int) -> (capacity: Resources, hourly: Double, machines: Int) {
        (hostType.capacity * Int64(hostOrder.count), hostType.hourly * Double(hostOrder.count), hostOrder.count)
    }
}
