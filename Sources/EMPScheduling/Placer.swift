public import EMPModel

/// Chooses hosts for new EVMs under overcommit and watermark limits; pure and deterministic.
///
/// A host can take an EVM when it can receive (ready, not cordoned, not in maintenance, no deadline),
/// `allocated + size ≤ capacity × overcommit` for CPU and memory, and `used + expected use ≤ capacity × watermark`.
/// Among those:
/// - ``PlacementPolicy/binpack`` (default) keeps hosts few: a host already holding EVMs before an empty one,
///   and among them the best fit, i.e. the one left with the least normalized free room (ties: host id).
/// - ``PlacementPolicy/spread`` evens load: the host with the lowest allocation share after placement.
///
/// ```swift
/// let result = Placer(policy: .binpack).place([PlacementRequest(id: "e1", size: shape.resources)], on: hosts)
/// ```
public struct Placer: Sendable {
    public var policy: PlacementPolicy
    /// binpack through ``BinpackIndex`` (false: score every host, the reference the tests compare it with).
    var indexed = true
    /// Largest batch ``placeBatch(_:on:)`` improves after best fit (``PlacementImprovement``); 0 turns it off.
    public var improvementLimit: Int
    /// Search steps each elimination round may take.
    public var improvementBudget: Int

    public init(policy: PlacementPolicy = .binpack, improvementLimit: Int = 1_000, improvementBudget: Int = 20_000) {
        self.policy = policy
        self.improvementLimit = improvementLimit
        self.improvementBudget = improvementBudget
    }

    /// Places `requests` in the order given, updating the hosts' allocation and expected use as it goes.
    /// - Returns: where each request went, the ones that fit nowhere (with the reason) and the hosts after.
    public func place(_ requests: [PlacementRequest], on hosts: [HostSnapshot]) -> PlacementResult {
        var state = hosts.map(Candidate.init)
        var placements: [Placement] = []
        var unplaced: [Unplaced] = []
        placements.reserveCapacity(requests.count)
        var index = policy == .binpack && indexed ? BinpackIndex(state) : nil
        for request in requests {
            let chosen = index.map { $0.choose(request) } ?? choose(request, in: state)
            if let chosen {
                state[chosen].add(request)
                index?.add(request, to: chosen)
                placements.append(Placement(evmID: request.id, hostID: state[chosen].snapshot.id))
            } else {
                unplaced.append(Unplaced(evmID: request.id, reason: Self.reason(request, hosts: state)))
            }
        }
        return PlacementResult(placements: placements, unplaced: unplaced, hosts: state.map(\.snapshot))
    }

    /// Places a batch largest first (dominant share of a typical host), which packs tighter than arrival order.
    public func placeBatch(_ requests: [PlacementRequest], on hosts: [HostSnapshot]) -> PlacementResult {
        let reference = hosts.first?.allocationLimit ?? Resources(cpuMillis: 1, memoryBytes: 1)
        let ordered = requests.sorted { a, b in
            let (sa, sb) = (a.size.dominantShare(of: reference), b.size.dominantShare(of: reference))
            return sa != sb ? sa > sb : a.id < b.id
        }
        var result = place(ordered, on: hosts)
        guard policy == .binpack, result.unplaced.isEmpty, requests.count <= improvementLimit, requests.count > 1 else { return result }
        // Minimum bin slack beside best fit on small batches: keep whichever occupies fewer hosts.
        if requests.count <= 200, let filled = MinimumSlackFill(hosts: hosts, requests: ordered, budgetPerHost: 2_000).run() {
            let other = Self.result(ordered, assignment: filled, hosts: hosts)
            if other.hostsUsed < result.hostsUsed { result = other }
        }
        var improvement = PlacementImprovement(hosts: hosts, result: result, requests: ordered, budget: improvementBudget)
        guard improvement.improve() else { return result }
        return Self.result(ordered, assignment: improvement.assignment, hosts: hosts)
    }

    /// The result of placing every request of `ordered` as `assignment` says (EVM id → host index).
    static func result(_ ordered: [PlacementRequest], assignment: [String: Int], hosts: [HostSnapshot]) -> PlacementResult {
        var after = hosts
        for request in ordered {
            let host = assignment[request.id]!
            after[host].allocated += request.size
            after[host].used += request.expectedUse
        }
        return PlacementResult(
            placements: ordered.map { Placement(evmID: $0.id, hostID: hosts[assignment[$0.id]!].id) }, unplaced: [], hosts: after)
    }

    // MARK: Choice

    private func choose(_ request: PlacementRequest, in hosts: [Candidate]) -> Int? {
        var best: (index: Int, key: (Int, Double, String))?
        for index in hosts.indices where hosts[index].fits(request) {
            let host = hosts[index]
            // Lower is better. binpack: occupied hosts first, then the least free room left; spread: the lowest share.
            let key =
                switch policy {
                case .binpack: (host.isOccupied ? 0 : 1, host.freeShareAfter(request), host.snapshot.id)
                case .spread: (0, host.allocationShareAfter(request), host.snapshot.id)
                }
            if best == nil || key < best!.key { best = (index, key) }
        }
        return best?.index
    }

