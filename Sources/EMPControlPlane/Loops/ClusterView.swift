import EMPModel
import EMPScheduling
import Foundation
import Kube

/// The autoscaler's reading of the cluster for one pool, pure: which pods are candidates for a scale-up, the
/// packer's input (existing EVM nodes with their room, EVMs that can still boot counted as empty room), which EVM
/// nodes are empty, and which EVMs are warm.
/// Everything derived is computed once, in `init`: the autoscaler reads a view several times per tick.
struct ClusterView: Sendable {
    let pool: Pool
    /// Pods bound to the pool's EVM nodes (not terminated), by node name.
    let bound: [String: [Pod]]
    let evms: [EVM]
    /// What a new EVM of the pool offers pods (its shape minus kube/system reserved and the eviction threshold).
    let shape: PackShape
    /// The pool's EVM nodes by name.
    let poolNodes: [String: Node]
    /// Pods the scheduler said it cannot place, that tolerate the EMP taint and whose nodeSelector and required
    /// node affinity admit this pool's EVM nodes (a pod aimed at another pool is that pool's business).
    let unschedulable: [Pod]
    /// ``unschedulable`` as the packer sees them, in the same order.
    let pending: [PackPod]
    /// Hosts whose agent reports (an EVM elsewhere cannot become Ready).
    let readyHosts: Set<String>
    /// The clock's reading and the boot timeout: an EVM not Ready by then will not be.
    let now: Date
    let bootTimeout: TimeInterval

