import EMPModel
public import Kube
import NIOConcurrencyHelpers

/// The autoscaler's pods, kept from the pod informer's events so a pass reads only what it needs — the scale-up
/// candidates and the pods on the pool's EVM nodes — instead of copying and filtering every pod of the cluster.
public struct PodIndex: Sendable {
    /// Pods a scale-up may be for (``ClusterView/isCandidate(_:)``), by key.
    private(set) var candidates: [String: Pod] = [:]
    /// Pods bound to a node and not terminated, by node name and key.
    private(set) var bound: [String: [String: Pod]] = [:]
    /// Where each bound pod is, so a change or a deletion finds it.
    private var nodeOf: [String: String] = [:]

    public init(_ pods: [Pod] = []) { for pod in pods { update(pod) } }

    mutating func update(_ pod: Pod) {
        remove(pod)
        let key = pod.key
        if ClusterView.isCandidate(pod) { candidates[key] = pod }
        if let node = pod.spec.nodeName, !node.isEmpty, !pod.isTerminated {
            bound[node, default: [:]][key] = pod
            nodeOf[key] = node
        }
    }

    mutating func remove(_ pod: Pod) {
        let key = pod.key
        candidates[key] = nil
        if let node = nodeOf.removeValue(forKey: key) {
            bound[node]?[key] = nil
            if bound[node]?.isEmpty == true { bound[node] = nil }
        }
    }

    public mutating func apply(_ event: InformerEvent<Pod>) {
        switch event {
        case .added(let pod), .modified(let pod): update(pod)
        case .deleted(let pod): remove(pod)
        case .synced: break
        }
    }

    /// The candidates in key order, and the pods bound to each of `nodes`: what one pass reads.
    public func reading(nodes: some Sequence<String>) -> (candidates: [Pod], bound: [String: [Pod]]) {
        var pods: [String: [Pod]] = [:]
        for node in nodes { if let here = bound[node] { pods[node] = Array(here.values) } }
        return (candidates.sorted { $0.key < $1.key }.map(\.value), pods)
    }
}

/// A ``PodIndex`` shared between the task applying the informer's events and the autoscaler's ticks, with a count
/// of the events applied (the tick's change counter for pods). Events that arrive before ``seed(_:)`` are kept and
/// applied after it, in order, so the listed pods and the changes since compose correctly.
final class SharedPodIndex: Sendable {
    private struct State {
        var index = PodIndex()
        var changes = 0
        var seeded = false
        var early: [InformerEvent<Pod>] = []
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Starts from `pods` (the informer's list) and applies what arrived meanwhile.
    func seed(_ pods: [Pod]) {
        state.withLockedValue {
            $0.index = PodIndex(pods)
            for event in $0.early { $0.index.apply(event) }
            $0.early = []
            $0.seeded = true
            $0.changes += 1
        }
    }

    func apply(_ event: InformerEvent<Pod>) {
        if case .synced = event { return }
        state.withLockedValue {
            guard $0.seeded else {
                $0.early.append(event)
                return
            }
            $0.index.apply(event)
            $0.changes += 1
        }
    }

    var changes: Int { state.withLockedValue { $0.changes } }

    func reading(nodes: [String]) -> (candidates: [Pod], bound: [String: [Pod]]) {
        state.withLockedValue { $0.index.reading(nodes: nodes) }
    }
}
