import EMPModel

/// The improvement stage after best fit decreasing (``Placer/placeBatch(_:on:)``): while the batch occupies more
/// hosts that were empty than a lower bound needs, it takes the EVMs of the least-filled of those hosts (two to
/// four hosts, at most 16 EVMs) and searches exhaustively, within a step budget, for a way to place them that
/// occupies fewer empty hosts, using the room left everywhere else. Pure; bounded in time by the budget.
struct PlacementImprovement {
    var allocated: [Resources]
    var used: [Resources]
    let limit: [Resources]
    let usageLimit: [Resources]
    let receiving: [Bool]
    /// What each host had allocated before the batch: hosts holding EVMs then do not count as opened.
    let allocatedBefore: [Resources]
    /// EVM id → host index, for the batch.
    var assignment: [String: Int]
    let requests: [String: PlacementRequest]
    let budget: Int

    init(hosts: [HostSnapshot], result: PlacementResult, requests: [PlacementRequest], budget: Int) {
        allocated = result.hosts.map(\.allocated)
        used = result.hosts.map(\.used)
        limit = hosts.map(\.allocationLimit)
        usageLimit = hosts.map(\.usageLimit)
        receiving = hosts.map(\.canReceive)
        allocatedBefore = hosts.map(\.allocated)
        var index: [String: Int] = [:]
        for (i, host) in hosts.enumerated() { index[host.id] = index[host.id] ?? i }
        assignment = Dictionary(result.placements.compactMap { p in index[p.hostID].map { (p.evmID, $0) } }) { a, _ in a }
        self.requests = Dictionary(requests.map { ($0.id, $0) }) { a, _ in a }
        self.budget = budget
    }

    /// Hosts the batch occupied that were empty before.
    var opened: [Int] { allocated.indices.filter { allocatedBefore[$0] == .zero && allocated[$0] != .zero } }

    /// New hosts no placement of the batch can do without: per dimension, its demand beyond the room left on hosts
    /// occupied before, over the largest receiving host's limit.
    func lowerBound() -> Int {
        var demand = Resources.zero
        for id in assignment.keys { demand += requests[id]!.size }
        var room = Resources.zero
        var largest = Resources.zero
        for host in limit.indices where receiving[host] {
            largest = largest.componentMax(limit[host])
            if allocatedBefore[host] != .zero { room += (limit[host] - allocatedBefore[host]).componentMax(.zero) }
        }
        return (demand - room).binsNeeded(of: largest)
    }

    /// Runs the elimination rounds; true when the assignment changed.
    mutating func improve() -> Bool {
        var changed = false
        let bound = lowerBound()
        for _ in 0..<32 {
            let open = opened
            guard open.count > bound else { break }
            func fill(_ host: Int) -> Double {
                Double(allocated[host].cpuMillis) / Double(max(1, limit[host].cpuMillis)) + Double(allocated[host].memoryBytes)
                    / Double(max(1, limit[host].memoryBytes))
            }
            let order = open.sorted { (fill($0), $0) < (fill($1), $1) }
            var chosen: [Int] = []
            var items: [String] = []
            for host in order where chosen.count < 4 {
                let here = assignment.filter { $0.value == host }.map(\.key)
                if items.count + here.count > 16 { break }
                chosen.append(host)
                items += here
            }
            guard chosen.count >= 2, eliminate(chosen, items) else { break }
            changed = true
        }
        return changed
    }

    /// Takes `items` off `hosts` and searches for a placement of them opening fewer than `hosts.count` empty hosts;
    /// applies it and answers true, or restores and answers false.
    mutating func eliminate(_ hosts: [Int], _ items: [String]) -> Bool {
        for id in items {
            let host = assignment[id]!
            allocated[host] -= requests[id]!.size
            used[host] -= requests[id]!.expectedUse
        }
        let ordered = items.sorted { a, b in
            let (x, y) = (requests[a]!.size, requests[b]!.size)
            return (x.memoryBytes, x.cpuMillis, a) > (y.memoryBytes, y.cpuMillis, b)
        }
        var search = Search(state: self, items: ordered.map { requests[$0]! }, best: hosts.count, budget: budget)
        search.run(0, opened: 0)
        if let found = search.found {
            for (id, host) in zip(ordered, found) {
                assignment[id] = host
                allocated[host] += requests[id]!.size
                used[host] += requests[id]!.expectedUse
            }
            return true
        }
        for id in items {
            let host = assignment[id]!
            allocated[host] += requests[id]!.size
            used[host] += requests[id]!.expectedUse
        }
        return false
    }

    /// Depth-first over where each item goes: hosts holding EVMs now (tightest first), then one empty host per kind.
    struct Search {
        var allocated: [Resources]
        var used: [Resources]
        let limit: [Resources]
        let usageLimit: [Resources]
        let receiving: [Bool]
        let items: [PlacementRequest]
        var best: Int
        var budget: Int
        var path: [Int] = []
        var found: [Int]?

        init(state: PlacementImprovement, items: [PlacementRequest], best: Int, budget: Int) {
            allocated = state.allocated
            used = state.used
            limit = state.limit
            usageLimit = state.usageLimit
            receiving = state.receiving
            self.items = items
            self.best = best
            self.budget = budget
        }

