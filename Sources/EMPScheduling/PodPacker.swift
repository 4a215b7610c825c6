public import EMPModel

/// Decides how many EVMs pending pods need and where each would go; pure and deterministic.
///
/// Pods that cannot run on any EVM of the pool — they do not tolerate its taint, their nodeSelector or required
/// node affinity excludes its nodes, or they request more than an empty EVM has — never cause EVMs: they are left
/// out with the reason (permanently), unless an existing node of the pool can take them, where they may go but
/// never onto a new EVM. The rest are packed largest first (dominant share of an EVM's allocatable), first fit:
/// onto the room of existing EVM nodes (booting ones included, so a scale-up is never made twice), then onto new
/// EVMs, at most `maxNewEVMs`. Anti-affinity on `kubernetes.io/hostname` keeps matching pods apart.
///
/// When that first answer needs more new EVMs than a lower bound and the batch is small enough
/// (``improvementLimit`` pods), other orders are tried too — anti-affinity groups first, so their members spread
/// over the EVMs the others fill instead of each opening a nearly empty one at the end; best fit — and a repair
/// pass tries to empty each new EVM into the others; the answer with the most pods placed on the fewest new EVMs
/// wins. Finally EVMs are added until the free room on EVMs covers `headroom` (overprovisioning without pause pods).
///
/// ```swift
/// let result = PodPacker().pack(PackInput(shape: shape, nodes: nodes, pods: pending, maxNewEVMs: 10))
/// ```
public struct PodPacker: Sendable {
    /// How a bin is chosen among those that admit a pod.
    public enum Fit: Sendable {
        /// The first in order: existing nodes by name, then new EVMs by creation (default), found through a
        /// ``FreeRoomIndex`` instead of a scan.
        case first
        /// The one left with the least room (sum of normalized CPU and memory); scans every bin.
        case best
    }

    public var fit: Fit
    /// Largest batch for which other orders and the repair pass are tried (each try is another packing).
    public var improvementLimit: Int

    /// Largest batch searched exhaustively (within ``exactBudget`` steps) when the heuristics stay above the lower
    /// bound: the autoscaler's batches are often a handful of pods, where one EVM too many is a large share.
    public var exactLimit: Int
    /// Search steps the exact stage may take (about 50 ns each): it keeps the best packing found when it runs out.
    public var exactBudget: Int

    public init(fit: Fit = .first, improvementLimit: Int = 2_000, exactLimit: Int = 16, exactBudget: Int = 200_000) {
        self.fit = fit
        self.improvementLimit = improvementLimit
        self.exactLimit = exactLimit
        self.exactBudget = exactBudget
    }

    public func pack(_ input: PackInput) -> PackResult {
        let existing = input.nodes.sorted { $0.name < $1.name }.map { Bin(node: $0) }
        let reference = input.shape.allocatable
        var result = PackResult()
        var candidates: [Candidate] = []
        for pod in input.pods {
            guard let reason = Self.neverFits(pod, shape: input.shape) else {
                candidates.append(Candidate(pod: pod, existingOnly: nil))
                continue
            }
            // An existing node is an EVM of this pool: one whose labels and taints admit the pod could take it once
            // it has room, unless the pod is larger than an EVM of the shape and the node lacks that room now.
            let sized = pod.requests.fits(in: input.shape.allocatable)
            if existing.contains(where: { $0.couldEverRun(pod) && (sized || pod.requests.fits(in: $0.free)) }) {
                candidates.append(Candidate(pod: pod, existingOnly: reason))
            } else {
                result.unplaced.append(.init(pod: pod.id, reason: reason, permanent: true))
            }
        }
        let byShare = Self.largestFirst(candidates, reference: reference)
        let limit = max(0, input.maxNewEVMs)
        var best = fill(byShare, existing: existing, shape: input.shape, limit: limit, fit: fit)
        if candidates.count <= improvementLimit, best.newBins > Self.lowerBound(candidates, existing: existing, shape: input.shape) {
            let groupsFirst = Self.groupsFirst(byShare)
            for (order, fit) in [(groupsFirst, fit), (byShare, Fit.best), (groupsFirst, Fit.best)] {
                let other = fill(order, existing: existing, shape: input.shape, limit: limit, fit: fit)
                if other.isBetter(than: best) { best = other }
            }
            let byID = Dictionary(candidates.map { ($0.pod.id, $0) }) { a, _ in a }
            best.repair(byID)
            if best.unplaced.isEmpty, candidates.count <= exactLimit,
                let exact = Self.exact(byShare, existing: existing, shape: input.shape, fewerThan: best.newBins, budget: exactBudget)
            {
                best = exact
            } else if best.unplaced.isEmpty {
                best.eliminate(byID, shape: input.shape, pods: exactLimit, budget: exactBudget)
            }
        }
        best.renumber()
        var bins = best.bins
        for bin in bins { for pod in bin.pods { result.placements[pod] = bin.name } }
        result.unplaced += best.unplaced
        if let headroom = input.headroom, headroom != .zero {
            while bins.count - existing.count < limit, !bins.reduce(Resources.zero, { $0 + $1.free }).covers(headroom) {
                bins.append(Bin(shape: input.shape, number: bins.count - existing.count + 1))
                result.headroomEVMs += 1
            }
        }
        result.newEVMs = bins[existing.count...].map { PackResult.NewEVM(name: $0.name, pods: $0.pods, free: $0.free) }
        result.unplaced.sort { $0.pod < $1.pod }
        return result
    }

