public import EMPModel
import EMPScheduling
public import Foundation

/// One way of providing capacity for the trace: it launches and removes nodes (and, for EMP, hosts) as time
/// passes, and says what the capacity it holds costs.
protocol Scenario {
    var name: String { get }
    /// Capacity for the demand at the start, ready at once (every scenario starts in its steady state).
    mutating func bootstrap(_ cluster: inout SimCluster)
    /// Decisions at `time` (called every step, after the trace and the scheduler).
    mutating func step(_ cluster: inout SimCluster, at time: Int)
    /// Physical capacity held now (what utilisation is measured against) and what it costs per hour.
    func held(_ cluster: SimCluster, at time: Int) -> (capacity: Resources, hourly: Double, machines: Int)
    /// Scenario-specific figures: host-seconds over the watermark, migrations and bytes moved.
    var extras: ScenarioExtras { get }
}

/// What only some scenarios have.
public struct ScenarioExtras: Sendable, Hashable, Codable {
    public var hotHostSeconds = 0
    public var migrations = 0
    public var bytesMoved: Int64 = 0
    /// Seconds EVMs spent migrating (their memory over the migration bandwidth).
    public var migrationSeconds = 0
    /// Warm EVMs handed to pending pods.
    public var warmClaims = 0
}

/// How the simulated machines behave; defaults from published figures (see docs/simulate.md).
public struct SimulationSettings: Sendable, Hashable {
    /// Simulated seconds per step.
    public var step = 10
    /// Bound pod → running.
    public var podStartSeconds = 5
    /// EC2 instance launch + kubelet join (60–90 s published).
    public var nodeLaunchSeconds = 75
    /// EVM boot + kubelet join on a host that is up.
    public var evmBootSeconds = 45
    /// A metal host: launch, boot, agent join.
    public var hostLaunchSeconds = 600
    /// What the kubelet keeps on every node and EVM (the autoscaler's default), and what an EVM's own system uses.
    public var reserved = Resources(cpuMillis: 100, memoryBytes: 1124 << 20)
    /// Live-migration bandwidth, bytes per second (10 Gbit/s).
    public var migrationBandwidth: Double = 1.25e9
    /// Cluster-autoscaler: the one instance type, the scan interval, the scale-down rule.
    public var clusterAutoscalerType = "m5.4xlarge"
    public var scanSeconds = 10
    public var scaleDownUtilisation = 0.5
    public var scaleDownUnneededSeconds = 600
    /// Karpenter: the instance families offered and how long an empty node stays.
    public var karpenterFamilies = ["m5", "c5", "r5"]
    public var consolidateAfterSeconds = 30
    /// EMP: the hosts' type, the EVM shape and the pool's ratios.
    public var hostType = "m5.metal"
    public var evmShape = EVMShape(vcpus: 8, memoryBytes: 16 << 30)
    public var cpuOvercommit = 2.0
    public var memoryOvercommit = 1.5
    public var highWatermark = PoolPolicy.defaultHighWatermark
    public var minHosts = 1
    /// The pool's floor of EVMs in use, and its most EVMs.
    public var minEVMs = 0
    public var maxEVMs = 2_000
    /// Warm EVMs the pool keeps (booted, joined, no pods; a pending pod claims one at once) and schedules that
    /// raise the floor (``CapacitySchedule``, read on the simulated day that starts at ``start``).
    public var warm = 0
    public var schedules: [CapacitySchedule] = []
    /// Midnight UTC of the simulated day: a Monday, so weekday schedules apply.
    public var start = Date(timeIntervalSince1970: 1_773_014_400)  // 2026-03-09T00:00:00Z
    /// The autoscaler's batch window and empty-EVM timer (its defaults).
    public var batchIdleSeconds = 1
    public var batchMaxSeconds = 10
    public var emptyEVMSeconds = 30
    /// An empty host is returned after this long.
    public var hostReleaseSeconds = 600
    public var rebalanceSeconds = 60
    public var prices = PriceTable.simulation

    public init() {}

    /// The EMP pool these settings describe: what the simulator's autoscaler reads its floor from, and what
    /// `empctl simulate` validates before running.
    public var poolPolicy: PoolPolicy {
        PoolPolicy(
            cpuOvercommit: cpuOvercommit, memoryOvercommit: memoryOvercommit, minEVMs: minEVMs, maxEVMs: maxEVMs,
            highWatermark: highWatermark, warm: warm != 0 ? WarmPolicy(count: warm) : nil, schedules: schedules.isEmpty ? nil : schedules)
    }
}

