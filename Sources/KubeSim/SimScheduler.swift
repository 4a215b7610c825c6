import EMPModel
import Foundation
import Kube

/// The default scheduler's filters for what this project needs: NoSchedule/NoExecute taints vs tolerations,
/// nodeSelector, required node affinity, required pod anti-affinity on the hostname, requests vs allocatable and
/// cordoned nodes. A pod that fits nowhere gets `PodScheduled=False`, reason `Unschedulable`, with the scheduler's
/// "0/N nodes are available: …" message.
enum SimScheduler {
    /// Requests of one pod: max(sum of containers, largest init container), per resource.
    static func requests(_ pod: Pod) -> (cpu: Int64, memory: Int64) {
        let request = EMPModel.Resources.effectiveRequest(
            containers: pod.spec.containers.map { EMPModel.Resources(requests: $0.requests) },
            initContainers: pod.spec.initContainers.map { EMPModel.Resources(requests: $0.requests) })
        return (request.cpuMillis, request.memoryBytes)
    }

    struct Usage {
        var cpu: Int64 = 0
        var memory: Int64 = 0
        var pods = 0
        var labels: [(namespace: String, labels: [String: String])] = []

        /// Counts `pod` as running here.
        mutating func add(_ pod: Pod) {
            let want = SimScheduler.requests(pod)
            cpu += want.cpu
            memory += want.memory
            pods += 1
            labels.append((pod.namespace ?? "default", pod.metadata.labels))
        }
    }

    /// CPU millis and memory bytes of a Node's allocatable (0 when absent or not a quantity).
    static func allocatable(_ node: Node) -> (cpu: Int64, memory: Int64) {
        let allocatable = node.status.allocatable
        return (
            allocatable["cpu"].flatMap { try? Quantity($0) }?.milliRoundedUp ?? 0,
            allocatable["memory"].flatMap { try? Quantity($0) }?.roundedUp ?? 0
        )
    }

    /// Why `pod` cannot go to `node`, or nil when it fits.
    static func reason(_ pod: Pod, _ node: Node, usage: Usage) -> String? {
        if node.spec.unschedulable, !pod.spec.tolerations.contains(where: { $0.key == "node.kubernetes.io/unschedulable" }) {
            return "node(s) were unschedulable"
        }
        var taints = node.spec.taints.filter { $0.effect == "NoSchedule" || $0.effect == "NoExecute" }
        if !node.isReady { taints.append(Taint(key: "node.kubernetes.io/not-ready", effect: "NoSchedule")) }
        if let taint = taints.first(where: { taint in !pod.spec.tolerations.contains { $0.tolerates(taint) } }) {
            return "node(s) had untolerated taint {\(taint.key): \(taint.value ?? "")}"
        }
        let labels = node.metadata.labels.merging(["kubernetes.io/hostname": node.name]) { a, _ in a }
        let selectorMatches = pod.spec.nodeSelector.allSatisfy { labels[$0.key] == $0.value }
        let terms = pod.spec.affinity.requiredNodeSelectorTerms
        if !selectorMatches || (!terms.isEmpty && !terms.contains { $0.matches(labels: labels, name: node.name) }) {
            return "node(s) didn't match Pod's node affinity/selector"
        }
        for term in pod.spec.affinity.requiredPodAntiAffinity where term.topologyKey == "kubernetes.io/hostname" {
            let namespaces = term.namespaces.isEmpty ? [pod.namespace ?? "default"] : term.namespaces
            if usage.labels.contains(where: { namespaces.contains($0.namespace) && term.labelSelector.matches($0.labels) }) {
                return "node(s) didn't match pod anti-affinity rules"
            }
        }
        let want = requests(pod)
        let (cpu, memory) = allocatable(node)
        let pods = node.status.allocatable["pods"].flatMap { Int($0) } ?? 110
        if usage.pods + 1 > pods { return "Too many pods" }
        if usage.cpu + want.cpu > cpu { return "Insufficient cpu" }
        if usage.memory + want.memory > memory { return "Insufficient memory" }
        return nil
    }

    static func bind(_ object: inout JSONObject, to node: String) {
        var pod = Pod(object: object)
        pod.spec.nodeName = node
        var conditions = pod.status.conditions
        conditions.set(Condition(type: "PodScheduled", status: "True"))
        pod.status.conditions = conditions
        object = pod.object
    }
}

extension SimControllers {
    /// One scheduling pass over every pending, unbound pod (highest priority, then oldest, first).
    func schedule() {
        let nodes = objects(.nodes).map(Node.init(object:))
        let pods = objects(.pods).map(Pod.init(object:))
        var usage: [String: SimScheduler.Usage] = [:]
        for pod in pods where !pod.isTerminated {
            guard let node = pod.spec.nodeName else { continue }
            usage[node, default: .init()].add(pod)
        }
        let pending = pods.filter { $0.spec.nodeName == nil && $0.metadata.deletionTimestamp == nil && $0.status.phase == "Pending" }
            .sorted {
                ($0.spec.priority ?? 0, $1.metadata.creationTimestamp ?? .distantPast) > (
                    $1.spec.priority ?? 0, $0.metadata.creationTimestamp ?? .distantPast
                )
            }
        for pod in pending {
            var reasons: [String: Int] = [:]
            var best: (node: Node, score: Double)?
            for node in nodes {
                let current = usage[node.name] ?? .init()
                if let reason = SimScheduler.reason(pod, node, usage: current) {
                    reasons[reason, default: 0] += 1
                    continue
                }
                let score = Double(current.cpu) / Double(max(SimScheduler.allocatable(node).cpu, 1))
                if best == nil || score < best!.score || (score == best!.score && node.name < best!.node.name) { best = (node, score) }
            }
            if let best {
                usage[best.node.name, default: .init()].add(pod)
                modify(.pods, pod.object) { SimScheduler.bind(&$0, to: best.node.name) }
            } else {
                let detail = reasons.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                let message = "0/\(nodes.count) nodes are available" + (detail.isEmpty ? "." : ": \(detail).")
                modify(.pods, pod.object) { object in
                    var value = Pod(object: object)
                    var conditions = value.status.conditions
                    if conditions.first(where: { $0.type == "PodScheduled" })?.message == message { return }
                    conditions.set(Condition(type: "PodScheduled", status: "False", reason: "Unschedulable", message: message))
                    value.status.conditions = conditions
                    object = value.object
                }
            }
        }
    }
}