    /// Best fit without scoring every host: the receiving hosts in lists by allocation limit and occupancy, each
    /// sorted by free room (the sum of the free shares of CPU and memory). Hosts with the same limit rank the same
    /// before and after a placement (free room after = free room − the request's share), so in each list the first
    /// host that fits, searched from the request's own share up, is that list's best fit; the best of those wins,
    /// occupied hosts before empty ones, as in ``choose(_:in:)``.
    struct BinpackIndex {
        struct Key: Comparable {
            var free: Double
            /// The host's place in id order (ties go to the lower id, as in the scan).
            var rank: Int
            var index: Int
            static func < (a: Key, b: Key) -> Bool { (a.free, a.rank) < (b.free, b.rank) }
        }
        /// The distinct allocation limits, and per limit the [occupied, empty] lists.
        var limits: [Resources] = []
        var lists: [[[Key]]] = []
        /// Per host: its limit's position in ``limits``, rank in id order, and the figures a fit is judged on
        /// (kept here as plain values so a search touches no host record).
        var group: [Int]
        let ranks: [Int]
        var allocated: [Resources]
        var used: [Resources]
        let usageLimit: [Resources]

        init(_ hosts: [Candidate]) {
            var ranks = [Int](repeating: 0, count: hosts.count)
            for (rank, index) in hosts.indices.sorted(by: { hosts[$0].snapshot.id < hosts[$1].snapshot.id }).enumerated() {
                ranks[index] = rank
            }
            self.ranks = ranks
            allocated = hosts.map(\.snapshot.allocated)
            used = hosts.map(\.snapshot.used)
            usageLimit = hosts.map(\.usageLimit)
            group = [Int](repeating: 0, count: hosts.count)
            var position: [Resources: Int] = [:]
            for index in hosts.indices {
                let limit = hosts[index].limit
                if position[limit] == nil {
                    position[limit] = limits.count
                    limits.append(limit)
                    lists.append([[], []])
                }
                group[index] = position[limit]!
                if hosts[index].snapshot.canReceive { lists[group[index]][rank(of: index)].append(key(index)) }
            }
            for g in lists.indices { for rank in 0..<2 { lists[g][rank].sort() } }
        }

        func rank(of index: Int) -> Int { allocated[index] == .zero ? 1 : 0 }

        func key(_ index: Int) -> Key {
            Key(free: Candidate.freeShare(allocated[index], limits[group[index]]), rank: ranks[index], index: index)
        }

        /// Records a placement on `index` (a receiving host: only those are ever chosen).
        mutating func add(_ request: PlacementRequest, to index: Int) {
            let (g, old) = (group[index], key(index))
            var list = rank(of: index)
            // The key it was inserted with is the one its unchanged state gives now.
            var position = Self.lowerBound(lists[g][list]) { $0 < old }
            if position >= lists[g][list].count || lists[g][list][position].index != index {
                position = lists[g][list].firstIndex { $0.index == index } ?? -1
            }
            if position >= 0 { lists[g][list].remove(at: position) }
            allocated[index] += request.size
            used[index] += request.expectedUse
            let new = key(index)
            list = rank(of: index)
            lists[g][list].insert(new, at: Self.lowerBound(lists[g][list]) { $0 < new })
        }

        static func lowerBound(_ list: [Key], _ before: (Key) -> Bool) -> Int {
            var (low, high) = (0, list.count)
            while low < high {
                let middle = (low + high) / 2
                if before(list[middle]) { low = middle + 1 } else { high = middle }
            }
            return low
        }

        func fits(_ request: PlacementRequest, _ index: Int) -> Bool {
            (allocated[index] + request.size).fits(in: limits[group[index]])
                && (used[index] + request.expectedUse).fits(in: usageLimit[index])
        }

        func choose(_ request: PlacementRequest) -> Int? {
            for rank in 0..<2 {
                var best: (index: Int, key: (Double, Int))?
                for (g, limit) in limits.enumerated() {
                    let list = lists[g][rank]
                    let share =
                        Double(request.size.cpuMillis) / Double(max(1, limit.cpuMillis)) + Double(request.size.memoryBytes)
                        / Double(max(1, limit.memoryBytes))
                    // A host with less free room than the request's share cannot fit it; allow for rounding.
                    var position = Self.lowerBound(list) { $0.free < share - 1e-9 }
                    // The first that fits is this list's best; hosts whose free room differs from its only by
                    // rounding are compared too, with the scan's own figures, so ties go as in the scan.
                    var firstFree: Double?
                    while position < list.count {
                        if let firstFree, list[position].free > firstFree + 1e-9 { break }
                        let index = list[position].index
                        if fits(request, index) {
                            firstFree = firstFree ?? list[position].free
                            let key = (Candidate.freeShare(allocated[index] + request.size, limit), ranks[index])
                            if best == nil || key < best!.key { best = (index, key) }
                        }
                        position += 1
                    }
                }
                if let best { return best.index }
            }
            return nil
        }
    }