    /// `candidates` are pods passing ``isCandidate(_:)`` (any pool's); `bound` holds at least the pods on this pool's
    /// nodes (``PodIndex`` gives both without going over every pod).
    init(
        pool: Pool, candidates: [Pod], bound: [String: [Pod]], nodes: [Node], evms: [EVM], reserved: EMPModel.Resources,
        readyHosts: Set<String> = [], now: Date = Date(), bootTimeout: TimeInterval = 600
    ) {
        self.pool = pool
        self.evms = evms
        self.readyHosts = readyHosts
        self.now = now
        self.bootTimeout = bootTimeout
        let shape = PackShape(pool: pool.id, shape: pool.shape, reserved: reserved)
        self.shape = shape
        poolNodes = Dictionary(
            nodes.filter {
                $0.metadata.labels[Profile.poolLabel] == pool.id && $0.metadata.labels[Profile.ownedLabel] == Profile.ownedValue
            }
            .map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var mine: [String: [Pod]] = [:]
        for name in poolNodes.keys { mine[name] = bound[name] }
        self.bound = mine
        let candidates = candidates.compactMap { pod -> (Pod, PackPod)? in
            let packed = ClusterView.packPod(pod)
            let admitted =
                packed.nodeSelector.allSatisfy { shape.labels[$0.key] == $0.value }
                && (packed.nodeAffinity.isEmpty || packed.nodeAffinity.contains { $0.allSatisfy { $0.matches(shape.labels) } })
            return admitted ? (pod, packed) : nil
        }
        unschedulable = candidates.map(\.0)
        pending = candidates.map(\.1)
    }

    static let taint = Taint(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)

    /// A pod a scale-up of some pool may be for: the scheduler could not place it, it is unbound and not being
    /// deleted, and it tolerates the EMP taint (which pool's nodes it admits is each view's business).
    static func isCandidate(_ pod: Pod) -> Bool {
        pod.isUnschedulable && (pod.spec.nodeName ?? "").isEmpty && pod.metadata.deletionTimestamp == nil
            && pod.spec.tolerations.contains(where: { $0.tolerates(ClusterView.taint) })
    }

    /// EVMs that count in the pool (not deleting, lost or failed), warm ones included.
    var live: [EVM] { evms.filter(\.isLive) }
    /// Warm EVMs whose kubelet has joined: a claim hands them over at once.
    var claimableWarm: [EVM] { evms.filter { $0.phase == .warm && $0.nodeReadyAt != nil } }

    /// True when `evm`'s Node, not Ready now, may still become Ready: its host reports and it was created (or
    /// claimed from warm) less than the boot timeout ago.
    func canStillBecomeReady(_ evm: EVM) -> Bool {
        guard let host = evm.hostID, readyHosts.contains(host) else { return false }
        return now.timeIntervalSince(evm.claimedAt ?? evm.createdAt) < bootTimeout
    }

    /// The packer's input for the unschedulable pods: room on the pool's Ready nodes, full room on EVMs still
    /// booting (no Node yet, or not Ready, but within the boot timeout on a host that reports), and the pool's
    /// remaining EVM budget (claimable warm EVMs count as budget: claiming one creates nothing).
    func packInput(headroom: EMPModel.Resources? = nil) -> PackInput {
        var packNodes: [PackNode] = []
        let live = self.live
        for evm in live where evm.phase != .warm {
            guard let node = poolNodes[evm.nodeName], node.isReady, !node.spec.unschedulable else {
                if poolNodes[evm.nodeName]?.spec.unschedulable == true { continue }
                guard canStillBecomeReady(evm) else { continue }
                packNodes.append(PackNode(name: evm.nodeName, labels: shape.labels, taints: shape.taints, free: shape.allocatable))
                continue
            }
            let bound = self.bound[node.name] ?? []
            let used = bound.reduce(EMPModel.Resources.zero) { $0 + ClusterView.requests($1) }
            let allocatable = ClusterView.allocatable(node) ?? shape.allocatable
            let pods = Int(node.status.allocatable["pods"] ?? "") ?? shape.pods
            packNodes.append(
                PackNode(
                    name: node.name, labels: node.metadata.labels,
                    taints: node.spec.taints.map { PackTaint(key: $0.key, value: $0.value ?? "", effect: $0.effect) },
                    free: allocatable - used, freePods: pods - bound.count, podLabels: bound.map(\.metadata.labels)))
        }
        return PackInput(
            shape: shape, nodes: packNodes, pods: pending,
            maxNewEVMs: max(0, pool.policy.maxEVMs - live.count) + claimableWarm.count, headroom: headroom)
    }

    /// EVMs whose node runs nothing but DaemonSet and mirror pods.
    var emptyEVMs: [EVM] {
        evms.filter { evm in
            evm.phase == .running && poolNodes[evm.nodeName]?.isReady == true
                && !(bound[evm.nodeName] ?? []).contains(where: ClusterView.keepsNodeBusy)
        }
    }

    /// A pod that keeps its node from counting as empty, and that a drain evicts: running or pending on a node,
    /// not a DaemonSet's (they run everywhere) and not a mirror of a static pod (the kubelet owns those).
    static func keepsNodeBusy(_ pod: Pod) -> Bool {
        !pod.isTerminated && !(pod.spec.nodeName ?? "").isEmpty && pod.controller?.kind != "DaemonSet"
            && pod.metadata.annotations["kubernetes.io/config.mirror"] == nil
    }

    // MARK: Conversions

    static func packPod(_ pod: Pod) -> PackPod {
        let affinity = pod.spec.affinity
        return PackPod(
            id: pod.key, requests: requests(pod), labels: pod.metadata.labels, nodeSelector: pod.spec.nodeSelector,
            tolerations: pod.spec.tolerations.map {
                PackToleration(key: $0.key, operator: $0.operator, value: $0.value, effect: $0.effect)
            },
            nodeAffinity: affinity.requiredNodeSelectorTerms.map { term in
                term.matchExpressions.map { PackRequirement(key: $0.key, operator: $0.operator, values: $0.values) }
            },
            antiAffinity: affinity.requiredPodAntiAffinity.filter { $0.topologyKey == "kubernetes.io/hostname" }.map(
                \.labelSelector.matchLabels))
    }

    /// Effective requests (containers' sum vs the largest init container).
    static func requests(_ pod: Pod) -> EMPModel.Resources {
        .effectiveRequest(
            containers: pod.spec.containers.map { EMPModel.Resources(requests: $0.requests) },
            initContainers: pod.spec.initContainers.map { EMPModel.Resources(requests: $0.requests) })
    }

    static func allocatable(_ node: Node) -> EMPModel.Resources? {
        let values = node.status.allocatable
        guard let cpu = values["cpu"], let memory = values["memory"] else { return nil }
        return try? EMPModel.Resources(cpu: cpu, memory: memory)
    }
}
