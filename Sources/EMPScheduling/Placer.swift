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

    public init(policy: PlacementPolicy = .binpack) {
        self.policy = policy
    }

    /// Places `requests` in the order given, updating the hosts' allocation and expected use as it goes.
    /// - Returns: where each request went, the ones that fit nowhere (with the reason) and the hosts after.
    public func place(_ requests: [PlacementRequest], on hosts: [HostSnapshot]) -> PlacementResult {
        var state = hosts.map(Candidate.init)
        var placements: [Placement] = []
        var unplaced: [Unplaced] = []
        placements.reserveCapacity(requests.count)
        for request in requests {
            if let index = choose(request, in: state) {
                state[index].add(request)
                placements.append(Placement(evmID: request.id, hostID: state[index].snapshot.id))
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
        return place(ordered, on: hosts)
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
        func freeShareAfter(_ request: PlacementRequest) -> Double {
            let after = snapshot.allocated + request.size
            return (1 - Double(after.cpuMillis) / Double(max(1, limit.cpuMillis)))
                + (1 - Double(after.memoryBytes) / Double(max(1, limit.memoryBytes)))
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
    func dominantShare(of whole: Resources) -> Double {
        max(Double(cpuMillis) / Double(max(1, whole.cpuMillis)), Double(memoryBytes) / Double(max(1, whole.memoryBytes)))
    }
}