    static func reason(_ request: PlacementRequest, hosts: [Candidate]) -> String {
        let receiving = hosts.filter { $0.snapshot.canReceive }
        if receiving.isEmpty { return "no host can receive EVMs (none is ready, uncordoned and out of maintenance)" }
        if receiving.allSatisfy({ !request.size.fits(in: $0.snapshot.allocationLimit) }) {
            return "needs \(request.size); no host has that much even when empty (capacity × overcommit)"
        }
        if receiving.contains(where: { ($0.snapshot.allocated + request.size).fits(in: $0.snapshot.allocationLimit) }) {
            return "needs \(request.size); hosts with room to allocate it would exceed their usage watermark"
        }
        return "needs \(request.size); every host is allocated up to capacity × overcommit"
    }

    /// A host while placing: its snapshot plus the expected use added so far.
    struct Candidate {
        var snapshot: HostSnapshot
        let limit: Resources
        let usageLimit: Resources

        init(_ snapshot: HostSnapshot) {
            self.snapshot = snapshot
            limit = snapshot.allocationLimit
            usageLimit = snapshot.usageLimit
        }

        var isOccupied: Bool { snapshot.allocated != .zero }

        func fits(_ request: PlacementRequest) -> Bool {
            snapshot.canReceive && (snapshot.allocated + request.size).fits(in: limit)
                && (snapshot.used + request.expectedUse).fits(in: usageLimit)
        }

        mutating func add(_ request: PlacementRequest) {
            snapshot.allocated += request.size
            snapshot.used += request.expectedUse
        }

        /// Free room left after placing, summed over dimensions as fractions of the limit.
        func freeShareAfter(_ request: PlacementRequest) -> Double { Self.freeShare(snapshot.allocated + request.size, limit) }

        static func freeShare(_ allocated: Resources, _ limit: Resources) -> Double {
            (1 - Double(allocated.cpuMillis) / Double(max(1, limit.cpuMillis)))
                + (1 - Double(allocated.memoryBytes) / Double(max(1, limit.memoryBytes)))
        }

        /// The larger of CPU and memory allocation shares after placing.
        func allocationShareAfter(_ request: PlacementRequest) -> Double {
            (snapshot.allocated + request.size).dominantShare(of: limit)
        }
    }
}

/// An EVM to place: its size (allocation) and the use expected of it at first (counted against the watermark).
public struct PlacementRequest: Sendable, Hashable, Codable {
    public var id: String
    public var size: Resources
    public var expectedUse: Resources

    public init(id: String, size: Resources, expectedUse: Resources = .zero) {
        self.id = id
        self.size = size
        self.expectedUse = expectedUse
    }

    private enum CodingKeys: String, CodingKey { case id, size, expectedUse }

    /// `expectedUse` may be omitted (zero).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id),
            size: try c.decode(Resources.self, forKey: .size),
            expectedUse: try c.decodeIfPresent(Resources.self, forKey: .expectedUse) ?? .zero
        )
    }
}

/// Where one EVM goes.
public struct Placement: Sendable, Hashable, Codable {
    public var evmID: String
    public var hostID: String
}

/// An EVM that fits nowhere, and why.
public struct Unplaced: Sendable, Hashable, Codable {
    public var evmID: String
    public var reason: String
}

/// The outcome of one placement run.
public struct PlacementResult: Sendable, Hashable, Codable {
    public var placements: [Placement]
    public var unplaced: [Unplaced]
    /// The hosts with the placements applied.
    public var hosts: [HostSnapshot]

    /// Hosts holding at least one EVM afterwards.
    public var hostsUsed: Int { hosts.filter { $0.allocated != .zero }.count }
}

extension Resources {
    /// The larger of this value's CPU and memory shares of `whole`.
    public func dominantShare(of whole: Resources) -> Double {
        max(Double(cpuMillis) / Double(max(1, whole.cpuMillis)), Double(memoryBytes) / Double(max(1, whole.memoryBytes)))
    }

    /// How many bins of `size` this much needs at least: per dimension ⌈self ÷ size⌉, the larger (0 for a dimension
    /// that needs nothing or a bin that has none of it). The lower bounds of the packer and the placer.
    func binsNeeded(of size: Resources) -> Int {
        func ceil(_ need: Int64, _ per: Int64) -> Int { per <= 0 || need <= 0 ? 0 : Int(need / per + (need % per == 0 ? 0 : 1)) }
        return max(ceil(cpuMillis, size.cpuMillis), ceil(memoryBytes, size.memoryBytes))
    }
}
