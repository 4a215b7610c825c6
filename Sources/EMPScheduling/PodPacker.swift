public import EMPModel

/// Decides how many EVMs pending pods need and where each would go; pure and deterministic.
///
/// Pods that cannot run on any EVM of the pool — they do not tolerate its taint, their nodeSelector or required
/// node affinity excludes its nodes, or they request more than an empty EVM has — are left out with the reason
/// and never cause EVMs. The rest are packed largest first (dominant share of an EVM's allocatable), first fit:
/// onto the room of existing EVM nodes (booting ones included, so a scale-up is never made twice), then onto
/// new EVMs, at most `maxNewEVMs`. Bins that cannot take even the smallest pending pod leave the scan. Anti-affinity on `kubernetes.io/hostname` keeps matching pods apart. Finally
/// EVMs are added until the free room on EVMs covers `headroom` (overprovisioning without pause pods).
///
/// ```swift
/// let result = PodPacker().pack(PackInput(shape: shape, nodes: nodes, pods: pending, maxNewEVMs: 10))
/// ```
public struct PodPacker: Sendable {
    /// How a bin is chosen among those that admit a pod.
    public enum Fit: Sendable {
        /// The first in order: existing nodes by name, then new EVMs by creation (default; on the benchmark's
        /// mixes it uses as few EVMs as best fit, 4× faster).
        case first
        /// The one left with the least room (sum of normalized CPU and memory).
        case best
    }

    public var fit: Fit

    public init(fit: Fit = .first) { self.fit = fit }

    public func pack(_ input: PackInput) -> PackResult {
        var bins = input.nodes.sorted { $0.name < $1.name }.map { Bin(node: $0) }
        let existing = bins.count
        var result = PackResult()
        let reference = input.shape.allocatable
        var candidates: [PackPod] = []
        for pod in input.pods {
            if let reason = Self.neverFits(pod, shape: input.shape) {
                result.unplaced.append(.init(pod: pod.id, reason: reason, permanent: true))
            } else {
                candidates.append(pod)
            }
        }
        candidates.sort { a, b in
            let (sa, sb) = (a.requests.dominantShare(of: reference), b.requests.dominantShare(of: reference))
            return sa != sb ? sa > sb : a.id < b.id
        }
        let limit = max(0, input.maxNewEVMs)
        // Bins that can still take the smallest pending pod, in order; full ones leave the scan for good.
        let smallest = candidates.reduce(Resources(cpuMillis: .max, memoryBytes: .max)) { $0.componentMin($1.requests) }
        var open = bins.indices.filter { bins[$0].freePods > 0 && smallest.fits(in: bins[$0].free) }
        for pod in candidates {
            let chosen = fit == .best ? Self.bestFit(pod, in: bins, open: open, reference: reference) : open.first { bins[$0].admits(pod) }
            let index: Int
            if let chosen {
                index = chosen
            } else if bins.count - existing < limit {
                bins.append(Bin(shape: input.shape, number: bins.count - existing + 1))
                index = bins.count - 1
                open.append(index)
            } else {
                result.unplaced.append(
                    .init(
                        pod: pod.id, reason: "no room on EVMs of pool \(input.shape.pool) and no new EVM allowed (limit \(limit))",
                        permanent: false))
                continue
            }
            bins[index].add(pod)
            result.placements[pod.id] = bins[index].name
            if bins[index].freePods == 0 || !smallest.fits(in: bins[index].free), let position = open.firstIndex(of: index) {
                open.remove(at: position)
            }
        }
        if let headroom = input.headroom, headroom != .zero {
            while bins.count - existing < limit, !bins.reduce(Resources.zero, { $0 + $1.free }).covers(headroom) {
                bins.append(Bin(shape: input.shape, number: bins.count - existing + 1))
                result.headroomEVMs += 1
            }
        }
        result.newEVMs = bins[existing...].map { PackResult.NewEVM(name: $0.name, pods: $0.pods, free: $0.free) }
        result.unplaced.sort { $0.pod < $1.pod }
        return result
    }

    /// Best fit: among the bins that admit `pod`, the one left with the least room (sum of normalized CPU and
    /// memory), existing nodes before new EVMs on ties. Packs mixed CPU/memory shapes tighter than first fit.
    static func bestFit(_ pod: PackPod, in bins: [Bin], open: [Int], reference: Resources) -> Int? {
        var best: (index: Int, room: Double)?
        for index in open where bins[index].admits(pod) {
            let left = bins[index].free - pod.requests
            let room =
                Double(left.cpuMillis) / Double(max(1, reference.cpuMillis)) + Double(left.memoryBytes)
                / Double(max(1, reference.memoryBytes))
            if best == nil || room < best!.room { best = (index, room) }
        }
        return best?.index
    }

