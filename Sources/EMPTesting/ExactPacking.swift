import EMPModel
public import EMPScheduling

/// The fewest new EVMs that can take every pod of a small ``PackInput``, found by exhaustive search: the yardstick
/// the packer's tests and benchmark compare its answers with. Written apart from ``PodPacker`` (its own rules for
/// selectors, taints and anti-affinity, from Kubernetes' documentation) so a shared mistake cannot hide.
public enum ExactPacking {
    /// The optimum, or nil when no packing places every pod within `maxNewEVMs` (or the search passed `budget`
    /// steps). Meant for up to a dozen pods.
    public static func minimumNewEVMs(_ input: PackInput, budget: Int = 20_000_000) -> Int? {
        var search = Search(input: input, budget: budget)
        return search.run()
    }

    /// What is wrong with `result` as an answer to `input`: a pod placed where it does not fit or may not run, a pod
    /// neither placed nor left out, more new EVMs than allowed. Empty for a valid answer.
    public static func violations(of result: PackResult, for input: PackInput) -> [String] {
        var problems: [String] = []
        let empty = Node(
            labels: input.shape.labels, taints: input.shape.taints, free: input.shape.allocatable, freePods: input.shape.pods,
            podLabels: [], selectors: [])
        var nodes: [String: Node] = [:]
        for node in input.nodes {
            nodes[node.name] = Node(
                labels: node.labels, taints: node.taints, free: node.free, freePods: node.freePods, podLabels: node.podLabels, selectors: []
            )
        }
        for evm in result.newEVMs { nodes[evm.name] = empty }
        if result.newEVMs.count > max(0, input.maxNewEVMs) { problems.append("\(result.newEVMs.count) new EVMs > \(input.maxNewEVMs)") }
        let left = Set(result.unplaced.map(\.pod))
        // Pods in the packer's order would matter only for its own checks; validity is order-free, so add each
        // node's pods and test each against the others already there (anti-affinity is checked both ways).
        for pod in input.pods {
            guard let name = result.placements[pod.id] else {
                if !left.contains(pod.id) { problems.append("\(pod.id) is neither placed nor left out") }
                continue
            }
            guard var node = nodes[name] else {
                problems.append("\(pod.id) placed on unknown node \(name)")
                continue
            }
            if !node.takes(pod) { problems.append("\(pod.id) may not run on \(name) beside what is there") }
            node.add(pod)
            nodes[name] = node
        }
        return problems
    }

    /// A node being filled in the search.
    struct Node: Equatable {
        var labels: [String: String]
        var taints: [PackTaint]
        var free: Resources
        var freePods: Int
        var podLabels: [[String: String]]
        var selectors: [[String: String]]

        func takes(_ pod: PackPod) -> Bool {
            guard freePods > 0, pod.requests.fits(in: free) else { return false }
            guard pod.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
            if !pod.nodeAffinity.isEmpty, !pod.nodeAffinity.contains(where: { term in term.allSatisfy { $0.matches(labels) } }) {
                return false
            }
            for taint in taints where taint.effect == "NoSchedule" || taint.effect == "NoExecute" {
                if !pod.tolerations.contains(where: { $0.tolerates(taint) }) { return false }
            }
            func matches(_ selector: [String: String], _ labels: [String: String]) -> Bool {
                selector.allSatisfy { labels[$0.key] == $0.value }
            }
            // Required anti-affinity is symmetric in effect: the newcomer's selectors against the pods here, and the
            // selectors of the pods here against the newcomer.
            if pod.antiAffinity.contains(where: { selector in podLabels.contains { matches(selector, $0) } }) { return false }
            if selectors.contains(where: { matches($0, pod.labels) }) { return false }
            return true
        }

        mutating func add(_ pod: PackPod) {
            free = free - pod.requests
            freePods -= 1
            podLabels.append(pod.labels)
            selectors += pod.antiAffinity
        }
    }

    struct Search {
        let input: PackInput
        var budget: Int
        var nodes: [Node]
        let existing: Int
        let pods: [PackPod]
        var best: Int

        init(input: PackInput, budget: Int) {
            self.input = input
            self.budget = budget
            nodes = input.nodes.map {
                Node(labels: $0.labels, taints: $0.taints, free: $0.free, freePods: $0.freePods, podLabels: $0.podLabels, selectors: [])
            }
            existing = nodes.count
            let size = input.shape.allocatable
            // Largest first (the larger of the CPU and memory shares) finds good packings early, which prunes.
            func share(_ pod: PackPod) -> Double {
                max(
                    Double(pod.requests.cpuMillis) / Double(max(1, size.cpuMillis)),
                    Double(pod.requests.memoryBytes) / Double(max(1, size.memoryBytes)))
            }
            pods = input.pods.sorted { a, b in share(a) != share(b) ? share(a) > share(b) : a.id < b.id }
            best = max(0, input.maxNewEVMs) + 1
            var sums = [Resources.zero]
            for pod in pods.reversed() { sums.append(sums.last! + pod.requests) }
            remaining = sums.reversed()
        }

        /// Requests of pods `i…` (index `i`).
        var remaining: [Resources] = []

        mutating func run() -> Int? {
            place(0)
            return best <= max(0, input.maxNewEVMs) && budget >= 0 ? best : nil
        }

        var empty: Node {
            Node(
                labels: input.shape.labels, taints: input.shape.taints, free: input.shape.allocatable, freePods: input.shape.pods,
                podLabels: [], selectors: [])
        }

        mutating func place(_ next: Int) {
            budget -= 1
            guard budget >= 0 else { return }
            let opened = nodes.count - existing
            if next == pods.count {
                best = min(best, opened)
                return
            }
            // Bound: the pods left need at least this many more new EVMs beyond the free room of the nodes so far.
            let room = nodes.reduce(Resources.zero) { $0 + $1.free }
            let size = input.shape.allocatable
            func more(_ need: Int64, _ per: Int64) -> Int {
                need <= 0 ? 0 : per <= 0 ? Int.max / 2 : Int(need / per + (need % per == 0 ? 0 : 1))
            }
            let left = remaining[next]
            if opened
                + max(more(left.cpuMillis - room.cpuMillis, size.cpuMillis), more(left.memoryBytes - room.memoryBytes, size.memoryBytes))
                >= best
            {
                return
            }
            let pod = pods[next]
            var seen: [Node] = []
            for index in nodes.indices where nodes[index].takes(pod) {
                // Two new EVMs in the same state are interchangeable: try only one of them.
                if index >= existing {
                    if seen.contains(nodes[index]) { continue }
                    seen.append(nodes[index])
                }
                let saved = nodes[index]
                nodes[index].add(pod)
                place(next + 1)
                nodes[index] = saved
            }
            if opened + 1 < best, empty.takes(pod) {
                var node = empty
                node.add(pod)
                nodes.append(node)
                place(next + 1)
                nodes.removeLast()
            }
        }
    }
}
