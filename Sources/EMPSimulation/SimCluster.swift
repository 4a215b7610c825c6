import EMPModel
import EMPScheduling

/// The Kubernetes side every scenario shares: pods that follow the trace, nodes that scenarios launch and remove,
/// and a scheduler that binds pending pods to ready nodes with room (first fit, oldest node first).
struct SimCluster {
    struct Pod {
        let id: Int
        let workload: Int
        let request: Resources
        let usage: Resources
        /// When the pod (or, after an eviction, its replacement) was created.
        let created: Int
        var node: Int?
        var runningAt: Int?
    }

    struct Node {
        let id: Int
        let allocatable: Resources
        let launchedAt: Int
        let readyAt: Int
        var requested = Resources.zero
        var used = Resources.zero
        var pods: [Int] = []
        /// What the scenario keeps per node: the instance type's hourly price (baselines), the host (EMP).
        let hourly: Double
        var host: Int?
        /// A warm EVM: booted and joined but tainted; no pod lands on it until it is claimed.
        var warm = false

        var free: Resources { allocatable - requested }
        func isReady(at time: Int) -> Bool { readyAt <= time }
    }

    let podStartSeconds: Int
    let podsPerNode: Int
    private(set) var pods: [Int: Pod] = [:]
    /// Live nodes by id (removed ones are dropped).
    private(set) var nodes: [Int: Node] = [:]
    /// Live node ids, oldest first.
    private(set) var nodeOrder: [Int] = []
    /// Pending pod ids, oldest first.
    private(set) var pending: [Int] = []
    /// Per workload, its pods oldest first.
    private var byWorkload: [[Int]]
    private var nextPod = 0
    private var nextNode = 0
    private var applied = 0
    private var target: [(replicas: Int, request: Resources, usage: Resources)]
    private let trace: DemandTrace
    /// Each workload's position in ``DemandTrace/workloads``.
    private let workloadIndex: [String: Int]

    /// Seconds each pod that ran waited (creation to running).
    private(set) var waits: [Int] = []
    /// Pods deleted before they ran.
    private(set) var neverRan = 0
    /// Pods evicted by a node's removal (their replacements count as new pods).
    private(set) var evictions = 0

    init(trace: DemandTrace, podStartSeconds: Int, podsPerNode: Int = 110) {
        self.trace = trace
        self.podStartSeconds = podStartSeconds
        self.podsPerNode = podsPerNode
        byWorkload = Array(repeating: [], count: trace.workloads.count)
        target = Array(repeating: (0, .zero, .zero), count: trace.workloads.count)
        workloadIndex = Dictionary(uniqueKeysWithValues: trace.workloads.enumerated().map { ($1, $0) })
    }

    var workloadCount: Int { trace.workloads.count }

    // MARK: Demand

    /// Applies every sample up to `time`: pods created or deleted (pending ones first, then the newest).
    mutating func follow(to time: Int) {
        var touched = Set<Int>()
        while applied < trace.samples.count, trace.samples[applied].time <= time {
            let sample = trace.samples[applied]
            let workload = workloadIndex[sample.workload]!
            target[workload] = (sample.replicas, sample.request, sample.usage)
            touched.insert(workload)
            applied += 1
        }
        for workload in touched.sorted() { reconcile(workload, at: time) }
    }

    private mutating func reconcile(_ workload: Int, at time: Int) {
        let want = target[workload]
        while byWorkload[workload].count < want.replicas {
            create(workload: workload, request: want.request, usage: want.usage, at: time)
        }
        while byWorkload[workload].count > want.replicas {
            let ids = byWorkload[workload]
            // A ReplicaSet deletes pods not yet running before running ones, then the newest.
            let victim = ids.last { pods[$0]?.node == nil } ?? ids.last!
            delete(victim)
        }
    }

    private mutating func create(workload: Int, request: Resources, usage: Resources, at time: Int) {
        let id = nextPod
        nextPod += 1
        pods[id] = Pod(id: id, workload: workload, request: request, usage: usage, created: time)
        byWorkload[workload].append(id)
        pending.append(id)
    }

    private mutating func delete(_ id: Int) {
        guard let pod = pods.removeValue(forKey: id) else { return }
        byWorkload[pod.workload].removeAll { $0 == id }
        if let node = pod.node {
            nodes[node]?.pods.removeAll { $0 == id }
            nodes[node]?.requested -= pod.request
            nodes[node]?.used -= pod.usage
        } else {
            pending.removeAll { $0 == id }
        }
        if pod.runningAt == nil { neverRan += 1 }
    }

