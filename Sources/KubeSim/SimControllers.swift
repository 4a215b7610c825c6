import EMPModel
import Foundation
import Kube
import Logging
import NIOConcurrencyHelpers

/// The cluster behaviour KubeSim adds to storage: a scheduler, the Deployment controller, a kubelet that starts bound
/// pods on Ready nodes, pod garbage collection, owner-reference cascading, namespace finalization and PDB status.
final class SimControllers: Sendable {
    let store: SimStore
    let options: KubeSim.Options
    let logger: Logger
    let api = NIOLockedValueBox<SimAPI?>(nil)
    private let kicks: AsyncStream<Void>
    private let kicker: AsyncStream<Void>.Continuation

    init(store: SimStore, options: KubeSim.Options, logger: Logger) {
        self.store = store
        self.options = options
        self.logger = logger
        (kicks, kicker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a reconcile pass (coalesced).
    func kick() { kicker.yield() }

    func stop() { kicker.finish() }

    /// Reconciles after every kick until ``stop()``.
    func run() async {
        for await _ in kicks {
            await reconcile()
        }
    }

    func reconcile() async {
        await reconcileDeployments()
        collectOrphanedPods()
        finalizeNamespaces()
        markNodesReady()
        schedule()
        runBoundPods()
        updateDeploymentStatus()
        updateBudgets()
    }

    // MARK: helpers shared by the controllers

    func objects(_ resource: SimResource, namespace: String? = nil) -> [JSONObject] {
        store.list(resource.key, namespace: namespace).items.map(\.object)
    }

    /// Read-modify-write of one object; quietly skips objects that vanished.
    func modify(_ resource: SimResource, _ object: JSONObject, _ change: (inout JSONObject) -> Void) {
        store.write(resource.key, namespace: object.namespace, name: object.name) { current in
            guard var current else { return .unchanged }
            let before = current
            change(&current)
            return current == before ? .unchanged : .put(current)
        }
    }

    func remove(_ resource: SimResource, _ object: JSONObject) {
        if let removed = store.write(resource.key, namespace: object.namespace, name: object.name, { $0 == nil ? .unchanged : .delete }) {
            deleted(resource, removed, propagation: "Background")
        }
    }

    // MARK: cascading deletion

    /// Deletes (Background/Foreground) or orphans (Orphan) the dependents of a deleted object.
    func deleted(_ resource: SimResource, _ object: JSONObject, propagation: String) {
        guard object.metadata["deletionTimestamp"] == nil || resource == .namespaces, let uid = object.uid else { return }
        if resource == .nodes { kick() }
        for dependentResource in [SimResource.pods] {
            for dependent in objects(dependentResource, namespace: object.namespace) {
                let references = Pod(object: dependent).metadata.ownerReferences
                guard references.contains(where: { $0.uid == uid }) else { continue }
                if propagation == "Orphan" {
                    modify(dependentResource, dependent) { item in
                        var meta = ObjectMeta(object: item.metadata)
                        meta.ownerReferences = meta.ownerReferences.filter { $0.uid != uid }
                        item.metadata = meta.object
                    }
                } else {
                    remove(dependentResource, dependent)
                }
            }
        }
    }

    /// Pods bound to a Node that no longer exists are deleted (the pod garbage collector).
    func collectOrphanedPods() {
        let nodes = Set(objects(.nodes).map(\.name))
        for pod in objects(.pods) {
            if let node = Pod(object: pod).spec.nodeName, !nodes.contains(node) { remove(.pods, pod) }
        }
    }

    /// A terminating namespace loses its contents, then itself, after ``KubeSim/Options/namespaceFinalizeDelay``
    /// (the namespace controller is not instant either: clients may still delete what is inside).
    func finalizeNamespaces() {
        for namespace in objects(.namespaces) {
            guard let text = namespace.metadata["deletionTimestamp"]?.stringValue, let since = KubeTime.parse(text) else { continue }
            let due = since.addingTimeInterval(options.namespaceFinalizeDelay)
            if due > Date() {
                Task { [weak self] in
                    try? await Task.sleep(for: .seconds(max(0.05, due.timeIntervalSinceNow + 0.05)))
                    self?.kick()
                }
                continue
            }
            for resource in SimResource.all where resource.type.namespaced {
                for object in objects(resource, namespace: namespace.name) { remove(resource, object) }
            }
            remove(.namespaces, namespace)
        }
    }

    // MARK: nodes and the kubelet

    /// With `nodeReadyAfter`, nodes without a Ready condition become Ready that long after creation.
    func markNodesReady() {
        guard let delay = options.nodeReadyAfter else { return }
        for node in objects(.nodes) where !Node(object: node).status.conditions.contains(where: { $0.type == "Ready" }) {
            let created = Node(object: node).metadata.creationTimestamp ?? Date()
            let due = created.addingTimeInterval(delay.timeInterval)
            if due <= Date() {
                modify(.nodes, node) { SimKubelet.makeReady(&$0) }
            } else {
                Task { [weak self] in
                    try? await Task.sleep(for: .seconds(due.timeIntervalSinceNow))
                    self?.kick()
                }
            }
        }
    }

    /// Bound pods on Ready nodes start running.
    func runBoundPods() {
        let nodes = Dictionary(objects(.nodes).map { ($0.name, Node(object: $0)) }, uniquingKeysWith: { a, _ in a })
        for pod in objects(.pods) {
            let value = Pod(object: pod)
            guard let nodeName = value.spec.nodeName, let node = nodes[nodeName], node.isReady, value.status.phase == "Pending",
                value.metadata.deletionTimestamp == nil
            else { continue }
            modify(.pods, pod) { SimKubelet.start(&$0, on: node) }
        }
    }

    func bind(namespace: String, pod name: String, node: String) throws(SimError) {
        guard store.get(SimResource.nodes.key, namespace: nil, name: node) != nil else { throw SimError.notFound(.nodes, node) }
        try store.write(SimResource.pods.key, namespace: namespace, name: name) { current throws(SimError) in
            guard var current else { throw SimError.notFound(.pods, name) }
            if let bound = Pod(object: current).spec.nodeName, !bound.isEmpty {
                throw SimError.conflict(.pods, name, "pod \(name) is already assigned to node \"\(bound)\"")
            }
            SimScheduler.bind(&current, to: node)
            return .put(current)
        }
        kick()
    }
}
