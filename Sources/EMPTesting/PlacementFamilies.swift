import EMPModel
public import EMPScheduling

/// Seeded families of EVM batches whose optimum (hosts occupied) is known by construction, hard for best fit
/// decreasing: shared by the placer's tests and `emp-bench placement`.
public enum PlacementFamily: String, CaseIterable, Sendable {
    /// The textbook 11/9 instance (Johnson): EVMs of ½+ε, ¼+2ε, ¼+ε and ¼−2ε of a host's memory; first or best fit
    /// decreasing occupy 11 hosts per 9 the optimum needs.
    case elevenNinths
    /// Each of k hosts' limits cut into 2–4 EVMs that fill it exactly in CPU and memory, shuffled together.
    case perfectCut
    /// CPU-heavy and memory-heavy EVMs that fill a host only in complementary pairs.
    case complementaryPairs

    /// One instance: the batch, the hosts (empty, with spares), and the optimum.
    public struct Instance: Sendable {
        public var requests: [PlacementRequest]
        public var hosts: [HostSnapshot]
        public var optimum: Int
    }

    static let cores: Int64 = 64
    static let gib: Int64 = 256

    static func hosts(_ count: Int, memoryGiB: Int64 = gib) -> [HostSnapshot] {
        (0..<count).map {
            HostSnapshot(
                id: "h\($0 + 10)", capacity: Resources(cpuMillis: cores * 1000, memoryBytes: .gibibytes(memoryGiB)), highWatermark: 1)
        }
    }

    public func instance(seed: UInt64) -> Instance {
        var random = SplitMix(seed: seed &* 7919 &+ UInt64(Self.allCases.firstIndex(of: self)!))
        switch self {
        case .elevenNinths:
            // Host memory 120 GiB; ε = 2 GiB: 62, 34, 32 and 26 GiB, 6 / 6 / 6 / 12 of them; optimum 9.
            var requests: [PlacementRequest] = []
            for (count, gib) in [(6, Int64(62)), (6, 34), (6, 32), (12, 26)] {
                for _ in 0..<count {
                    requests.append(
                        PlacementRequest(id: "e\(requests.count)", size: Resources(cpuMillis: 1000, memoryBytes: .gibibytes(gib))))
                }
            }
            return Instance(requests: shuffled(requests, &random), hosts: Self.hosts(13, memoryGiB: 120), optimum: 9)
        case .perfectCut:
            let count = 3 + random.next(below: 4)
            var requests: [PlacementRequest] = []
            for _ in 0..<count {
                let pieces = 2 + random.next(below: 3)
                let cpu = cut(Self.cores, into: pieces, &random)
                let memory = cut(Self.gib, into: pieces, &random)
                for piece in 0..<pieces {
                    requests.append(
                        PlacementRequest(
                            id: "e\(requests.count)", size: Resources(cpuMillis: cpu[piece] * 1000, memoryBytes: .gibibytes(memory[piece])))
                    )
                }
            }
            return Instance(requests: shuffled(requests, &random), hosts: Self.hosts(count + 3), optimum: count)
        case .complementaryPairs:
            let count = 3 + random.next(below: 5)
            var requests: [PlacementRequest] = []
            for _ in 0..<count {
                let cpu = Int64(36 + random.next(below: 14))
                let memory = Int64(60 + random.next(below: 40))
                requests.append(
                    PlacementRequest(id: "e\(requests.count)", size: Resources(cpuMillis: cpu * 1000, memoryBytes: .gibibytes(memory))))
                requests.append(
                    PlacementRequest(
                        id: "e\(requests.count)",
                        size: Resources(cpuMillis: (Self.cores - cpu) * 1000, memoryBytes: .gibibytes(Self.gib - memory))))
            }
            return Instance(requests: shuffled(requests, &random), hosts: Self.hosts(count + 3), optimum: count)
        }
    }

    /// `total` split into `pieces` positive whole parts.
    func cut(_ total: Int64, into pieces: Int, _ random: inout SplitMix) -> [Int64] {
        var points = Set<Int64>()
        while points.count < pieces - 1 { points.insert(Int64(1 + random.next(below: Int(total) - 1))) }
        let sorted = [0] + points.sorted() + [total]
        return (1..<sorted.count).map { sorted[$0] - sorted[$0 - 1] }
    }

    func shuffled(_ requests: [PlacementRequest], _ random: inout SplitMix) -> [PlacementRequest] {
        var copy = requests
        for index in stride(from: copy.count - 1, to: 0, by: -1) { copy.swapAt(index, random.next(below: index + 1)) }
        return copy
    }
}