    /// A pod to place; `existingOnly` holds why a new EVM could not take it when only existing nodes can.
    struct Candidate {
        var pod: PackPod
        var existingOnly: String?
    }

    /// Pods only existing nodes can take first (they have the fewest places), then largest first (dominant share
    /// of `reference`), ties by id.
    static func largestFirst(_ candidates: [Candidate], reference: Resources) -> [Candidate] {
        candidates.sorted { a, b in
            if (a.existingOnly == nil) != (b.existingOnly == nil) { return a.existingOnly != nil }
            let (sa, sb) = (a.pod.requests.dominantShare(of: reference), b.pod.requests.dominantShare(of: reference))
            return sa != sb ? sa > sb : a.pod.id < b.pod.id
        }
    }

    /// One packing: the bins (existing first) and the pods it left out.
    struct Packing {
        var bins: [Bin]
        var unplaced: [PackResult.Unplaced] = []
        let existing: Int

        var newBins: Int { bins.count - existing }

        /// More pods placed, or as many on fewer new EVMs.
        func isBetter(than other: Packing) -> Bool {
            unplaced.count != other.unplaced.count ? unplaced.count < other.unplaced.count : newBins < other.newBins
        }

        /// Tries to empty each new EVM, least filled first, into the other bins (first fit); an emptied one is
        /// dropped.
        mutating func repair(_ candidates: [String: Candidate]) {
            var progress = true
            while progress {
                progress = false
                let order = bins.indices.dropFirst(existing).sorted { bins[$0].pods.count < bins[$1].pods.count }
                for source in order {
                    var trial = bins
                    var moved = true
                    for id in bins[source].pods {
                        guard let pod = candidates[id]?.pod,
                            let target = trial.indices.first(where: { $0 != source && trial[$0].admits(pod) })
                        else {
                            moved = false
                            break
                        }
                        trial[target].add(pod)
                    }
                    if moved {
                        trial.remove(at: source)
                        bins = trial
                        progress = true
                        break
                    }
                }
            }
        }

        /// For batches too large to search whole: takes the least filled new EVMs (up to four, at most `pods` pods
        /// between them) and searches for a way to place their pods on fewer, using the room left on every other bin;
        /// repeats while that saves an EVM.
        mutating func eliminate(_ candidates: [String: Candidate], shape: PackShape, pods limit: Int, budget: Int) {
            let size = shape.allocatable
            func fill(_ bin: Bin) -> Double {
                let used = size - bin.free
                return Double(used.cpuMillis) / Double(max(1, size.cpuMillis)) + Double(used.memoryBytes) / Double(max(1, size.memoryBytes))
            }
            for _ in 0..<32 {
                let order = bins.indices.dropFirst(existing).sorted { (fill(bins[$0]), $0) < (fill(bins[$1]), $1) }
                var chosen: [Int] = []
                var pods: [Candidate] = []
                for index in order where chosen.count < 4 {
                    let more = bins[index].pods.compactMap { candidates[$0] }
                    if pods.count + more.count > limit { break }
                    chosen.append(index)
                    pods += more
                }
                guard chosen.count >= 2 else { return }
                let others = bins.indices.filter { !chosen.contains($0) }.map { bins[$0] }
                let ordered = PodPacker.largestFirst(pods, reference: size)
                guard let better = PodPacker.exact(ordered, existing: others, shape: shape, fewerThan: chosen.count, budget: budget) else {
                    return
                }
                bins = better.bins
            }
        }

        /// New EVMs named `new-1`, `new-2`, … in order, after a repair or an elimination removed some.
        mutating func renumber() {
            for index in bins.indices.dropFirst(existing) { bins[index].name = "new-\(index - existing + 1)" }
        }
    }

