public import EMPModel
public import Foundation

/// Prices a pool: its hosts from their instance type or configured cost, its running EVMs as the on-demand
/// instances they stand in for, and the running total of the difference. Pure: the caller brings the records.
public struct CostModel: Sendable {
    public var prices: PriceTable
    /// Per pool, by id; a pool not listed prices hosts and EVMs as the nearest instance type by size.
    public var pools: [String: PoolCostSettings]
    /// A host's cost per hour by host id, over its pool's.
    public var hosts: [String: Double]

    public init(prices: PriceTable = .shipped, pools: [String: PoolCostSettings] = [:], hosts: [String: Double] = [:]) {
        self.prices = prices
        self.pools = pools
        self.hosts = hosts
    }

    /// What one host of `pool` costs per hour: its own configured cost, else its pool's, else the list price of
    /// the pool's host type, else of the cheapest type at least its size (a 96-core, 384 GiB host: $4.608, the
    /// price of m5.metal and m5.24xlarge).
    public func hostHourly(_ host: EMPModel.Host, pool: Pool) -> Double {
        if let cost = hosts[host.id] { return cost }
        let settings = pools[pool.id]
        if let cost = settings?.hostHourly { return cost }
        // What the host provider launched (its on-demand list price; spot is priced the same, an upper bound).
        if let name = host.provider?.instanceType, let price = prices.price(name) { return price.hourly }
        if let name = settings?.hostInstanceType, let price = prices.price(name) { return price.hourly }
        let cores = Int(host.capacity.cpuMillis.saturatingAdd(999) / 1000)
        return prices.nearest(vcpus: cores, memoryBytes: host.capacity.memoryBytes)?.hourly ?? 0
    }

    /// The instance type one EVM of `pool` stands in for.
    public func evmInstance(for pool: Pool) -> InstancePrice? {
        if let name = pools[pool.id]?.evmInstanceType, let price = prices.price(name) { return price }
        return prices.nearest(vcpus: pool.shape.vcpus, memoryBytes: pool.shape.memoryBytes)
    }

    /// The phases of EVMs that count as instances a node autoscaler would run: those serving pods.
    public static let instancePhases: Set<EVMPhase> = [.running, .migrating]

    /// The pool's state at `time` as a sample, its running total carried on from `previous` (the rate before a gap
    /// counts for the whole gap, as nothing says it changed).
    public func sample(pool: Pool, hosts: [EMPModel.Host], runningEVMs running: Int, at time: Date, previous: PoolSample?) -> PoolSample {
        let priced = hosts.filter { $0.state != .lost }
        let hostsHourly = priced.reduce(0) { $0 + hostHourly($1, pool: pool) }
        let evmsHourly = Double(running) * (evmInstance(for: pool)?.hourly ?? 0)
        var total = previous?.savedTotal ?? 0
        if let previous, time > previous.at {
            total += previous.savingHourly * time.timeIntervalSince(previous.at) / 3600
        }
        let totals = CostModel.totals(pool: pool, hosts: hosts)
        return PoolSample(
            poolID: pool.id, at: time, hostsHourly: hostsHourly, evmsHourly: evmsHourly, savedTotal: total, limit: totals.limit,
            allocated: totals.allocated, used: totals.used, runningEVMs: running)
    }

    /// The limit (capacity × overcommit), allocation and use summed over the pool's hosts that count (not lost).
    public static func totals(pool: Pool, hosts: [EMPModel.Host]) -> (limit: Resources, allocated: Resources, used: Resources) {
        hosts.filter { $0.state != .lost }.reduce((Resources.zero, Resources.zero, Resources.zero)) { sums, host in
            (sums.0 + pool.limit(of: host.capacity), sums.1 + host.allocated, sums.2 + host.used)
        }
    }

    /// The estimate `GET /v1/pools/{id}/cost` answers: the current figures, the running total as of `latest` (the
    /// last sample) carried on to `time`, counted from `first`.
    public func estimate(
        pool: Pool, hosts: [EMPModel.Host], runningEVMs: Int, at time: Date, latest: PoolSample?, first: Date?
    ) -> CostEstimate {
        let now = sample(pool: pool, hosts: hosts, runningEVMs: runningEVMs, at: time, previous: latest)
        let instance = evmInstance(for: pool)
        return CostEstimate(
            poolID: pool.id, at: time, hosts: hosts.filter { $0.state != .lost }.count, hostsHourly: now.hostsHourly,
            runningEVMs: now.runningEVMs, evmInstanceType: instance?.name, evmInstanceHourly: instance?.hourly ?? 0,
            savedTotal: now.savedTotal, since: first ?? latest?.at)
    }

    /// At most `points` samples over `samples` (sorted by time): each the average of its slice, timed at the slice's
    /// last sample, whose running total it keeps. A chart of a month of minutes stays a few hundred points.
    public static func downsample(_ samples: [PoolSample], points: Int) -> [PoolSample] {
        guard points > 0, samples.count > points else { return samples }
        let size = (samples.count + points - 1) / points
        return stride(from: 0, to: samples.count, by: size).map { start in
            let slice = samples[start..<min(start + size, samples.count)]
            let count = Double(slice.count)
            var merged = slice.last!
            merged.hostsHourly = slice.reduce(0) { $0 + $1.hostsHourly } / count
            merged.evmsHourly = slice.reduce(0) { $0 + $1.evmsHourly } / count
            let n = Int64(slice.count)
            func mean(_ key: KeyPath<PoolSample, Resources>) -> Resources {
                let sum = slice.reduce(Resources.zero) { $0 + $1[keyPath: key] }
                return Resources(cpuMillis: sum.cpuMillis / n, memoryBytes: sum.memoryBytes / n)
            }
            merged.limit = mean(\.limit)
            merged.allocated = mean(\.allocated)
            merged.used = mean(\.used)
            merged.runningEVMs = Int((Double(slice.reduce(0) { $0 + $1.runningEVMs }) / count).rounded())
            return merged
        }
    }
}