        func fits(_ item: PlacementRequest, _ host: Int) -> Bool {
            receiving[host] && (allocated[host] + item.size).fits(in: limit[host])
                && (used[host] + item.expectedUse).fits(in: usageLimit[host])
        }

        mutating func run(_ next: Int, opened: Int) {
            budget -= 1
            guard budget >= 0, opened < best else { return }
            if next == items.count {
                best = opened
                found = path
                return
            }
            let item = items[next]
            // Occupied hosts that fit, least room left first (best fit finds good answers early); at most 8.
            var occupied: [(room: Double, host: Int)] = []
            var empties: [Int] = []
            var kinds: [(Resources, Resources, Resources)] = []
            for host in allocated.indices where fits(item, host) {
                if allocated[host] == .zero {
                    let kind = (limit[host], usageLimit[host], used[host])
                    if kinds.contains(where: { $0 == kind }) { continue }
                    kinds.append(kind)
                    empties.append(host)
                } else {
                    let left = limit[host] - allocated[host] - item.size
                    let room =
                        Double(left.cpuMillis) / Double(max(1, limit[host].cpuMillis)) + Double(left.memoryBytes)
                        / Double(max(1, limit[host].memoryBytes))
                    occupied.append((room, host))
                }
            }
            occupied.sort { ($0.room, $0.host) < ($1.room, $1.host) }
            for (_, host) in occupied.prefix(8) {
                place(item, on: host, next: next, opened: opened)
                if budget < 0 { return }
            }
            if opened + 1 < best {
                for host in empties {
                    place(item, on: host, next: next, opened: opened + 1)
                    if budget < 0 { return }
                }
            }
        }

        mutating func place(_ item: PlacementRequest, on host: Int, next: Int, opened: Int) {
            allocated[host] += item.size
            used[host] += item.expectedUse
            path.append(host)
            run(next + 1, opened: opened)
            path.removeLast()
            allocated[host] -= item.size
            used[host] -= item.expectedUse
        }
    }
}

/// Minimum bin slack: fills one host at a time with the subset of the remaining EVMs that leaves it the least room
/// (a depth-first search per host within a step budget, largest first, equal EVMs tried once per depth), hosts
/// holding EVMs first, then empty ones. Where best fit decreasing packs greedily and can leave every host with a
/// gap no remaining EVM fits (the textbook 11/9 instances), this finds the exact fills. ``Placer`` runs it beside
/// best fit on small batches and keeps the answer that occupies fewer hosts.
struct MinimumSlackFill {
    let hosts: [HostSnapshot]
    let requests: [PlacementRequest]
    let budgetPerHost: Int

    /// EVM id → host index, or nil when some EVM found no host.
    func run() -> [String: Int]? {
        var remaining = requests.sorted { a, b in
            (a.size.memoryBytes, a.size.cpuMillis, a.id) > (b.size.memoryBytes, b.size.cpuMillis, b.id)
        }
        var assignment: [String: Int] = [:]
        let order = hosts.indices.filter { hosts[$0].canReceive }.sorted { a, b in
            let (x, y) = (hosts[a], hosts[b])
            return (x.allocated == .zero ? 1 : 0, x.id) < (y.allocated == .zero ? 1 : 0, y.id)
        }
        for host in order where !remaining.isEmpty {
            var search = SlackSearch(host: hosts[host], items: remaining, budget: budgetPerHost)
            search.run(from: 0)
            guard !search.best.isEmpty else { continue }
            let taken = Set(search.best)
            for index in search.best { assignment[remaining[index].id] = host }
            remaining = remaining.indices.filter { !taken.contains($0) }.map { remaining[$0] }
        }
        return remaining.isEmpty ? assignment : nil
    }

    struct SlackSearch {
        let limit: Resources
        let usageLimit: Resources
        var allocated: Resources
        var used: Resources
        let items: [PlacementRequest]
        var budget: Int
        var chosen: [Int] = []
        var best: [Int] = []
        var bestSlack = Double.infinity

        init(host: HostSnapshot, items: [PlacementRequest], budget: Int) {
            limit = host.allocationLimit
            usageLimit = host.usageLimit
            allocated = host.allocated
            used = host.used
            self.items = items
            self.budget = budget
        }

        var slack: Double {
            let left = limit - allocated
            return Double(left.cpuMillis) / Double(max(1, limit.cpuMillis)) + Double(left.memoryBytes) / Double(max(1, limit.memoryBytes))
        }

        mutating func run(from start: Int) {
            budget -= 1
            if slack < bestSlack - 1e-12 {
                bestSlack = slack
                best = chosen
            }
            guard budget >= 0, bestSlack > 1e-12 else { return }
            var tried: [(Resources, Resources)] = []
            for index in start..<items.count {
                let item = items[index]
                guard (allocated + item.size).fits(in: limit), (used + item.expectedUse).fits(in: usageLimit) else { continue }
                if tried.contains(where: { $0 == (item.size, item.expectedUse) }) { continue }
                tried.append((item.size, item.expectedUse))
                allocated += item.size
                used += item.expectedUse
                chosen.append(index)
                run(from: index + 1)
                chosen.removeLast()
                allocated -= item.size
                used -= item.expectedUse
                if budget < 0 || bestSlack <= 1e-12 { return }
            }
        }
    }
}
