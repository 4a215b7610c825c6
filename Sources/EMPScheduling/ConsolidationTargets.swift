import EMPModel

/// The hosts consolidation may fill, fullest first, with each one's room under (watermark − margin): an EVM finds
/// its target in about log₂(hosts) steps (``FreeRoomIndex``) instead of a comparison with every host, which made a
/// pass at 10,000 hosts take a minute.
///
/// Positions are fixed when consolidation starts (by used share, fullest first, then id), so "first fit" fills
/// the hosts that were fullest; rooms and who may receive are kept current with ``refresh(_:state:)``.
struct ConsolidationTargets {
    private let margin: Double
    private var position: [Int: Int] = [:]
    private var hosts: [Int] = []
    private var rooms: [Resources] = []
    private var index: FreeRoomIndex
    /// The room of every host that may receive, summed.
    private(set) var totalRoom = Resources.zero

    /// `order`: the hosts that may receive, fullest first.
    init(_ order: some Sequence<Int>, margin: Double, state: RebalanceState) {
        self.margin = margin
        let ordered = Array(order)
        index = FreeRoomIndex(capacity: ordered.count)
        for host in ordered {
            position[host] = hosts.count
            hosts.append(host)
            let room = Self.room(host, margin: margin, state: state)
            let allocation = Self.allocationRoom(host, state: state)
            rooms.append(room)
            totalRoom += room
            index.append(free: room, slots: 1, also: allocation)
        }
    }

    /// The room `host` counts with now (zero when it may not receive).
    func room(of host: Int) -> Resources {
        position[host].map { rooms[$0] } ?? .zero
    }

    /// Records `host`'s room after EVMs moved on or off it, or after it started or stopped being freed.
    mutating func refresh(_ host: Int, state: RebalanceState) {
        guard let at = position[host] else { return }
        let room = Self.room(host, margin: margin, state: state)
        totalRoom = totalRoom - rooms[at] + room
        rooms[at] = room
        index.update(at, free: room, slots: state.hosts[host].canReceive ? 1 : 0, also: Self.allocationRoom(host, state: state))
    }

    /// The first host, fullest first, that `evm` may move to for consolidation.
    func first(for evm: Int, state: RebalanceState) -> Int? {
        let load = state.evms[evm].snapshot
        return index.first(fitting: load.used, also: load.size) { at in
            let host = hosts[at]
            return state.fits(evm, on: host, for: .consolidate, usageShare: max(0, state.hosts[host].snapshot.highWatermark - margin))
        }.map { hosts[$0] }
    }

    private static func allocationRoom(_ host: Int, state: RebalanceState) -> Resources {
        let load = state.hosts[host]
        return (load.snapshot.allocationLimit - load.allocated).componentMax(.zero)
    }

    private static func room(_ host: Int, margin: Double, state: RebalanceState) -> Resources {
        let load = state.hosts[host]
        guard load.canReceive else { return .zero }
        let share = max(0, load.snapshot.highWatermark - margin)
        return (load.snapshot.capacity.scaled(cpu: share, memory: share) - load.used).componentMax(.zero)
    }
}