extension PriceTable {
    /// The cost view's table with the c5 and r5 sizes a node autoscaler chooses among (AWS on-demand, us-east-1,
    /// Linux).
    public static let simulation = PriceTable.shipped.merging([
        InstancePrice(name: "c5.large", vcpus: 2, memoryBytes: 4 << 30, hourly: 0.085),
        InstancePrice(name: "c5.xlarge", vcpus: 4, memoryBytes: 8 << 30, hourly: 0.17),
        InstancePrice(name: "c5.2xlarge", vcpus: 8, memoryBytes: 16 << 30, hourly: 0.34),
        InstancePrice(name: "c5.4xlarge", vcpus: 16, memoryBytes: 32 << 30, hourly: 0.68),
        InstancePrice(name: "c5.9xlarge", vcpus: 36, memoryBytes: 72 << 30, hourly: 1.53),
        InstancePrice(name: "c5.12xlarge", vcpus: 48, memoryBytes: 96 << 30, hourly: 2.04),
        InstancePrice(name: "c5.18xlarge", vcpus: 72, memoryBytes: 144 << 30, hourly: 3.06),
        InstancePrice(name: "c5.24xlarge", vcpus: 96, memoryBytes: 192 << 30, hourly: 4.08),
        InstancePrice(name: "r5.large", vcpus: 2, memoryBytes: 16 << 30, hourly: 0.126),
        InstancePrice(name: "r5.xlarge", vcpus: 4, memoryBytes: 32 << 30, hourly: 0.252),
        InstancePrice(name: "r5.2xlarge", vcpus: 8, memoryBytes: 64 << 30, hourly: 0.504),
        InstancePrice(name: "r5.4xlarge", vcpus: 16, memoryBytes: 128 << 30, hourly: 1.008),
        InstancePrice(name: "r5.8xlarge", vcpus: 32, memoryBytes: 256 << 30, hourly: 2.016),
        InstancePrice(name: "r5.12xlarge", vcpus: 48, memoryBytes: 384 << 30, hourly: 3.024),
        InstancePrice(name: "r5.16xlarge", vcpus: 64, memoryBytes: 512 << 30, hourly: 4.032),
        InstancePrice(name: "r5.24xlarge", vcpus: 96, memoryBytes: 768 << 30, hourly: 6.048),
    ])
}

extension InstancePrice {
    var capacity: Resources { Resources(cpuMillis: Int64(vcpus) * 1000, memoryBytes: memoryBytes) }
}

// MARK: - Cluster-autoscaler

/// Cluster-autoscaler's way (seeds 001, 003): one instance type; every scan, enough nodes for the pods that do not
/// fit (its binpacking estimator: the project's packer with the type's room); a node under 50 % requested for 10
/// minutes whose pods fit elsewhere is removed (empty ones together, at most one with pods per scan).
struct ClusterAutoscalerScenario: Scenario {
    let name = "cluster-autoscaler"
    let settings: SimulationSettings
    let type: InstancePrice
    var unneededSince: [Int: Int] = [:]
    var extras = ScenarioExtras()

    init(settings: SimulationSettings) throws(TraceError) {
        self.settings = settings
        guard let type = settings.prices.price(settings.clusterAutoscalerType) else {
            throw TraceError(line: nil, column: nil, message: "unknown instance type \(settings.clusterAutoscalerType)")
        }
        self.type = type
    }

    mutating func bootstrap(_ cluster: inout SimCluster) { step(&cluster, at: 0) }

    mutating func step(_ cluster: inout SimCluster, at time: Int) {
        guard time % settings.scanSeconds == 0 else { return }
        let allocatable = type.capacity - settings.reserved
        if !cluster.pending.isEmpty {
            let input = PackInput(
                shape: PackShape(pool: "ca", allocatable: allocatable, labels: [:], taints: []), nodes: cluster.packNodes(taints: []),
                pods: cluster.pendingPackPods(), maxNewEVMs: 1_000)
            let count = PodPacker().pack(input).newEVMs.count
            let ready = time == 0 ? 0 : time + settings.nodeLaunchSeconds
            for _ in 0..<count { cluster.launch(allocatable: allocatable, at: time, readyAt: ready, hourly: type.hourly) }
            return
        }
        // Scale-down: every empty node unneeded long enough, then at most one with pods, whose pods fit on the
        // nodes that stay.
        var removeEmpty: [Int] = []
        var withPods: [Int] = []
        for id in cluster.nodeOrder {
            let node = cluster.nodes[id]!
            guard node.isReady(at: time) else { continue }
            let share = node.requested.dominantShare(of: node.allocatable)
            guard share < settings.scaleDownUtilisation else {
                unneededSince[id] = nil
                continue
            }
            let since = unneededSince[id] ?? time
            unneededSince[id] = since
            guard time - since >= settings.scaleDownUnneededSeconds else { continue }
            if node.pods.isEmpty { removeEmpty.append(id) } else { withPods.append(id) }
        }
        let removeOne = withPods.first { cluster.podsFitElsewhere($0, excluding: Set(removeEmpty), at: time) }
        for id in removeEmpty + (removeOne.map { [$0] } ?? []) {
            cluster.remove(id, at: time)
            unneededSince[id] = nil
        }
    }

