import EMPModel

/// Finds the first bin (EVM node or host) with room for a request without scanning every bin: a segment tree of
/// the largest free CPU, memory and slot count under each node. Both the packer's first fit and the placer's
/// candidate search use it; consolidation (``ConsolidationTargets``) adds a second pair of dimensions, the room
/// under the allocation limit beside the room under the usage limit.
///
/// The maxima of the two dimensions may come from different bins, so a subtree that passes the test can still hold
/// no fitting bin; the search then backtracks. In the packer's and placer's mixes that is rare, and a query costs
/// about log₂(bins) steps instead of one per bin.
struct FreeRoomIndex {
    private var cpu: [Int64]
    private var memory: [Int64]
    private var slots: [Int]
    /// The second pair (``Resources/unbounded`` when a caller has none).
    private var cpu2: [Int64]
    private var memory2: [Int64]
    /// Leaves in the tree (a power of two); bins beyond ``count`` are empty and never match.
    private var leaves: Int
    /// Bins indexed so far.
    private(set) var count = 0

    init(capacity: Int = 16) {
        leaves = 1
        while leaves < max(1, capacity) { leaves <<= 1 }
        cpu = Array(repeating: .min, count: 2 * leaves)
        memory = Array(repeating: .min, count: 2 * leaves)
        slots = Array(repeating: .min, count: 2 * leaves)
        cpu2 = Array(repeating: .min, count: 2 * leaves)
        memory2 = Array(repeating: .min, count: 2 * leaves)
    }

    /// Adds a bin at index ``count``.
    mutating func append(free: Resources, slots: Int, also: Resources = .unbounded) {
        if count == leaves { grow() }
        count += 1
        update(count - 1, free: free, slots: slots, also: also)
    }

    /// Records bin `index`'s free room after a change.
    mutating func update(_ index: Int, free: Resources, slots freeSlots: Int, also: Resources = .unbounded) {
        var node = index + leaves
        cpu[node] = free.cpuMillis
        memory[node] = free.memoryBytes
        slots[node] = freeSlots
        cpu2[node] = also.cpuMillis
        memory2[node] = also.memoryBytes
        node >>= 1
        while node >= 1 {
            let (left, right) = (2 * node, 2 * node + 1)
            cpu[node] = max(cpu[left], cpu[right])
            memory[node] = max(memory[left], memory[right])
            slots[node] = max(slots[left], slots[right])
            cpu2[node] = max(cpu2[left], cpu2[right])
            memory2[node] = max(memory2[left], memory2[right])
            node >>= 1
        }
    }

    /// The lowest index below `end` whose free room covers `need` (and its second pair `also`) with a free slot
    /// and that `accept` takes.
    func first(fitting need: Resources, also: Resources = .zero, below end: Int? = nil, where accept: (Int) -> Bool) -> Int? {
        search(1, 0, leaves, need, also, min(end ?? count, count), accept)
    }

    private func search(
        _ node: Int, _ low: Int, _ high: Int, _ need: Resources, _ also: Resources, _ end: Int, _ accept: (Int) -> Bool
    ) -> Int? {
        if low >= end || cpu[node] < need.cpuMillis || memory[node] < need.memoryBytes || slots[node] < 1 { return nil }
        if cpu2[node] < also.cpuMillis || memory2[node] < also.memoryBytes { return nil }
        if high - low == 1 { return accept(low) ? low : nil }
        let middle = (low + high) / 2
        return search(2 * node, low, middle, need, also, end, accept) ?? search(2 * node + 1, middle, high, need, also, end, accept)
    }

    private mutating func grow() {
        var bigger = FreeRoomIndex(capacity: leaves * 2)
        for index in 0..<count {
            let leaf = index + leaves
            bigger.append(
                free: Resources(cpuMillis: cpu[leaf], memoryBytes: memory[leaf]), slots: slots[leaf],
                also: Resources(cpuMillis: cpu2[leaf], memoryBytes: memory2[leaf]))
        }
        self = bigger
    }
}