    /// One pass over `order`: each pod to the first (or best) bin that admits it, else a new EVM while allowed.
    func fill(_ order: [Candidate], existing: [Bin], shape: PackShape, limit: Int, fit: Fit) -> Packing {
        var packing = Packing(bins: existing, existing: existing.count)
        var index = FreeRoomIndex(capacity: existing.count + min(limit, order.count) + 1)
        if fit == .first { for bin in existing { index.append(free: bin.free, slots: bin.freePods) } }
        let reference = shape.allocatable
        for candidate in order {
            let pod = candidate.pod
            let end = candidate.existingOnly == nil ? packing.bins.count : existing.count
            let chosen: Int?
            switch fit {
            case .first:
                chosen = index.first(fitting: pod.requests, below: end) { packing.bins[$0].admits(pod) }
            case .best:
                chosen = Self.bestFit(pod, in: packing.bins, open: 0..<end, reference: reference)
            }
            let target: Int
            if let chosen {
                target = chosen
            } else if let reason = candidate.existingOnly {
                packing.unplaced.append(
                    .init(
                        pod: pod.id, reason: "only existing EVM nodes can run it and none has room (a new EVM could not: \(reason))",
                        permanent: false))
                continue
            } else if packing.newBins < limit {
                packing.bins.append(Bin(shape: shape, number: packing.newBins + 1))
                target = packing.bins.count - 1
                if fit == .first { index.append(free: shape.allocatable, slots: shape.pods) }
            } else {
                packing.unplaced.append(
                    .init(
                        pod: pod.id, reason: "no room on EVMs of pool \(shape.pool) and no new EVM allowed (limit \(limit))",
                        permanent: false))
                continue
            }
            packing.bins[target].add(pod)
            if fit == .first { index.update(target, free: packing.bins[target].free, slots: packing.bins[target].freePods) }
        }
        return packing
    }

    /// A packing of every pod in `order` on fewer than `fewerThan` new EVMs, by depth-first search over where each
    /// pod goes (new EVMs in the same state tried once, a volume bound pruning), or nil when there is none or the
    /// budget ran out first.
    static func exact(_ order: [Candidate], existing: [Bin], shape: PackShape, fewerThan limit: Int, budget: Int) -> Packing? {
        var search = ExactSearch(order: order, bins: existing, existing: existing.count, shape: shape, best: limit, budget: budget)
        search.place(0)
        return search.found.map { Packing(bins: $0, existing: existing.count) }
    }

    /// The state of ``exact(_:existing:shape:fewerThan:budget:)``.
    struct ExactSearch {
        let order: [Candidate]
        var bins: [Bin]
        let existing: Int
        let shape: PackShape
        var best: Int
        var budget: Int
        var found: [Bin]?
        /// Requests of the pods from index i on.
        let remaining: [Resources]

        init(order: [Candidate], bins: [Bin], existing: Int, shape: PackShape, best: Int, budget: Int) {
            self.order = order
            self.bins = bins
            self.existing = existing
            self.shape = shape
            self.best = best
            self.budget = budget
            var sums = [Resources.zero]
            for candidate in order.reversed() { sums.append(sums.last! + candidate.pod.requests) }
            remaining = sums.reversed()
        }

        mutating func place(_ next: Int) {
            budget -= 1
            guard budget >= 0 else { return }
            let opened = bins.count - existing
            if next == order.count {
                best = opened
                found = bins
                return
            }
            let room = bins.reduce(Resources.zero) { $0 + $1.free.componentMax(.zero) }
            let need = remaining[next] - room
            let size = shape.allocatable
            func more(_ need: Int64, _ per: Int64) -> Int {
                need <= 0 ? 0 : per <= 0 ? Int.max / 2 : Int(need / per + (need % per == 0 ? 0 : 1))
            }
            guard opened + max(more(need.cpuMillis, size.cpuMillis), more(need.memoryBytes, size.memoryBytes)) < best else { return }
            let candidate = order[next]
            var tried: [Int] = []
            let end = candidate.existingOnly == nil ? bins.count : existing
            for index in 0..<end where bins[index].admits(candidate.pod) {
                if index >= existing, tried.contains(where: { bins[$0].sameState(as: bins[index]) }) { continue }
                if index >= existing { tried.append(index) }
                let saved = bins[index]
                bins[index].add(candidate.pod)
                place(next + 1)
                bins[index] = saved
                if budget < 0 { return }
            }
            if candidate.existingOnly == nil, opened + 1 < best {
                var bin = Bin(shape: shape, number: opened + 1)
                guard bin.admits(candidate.pod) else { return }
                bin.add(candidate.pod)
                bins.append(bin)
                place(next + 1)
                bins.removeLast()
            }
        }
    }