    // MARK: Scheduling

    /// Binds pending pods, oldest first, each to the oldest ready node with room; a bound pod runs after the pod
    /// start latency.
    mutating func schedule(at time: Int) {
        guard !pending.isEmpty else { return }
        let ready = nodeOrder.filter { nodes[$0]!.isReady(at: time) && !nodes[$0]!.warm }
        guard !ready.isEmpty else { return }
        var left: [Int] = []
        for id in pending {
            let request = pods[id]!.request
            guard let node = ready.first(where: { nodes[$0]!.pods.count < podsPerNode && request.fits(in: nodes[$0]!.free) }) else {
                left.append(id)
                continue
            }
            bind(id, to: node, at: time)
        }
        pending = left
    }

    private mutating func bind(_ id: Int, to node: Int, at time: Int) {
        pods[id]!.node = node
        let running = time + podStartSeconds
        pods[id]!.runningAt = running
        waits.append(running - pods[id]!.created)
        nodes[node]!.pods.append(id)
        nodes[node]!.requested += pods[id]!.request
        nodes[node]!.used += pods[id]!.usage
    }

    // MARK: Nodes

    @discardableResult
    mutating func launch(allocatable: Resources, at time: Int, readyAt: Int, hourly: Double = 0, host: Int? = nil, warm: Bool = false)
        -> Int
    {
        let id = nextNode
        nextNode += 1
        nodes[id] = Node(id: id, allocatable: allocatable, launchedAt: time, readyAt: readyAt, hourly: hourly, host: host, warm: warm)
        nodeOrder.append(id)
        return id
    }

    /// Removes a node; its pods are evicted and their controllers create replacements, pending at `time`.
    mutating func remove(_ id: Int, at time: Int) {
        guard let node = nodes.removeValue(forKey: id) else { return }
        nodeOrder.removeAll { $0 == id }
        for podID in node.pods {
            guard let pod = pods.removeValue(forKey: podID) else { continue }
            byWorkload[pod.workload].removeAll { $0 == podID }
            evictions += 1
            create(workload: pod.workload, request: pod.request, usage: pod.usage, at: time)
        }
    }

    mutating func setHost(_ id: Int, _ host: Int?) { nodes[id]?.host = host }

    /// Hands a warm EVM over to pods (its warm taint removed).
    mutating func claim(_ id: Int) { nodes[id]?.warm = false }

    /// True when the pods of `node` would fit on the other ready nodes (first fit, oldest first), `excluding`
    /// nodes about to go too.
    func podsFitElsewhere(_ node: Int, excluding: Set<Int> = [], at time: Int) -> Bool {
        var free = Dictionary(
            uniqueKeysWithValues: nodeOrder.filter {
                $0 != node && !excluding.contains($0) && nodes[$0]!.isReady(at: time) && !nodes[$0]!.warm
            }
            .map {
                ($0, (nodes[$0]!.free, podsPerNode - nodes[$0]!.pods.count))
            })
        let order = nodeOrder.filter { free[$0] != nil }
        for podID in nodes[node]?.pods ?? [] {
            let request = pods[podID]!.request
            guard let target = order.first(where: { free[$0]!.1 > 0 && request.fits(in: free[$0]!.0) }) else { return false }
            free[target]!.0 -= request
            free[target]!.1 -= 1
        }
        return true
    }

    /// Pods waiting as the packer sees them.
    func pendingPackPods() -> [PackPod] {
        pending.map { PackPod(id: "p\($0)", requests: pods[$0]!.request) }
    }

    /// Every node's free room as the packer sees it (nodes still launching count with their whole room, as the
    /// autoscalers count nodes that are coming; warm EVMs do not: they are claimed after the count).
    func packNodes(taints: [PackTaint]) -> [PackNode] {
        nodeOrder.filter { !nodes[$0]!.warm }.map { id in
            let node = nodes[id]!
            return PackNode(name: "n\(id)", labels: [:], taints: taints, free: node.free, freePods: podsPerNode - node.pods.count)
        }
    }

    /// Requested and used by running pods; requested by every pod asked for (demand).
    var requested: Resources { nodes.values.reduce(.zero) { $0 + $1.requested } }
    var used: Resources { nodes.values.reduce(.zero) { $0 + $1.used } }
    var demand: Resources { pods.values.reduce(.zero) { $0 + $1.request } }
}