    /// Why `pod` could not run even on an empty EVM of this shape, or nil.
    static func neverFits(_ pod: PackPod, shape: PackShape) -> String? {
        if let taint = shape.taints.first(where: { taint in
            taint.effect != "PreferNoSchedule" && !pod.tolerations.contains { $0.tolerates(taint) }
        }) {
            return "does not tolerate the EVM taint \(taint.key)=\(taint.value):\(taint.effect)"
        }
        if let (key, value) = pod.nodeSelector.sorted(by: { $0.key < $1.key }).first(where: { shape.labels[$0.key] != $0.value }) {
            return "nodeSelector \(key)=\(value) does not match EVM nodes of pool \(shape.pool)"
        }
        if !pod.nodeAffinity.isEmpty, !pod.nodeAffinity.contains(where: { $0.allSatisfy { $0.matches(shape.labels) } }) {
            return "required node affinity does not match EVM nodes of pool \(shape.pool)"
        }
        if pod.requests.memoryBytes > shape.allocatable.memoryBytes {
            return
                "requests \(Resources.formatBytes(pod.requests.memoryBytes)) memory; an EVM of pool \(shape.pool) has \(Resources.formatBytes(shape.allocatable.memoryBytes)) allocatable"
        }
        if pod.requests.cpuMillis > shape.allocatable.cpuMillis {
            return "requests \(pod.requests.cpuMillis)m CPU; an EVM of pool \(shape.pool) has \(shape.allocatable.cpuMillis)m allocatable"
        }
        if shape.pods < 1 { return "an EVM of pool \(shape.pool) admits no pods" }
        return nil
    }

    /// One node being filled: an existing EVM node or a new EVM.
    struct Bin {
        var name: String
        var labels: [String: String]
        var taints: [PackTaint]
        var free: Resources
        var freePods: Int
        var podLabels: [[String: String]]
        /// Anti-affinity selectors of pods placed here in this decision.
        var exclusions: [[String: String]] = []
        var pods: [String] = []

        init(node: PackNode) {
            name = node.name
            labels = node.labels
            taints = node.taints
            free = node.free
            freePods = node.freePods
            podLabels = node.podLabels
        }

        init(shape: PackShape, number: Int) {
            name = "new-\(number)"
            labels = shape.labels
            taints = shape.taints
            free = shape.allocatable
            freePods = shape.pods
            podLabels = []
        }

        func admits(_ pod: PackPod) -> Bool {
            guard freePods >= 1, pod.requests.fits(in: free) else { return false }
            guard pod.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
            guard pod.nodeAffinity.isEmpty || pod.nodeAffinity.contains(where: { $0.allSatisfy { $0.matches(labels) } }) else {
                return false
            }
            for taint in taints where taint.effect != "PreferNoSchedule" {
                guard pod.tolerations.contains(where: { $0.tolerates(taint) }) else { return false }
            }
            let selects = { (selector: [String: String], podLabels: [String: String]) in
                selector.allSatisfy { podLabels[$0.key] == $0.value }
            }
            if pod.antiAffinity.contains(where: { selector in podLabels.contains { selects(selector, $0) } }) { return false }
            if exclusions.contains(where: { selects($0, pod.labels) }) { return false }
            return true
        }

        mutating func add(_ pod: PackPod) {
            free -= pod.requests
            freePods -= 1
            podLabels.append(pod.labels)
            exclusions += pod.antiAffinity
            pods.append(pod.id)
        }
    }
}

/// What the packer is asked: the pool's EVM shape, its existing EVM nodes, the pending pods, how many EVMs it
/// may add, and the free room to keep (headroom). The what-if file format (docs/whatif.md).
public struct PackInput: Sendable, Hashable, Codable {
    public var shape: PackShape
    public var nodes: [PackNode]
    public var pods: [PackPod]
    public var maxNewEVMs: Int
    public var headroom: Resources?

    public init(shape: PackShape, nodes: [PackNode] = [], pods: [PackPod], maxNewEVMs: Int = 100, headroom: Resources? = nil) {
        self.shape = shape
        self.nodes = nodes
        self.pods = pods
        self.maxNewEVMs = maxNewEVMs
        self.headroom = headroom
    }
}

/// The packer's answer.
public struct PackResult: Sendable, Hashable, Codable {
    /// A new EVM and the pods it would take.
    public struct NewEVM: Sendable, Hashable, Codable {
        /// `new-1`, `new-2`, … in creation order.
        public var name: String
        public var pods: [String]
        /// Room left on it after those pods.
        public var free: Resources
    }

    /// A pod left out.
    public struct Unplaced: Sendable, Hashable, Codable {
        public var pod: String
        public var reason: String
        /// True when no EVM of the pool could ever run it (the autoscaler reports it once and stops trying).
        public var permanent: Bool
    }

    /// Pod id → existing node name or new EVM name.
    public var placements: [String: String] = [:]
    public var newEVMs: [NewEVM] = []
    public var unplaced: [Unplaced] = []
    /// How many of ``newEVMs`` are there only for headroom.
    public var headroomEVMs = 0
}

extension Resources {
    /// True when both dimensions are at least `other`'s.
    func covers(_ other: Resources) -> Bool { other.fits(in: self) }
}
