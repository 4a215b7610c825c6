import EMPModel

/// Finds the first bin (EVM node or host) with room for a request without scanning every bin: a segment tree of
/// the largest free CPU, memory and slot count under each node. Both the packer's first fit and the placer's
/// candidate search use it.
///
/// The maxima of the two dimensions may come from different bins, so a subtree that passes the test can still hold
/// no fitting bin; the search then backtracks. In the packer's and placer's mixes that is rare, and a query costs
/// about log₂(bins) steps instead of one per bin.
struct FreeRoomIndex {
    private var cpu: [Int64]
    private var memory: [Int64]
    private var slots: [Int]
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
    }

    /// Adds a bin at index ``count``.
    mutating func append(free: Resources, slots: Int) {
        if count == leaves { grow() }
        count += 1
        update(count - 1, free: free, slots: slots)
    }

    /// Records bin `index`'s free room after a change.
    mutating func update(_ index: Int, free: Resources, slots freeSlots: Int) {
        var node = index + leaves
        cpu[node] = free.cpuMillis
        memory[node] = free.memoryBytes
        slots[node] = freeSlots
        node >>= 1
        while node >= 1 {
            let (left, right) = (2 * node, 2 * node + 1)
            cpu[node] = max(cpu[left], cpu[right])
            memory[node] = max(memory[left], memory[right])
            slots[node] = max(slots[left], slots[right])
            node >>= 1
        }
    }

    /// The lowest index below `end` whose free room covers `need` with a free slot and that `accept` takes.
    func first(fitting need: Resources, below end: Int? = nil, where accept: (Int) -> Bool) -> Int? {
        search(1, 0, leaves, need, min(end ?? count, count), accept)
    }

    private func search(_ node: Int, _ low: Int, _ high: Int, _ need: Resources, _ end: Int, _ accept: (Int) -> Bool) -> Int? {
        if low >= end || cpu[node] < need.cpuMillis || memory[node] < need.memoryBytes || slots[node] < 1 { return nil }
        if high - low == 1 { return accept(low) ? low : nil }
        let middle = (low + high) / 2
        return search(2 * node, low, middle, need, end, accept) ?? search(2 * node + 1, middle, high, need, end, accept)
    }

    private mutating func grow() {
        var bigger = FreeRoomIndex(capacity: leaves * 2)
        for index in 0..<count {
            let leaf = index + leaves
            bigger.append(free: Resources(cpuMillis: cpu[leaf], memoryBytes: memory[leaf]), slots: slots[leaf])
        }
        self = bigger
    }
}