    /// Pods with required anti-affinity first, those whose selectors match the most pods leading, so a group's
    /// members are spread over the first EVMs; the rest keep their order.
    static func groupsFirst(_ order: [Candidate]) -> [Candidate] {
        var counted: [[String: String]: Int] = [:]
        func members(_ selector: [String: String]) -> Int {
            if let known = counted[selector] { return known }
            let count = order.count { candidate in selector.allSatisfy { candidate.pod.labels[$0.key] == $0.value } }
            counted[selector] = count
            return count
        }
        var sizes: [Int] = []
        for candidate in order { sizes.append(candidate.pod.antiAffinity.map(members).max() ?? 0) }
        return order.indices.sorted { a, b in
            let (ga, gb) = (order[a].pod.antiAffinity.isEmpty ? 0 : sizes[a], order[b].pod.antiAffinity.isEmpty ? 0 : sizes[b])
            return ga != gb ? ga > gb : a < b
        }.map { order[$0] }
    }

    /// New EVMs no packing can do without: per dimension, the requests beyond the existing nodes' free room over an
    /// EVM's allocatable, and the pods needing more than half an EVM's CPU (or memory) that no existing node could take.
    static func lowerBound(_ candidates: [Candidate], existing: [Bin], shape: PackShape) -> Int {
        let movable = candidates.filter { $0.existingOnly == nil }.map(\.pod)
        let total = movable.reduce(Resources.zero) { $0 + $1.requests }
        let room = existing.reduce(Resources.zero) { $0 + $1.free.componentMax(.zero) }
        let size = shape.allocatable
        let volume = (total - room).binsNeeded(of: size)
        // No two pods over half an EVM's CPU share one (likewise memory), unless an existing node takes some.
        let fresh = movable.filter { pod in !existing.contains { $0.admits(pod) } }
        let big = max(
            fresh.count { $0.requests.cpuMillis > size.cpuMillis / 2 }, fresh.count { $0.requests.memoryBytes > size.memoryBytes / 2 })
        return max(volume, big)
    }

    /// Best fit: among the bins that admit `pod`, the one left with the least room (sum of normalized CPU and
    /// memory), existing nodes before new EVMs on ties.
    static func bestFit(_ pod: PackPod, in bins: [Bin], open: Range<Int>, reference: Resources) -> Int? {
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
            return allows(pod)
        }

        /// Whether the node's labels and taints let the pod run here at all, room aside.
        func couldEverRun(_ pod: PackPod) -> Bool {
            guard pod.nodeSelector.allSatisfy({ labels[$0.key] == $0.value }) else { return false }
            guard pod.nodeAffinity.isEmpty || pod.nodeAffinity.contains(where: { $0.allSatisfy { $0.matches(labels) } }) else {
                return false
            }
            return taints.allSatisfy { taint in taint.effect == "PreferNoSchedule" || pod.tolerations.contains { $0.tolerates(taint) } }
        }

        /// Labels, taints and anti-affinity (room aside).
        func allows(_ pod: PackPod) -> Bool {
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

        /// Interchangeable for what comes next: the same room and the same pods' labels and selectors.
        func sameState(as other: Bin) -> Bool {
            free == other.free && freePods == other.freePods && podLabels == other.podLabels && exclusions == other.exclusions
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

    /// New EVMs one decision may add when a file does not say.
    public static let defaultMaxNewEVMs = 100

    public init(
        shape: PackShape, nodes: [PackNode] = [], pods: [PackPod], maxNewEVMs: Int = PackInput.defaultMaxNewEVMs, headroom: Resources? = nil
    ) {
        self.shape = shape
        self.nodes = nodes
        self.pods = pods
        self.maxNewEVMs = maxNewEVMs
        self.headroom = headroom
    }

    private enum CodingKeys: String, CodingKey { case shape, nodes, pods, maxNewEVMs, headroom }

    /// Only `shape` (its `pool` and `allocatable`) and `pods` are required in files; a node given without `labels`
    /// has the shape's (an EVM node of the pool carries them).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        shape = try c.decode(PackShape.self, forKey: .shape)
        let shape = self.shape
        nodes = (try c.decodeIfPresent([PackNode.FileEntry].self, forKey: .nodes) ?? []).map { entry in
            var node = entry.node
            if !entry.labelsGiven { node.labels = shape.labels }
            return node
        }
        pods = try c.decode([PackPod].self, forKey: .pods)
        maxNewEVMs = try c.decodeIfPresent(Int.self, forKey: .maxNewEVMs) ?? PackInput.defaultMaxNewEVMs
        headroom = try c.decodeIfPresent(Resources.self, forKey: .headroom)
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