    func held(_ cluster: SimCluster, at time: Int) -> (capacity: Resources, hourly: Double, machines: Int) {
        let count = cluster.nodes.count
        return (type.capacity * Int64(count), type.hourly * Double(count), count)
    }
}

// MARK: - Karpenter

/// Karpenter's way (seed 004): for each batch of pods that do not fit, the instance type whose nodes cost least
/// for the batch (the project's packer with each type's room, over the m5, c5 and r5 sizes); empty nodes go after
/// 30 s; one under-used node whose pods fit on the others goes per pass (consolidation by deletion).
struct KarpenterScenario: Scenario {
    let name = "karpenter"
    let settings: SimulationSettings
    let types: [InstancePrice]
    var emptySince: [Int: Int] = [:]
    var extras = ScenarioExtras()

    init(settings: SimulationSettings) {
        self.settings = settings
        types = settings.prices.prices.filter { price in
            settings.karpenterFamilies.contains { price.name.hasPrefix($0 + ".") } && !price.name.hasSuffix(".metal")
        }.sorted { ($0.hourly, $0.name) < ($1.hourly, $1.name) }
    }

    mutating func bootstrap(_ cluster: inout SimCluster) { step(&cluster, at: 0) }

    mutating func step(_ cluster: inout SimCluster, at time: Int) {
        if !cluster.pending.isEmpty {
            let pods = cluster.pendingPackPods()
            let nodes = cluster.packNodes(taints: [])
            var best: (cost: Double, count: Int, type: InstancePrice)?
            for type in types {
                let allocatable = type.capacity - settings.reserved
                let result = PodPacker().pack(
                    PackInput(
                        shape: PackShape(pool: "karpenter", allocatable: allocatable, labels: [:], taints: []), nodes: nodes, pods: pods,
                        maxNewEVMs: 1_000))
                // A type too small for some pod is not a choice for this batch.
                guard result.unplaced.isEmpty else { continue }
                let cost = Double(result.newEVMs.count) * type.hourly
                if best == nil || (cost, result.newEVMs.count) < (best!.cost, best!.count) { best = (cost, result.newEVMs.count, type) }
            }
            if let best {
                let ready = time == 0 ? 0 : time + settings.nodeLaunchSeconds
                for _ in 0..<best.count {
                    cluster.launch(allocatable: best.type.capacity - settings.reserved, at: time, readyAt: ready, hourly: best.type.hourly)
                }
            }
            return
        }
        guard time % settings.scanSeconds == 0 else { return }
        var removed: Set<Int> = []
        for id in cluster.nodeOrder {
            let node = cluster.nodes[id]!
            guard node.isReady(at: time), node.pods.isEmpty else {
                emptySince[id] = nil
                continue
            }
            let since = emptySince[id] ?? time
            emptySince[id] = since
            if time - since >= settings.consolidateAfterSeconds { removed.insert(id) }
        }
        // One under-used node (the least requested) whose pods fit on the others.
        let underused = cluster.nodeOrder.filter { id in
            let node = cluster.nodes[id]!
            return !removed.contains(id) && node.isReady(at: time) && !node.pods.isEmpty
                && node.requested.dominantShare(of: node.allocatable) < settings.scaleDownUtilisation
        }.min { a, b in
            let (x, y) = (cluster.nodes[a]!, cluster.nodes[b]!)
            return (x.requested.dominantShare(of: x.allocatable), a) < (y.requested.dominantShare(of: y.allocatable), b)
        }
        if let underused, cluster.podsFitElsewhere(underused, excluding: removed, at: time) { removed.insert(underused) }
        for id in removed.sorted() {
            cluster.remove(id, at: time)
            emptySince[id] = nil
        }
    }

    func held(_ cluster: SimCluster, at time: Int) -> (capacity: Resources, hourly: Double, machines: Int) {
        var capacity = Resources.zero
        var hourly = 0.0
        for id in cluster.nodeOrder {
            let node = cluster.nodes[id]!
            capacity += node.allocatable + settings.reserved
            hourly += node.hourly
        }
        return (capacity, hourly, cluster.nodes.count)
    }
}
