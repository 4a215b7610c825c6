public import Foundation

/// One on-demand instance type of a price list: what an EVM of its size would cost as a cloud instance, or what a
/// bare-metal host of that type costs.
public struct InstancePrice: Sendable, Hashable, Codable {
    public var name: String
    public var vcpus: Int
    public var memoryBytes: Int64
    /// On-demand list price, US dollars per hour.
    public var hourly: Double

    public init(name: String, vcpus: Int, memoryBytes: Int64, hourly: Double) {
        self.name = name
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.hourly = hourly
    }

    private enum CodingKeys: String, CodingKey { case name, vcpus, memory, hourly }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        vcpus = try c.decode(Int.self, forKey: .vcpus)
        let memory = try c.decode(String.self, forKey: .memory)
        guard let bytes = try? Quantity(memory).roundedUp else {
            throw DecodingError.dataCorruptedError(
                forKey: .memory, in: c, debugDescription: "not a memory quantity such as 64Gi (got \"\(memory)\")")
        }
        memoryBytes = bytes
        hourly = try c.decode(Double.self, forKey: .hourly)
        guard !name.isEmpty else { throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription: "must not be empty") }
        guard vcpus > 0 else { throw DecodingError.dataCorruptedError(forKey: .vcpus, in: c, debugDescription: "must be positive") }
        guard memoryBytes > 0 else {
            throw DecodingError.dataCorruptedError(forKey: .memory, in: c, debugDescription: "must be positive")
        }
        guard hourly >= 0, hourly.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .hourly, in: c, debugDescription: "must be a price of 0 or more")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(vcpus, forKey: .vcpus)
        try c.encode(Resources.formatBytes(memoryBytes), forKey: .memory)
        try c.encode(hourly, forKey: .hourly)
    }
}

/// The list prices the savings estimate uses: shipped defaults for the m5 family, overridden or extended by the
/// control plane's configuration.
public struct PriceTable: Sendable, Hashable {
    public private(set) var prices: [InstancePrice]

    public init(_ prices: [InstancePrice]) { self.prices = prices }

    /// AWS on-demand list prices, us-east-1, Linux (the figures seed 000 and the product's makers quote).
    public static let shipped = PriceTable([
        InstancePrice(name: "m5.large", vcpus: 2, memoryBytes: 8 << 30, hourly: 0.096),
        InstancePrice(name: "m5.xlarge", vcpus: 4, memoryBytes: 16 << 30, hourly: 0.192),
        InstancePrice(name: "m5.2xlarge", vcpus: 8, memoryBytes: 32 << 30, hourly: 0.384),
        InstancePrice(name: "m5.4xlarge", vcpus: 16, memoryBytes: 64 << 30, hourly: 0.768),
        InstancePrice(name: "m5.8xlarge", vcpus: 32, memoryBytes: 128 << 30, hourly: 1.536),
        InstancePrice(name: "m5.12xlarge", vcpus: 48, memoryBytes: 192 << 30, hourly: 2.304),
        InstancePrice(name: "m5.16xlarge", vcpus: 64, memoryBytes: 256 << 30, hourly: 3.072),
        InstancePrice(name: "m5.24xlarge", vcpus: 96, memoryBytes: 384 << 30, hourly: 4.608),
        InstancePrice(name: "m5.metal", vcpus: 96, memoryBytes: 384 << 30, hourly: 4.608),
    ])

    /// This table with `overrides` replacing entries of the same name and adding the others.
    public func merging(_ overrides: [InstancePrice]) -> PriceTable {
        var merged = prices.filter { price in !overrides.contains { $0.name == price.name } }
        merged.append(contentsOf: overrides)
        return PriceTable(merged)
    }

    public func price(_ name: String) -> InstancePrice? { prices.first { $0.name == name } }

    /// The cheapest instance type with at least `vcpus` and `memoryBytes` (what a node autoscaler would launch for
    /// an EVM of that size); the largest one when none is big enough.
    public func nearest(vcpus: Int, memoryBytes: Int64) -> InstancePrice? {
        let fitting = prices.filter { $0.vcpus >= vcpus && $0.memoryBytes >= memoryBytes }
        if let cheapest = fitting.min(by: { ($0.hourly, $0.name) < ($1.hourly, $1.name) }) { return cheapest }
        return prices.max { ($0.vcpus, $0.memoryBytes) < ($1.vcpus, $1.memoryBytes) }
    }
}

/// How one pool is priced: what its hosts cost and which instance type its EVMs stand in for.
public struct PoolCostSettings: Sendable, Hashable, Codable {
    /// The instance type of the pool's hosts (their price from the table). Default: for each host, the cheapest type
    /// at least its size (m5.metal's price for a 96-core, 384 GiB host).
    public var hostInstanceType: String?
    /// A host's cost per hour, when it is not a list-priced instance (owned hardware: amortised cost, power, rack).
    public var hostHourly: Double?
    /// The instance type each EVM replaces; default the cheapest one at least the EVM's size.
    public var evmInstanceType: String?

    public init(hostInstanceType: String? = nil, hostHourly: Double? = nil, evmInstanceType: String? = nil) {
        self.hostInstanceType = hostInstanceType
        self.hostHourly = hostHourly
        self.evmInstanceType = evmInstanceType
    }
}

/// A pool's cost as of one moment: its hosts against what its running EVMs would cost as on-demand instances,
/// and the saving so far. An estimate from list prices, not a bill.
public struct CostEstimate: Sendable, Hashable, Codable {
    public var poolID: String
    public var at: Date
    public var hosts: Int
    /// What the pool's hosts cost per hour in all.
    public var hostsHourly: Double
    public var runningEVMs: Int
    /// The instance type one EVM stands in for, and its price.
    public var evmInstanceType: String?
    public var evmInstanceHourly: Double
    /// What the running EVMs would cost per hour as on-demand instances.
    public var evmsHourly: Double
    /// `evmsHourly - hostsHourly` (negative while the pool costs more than the instances it replaces).
    public var savingHourly: Double
    /// The saving as a share of `evmsHourly`, in percent; nil with no running EVMs.
    public var savingPercent: Double?
    /// `savingHourly` over an average month (730 hours).
    public var savingMonthly: Double
    /// The saving summed since `since`, one sample a minute.
    public var savedTotal: Double
    /// When the running total began (the pool's first sample).
    public var since: Date?
    /// Says plainly what the figures are.
    public var note: String

    public init(
        poolID: String, at: Date, hosts: Int, hostsHourly: Double, runningEVMs: Int, evmInstanceType: String?,
        evmInstanceHourly: Double, savedTotal: Double = 0, since: Date? = nil
    ) {
        self.poolID = poolID
        self.at = at
        self.hosts = hosts
        self.hostsHourly = hostsHourly
        self.runningEVMs = runningEVMs
        self.evmInstanceType = evmInstanceType
        self.evmInstanceHourly = evmInstanceHourly
        self.evmsHourly = Double(runningEVMs) * evmInstanceHourly
        self.savingHourly = evmsHourly - hostsHourly
        self.savingPercent = evmsHourly > 0 ? savingHourly / evmsHourly * 100 : nil
        self.savingMonthly = savingHourly * 730
        self.savedTotal = savedTotal
        self.since = since
        self.note = CostEstimate.note
    }

    public static let note = "estimate from on-demand list prices (hosts against the running EVMs as instances), not a bill"
}

/// One minute of a pool's history: cost and resources, for the running total and the console's charts.
public struct PoolSample: Sendable, Hashable, Codable {
    public var poolID: String
    public var at: Date
    public var hostsHourly: Double
    public var evmsHourly: Double
    /// The running total of the saving up to `at`, US dollars.
    public var savedTotal: Double
    /// Capacity × overcommit of the pool's hosts (what may be allocated).
    public var limit: Resources
    public var allocated: Resources
    /// Measured use (RSS, CPU rate) the agents report.
    public var used: Resources
    public var runningEVMs: Int

    public init(
        poolID: String, at: Date, hostsHourly: Double, evmsHourly: Double, savedTotal: Double, limit: Resources, allocated: Resources,
        used: Resources, runningEVMs: Int
    ) {
        self.poolID = poolID
        self.at = at
        self.hostsHourly = hostsHourly
        self.evmsHourly = evmsHourly
        self.savedTotal = savedTotal
        self.limit = limit
        self.allocated = allocated
        self.used = used
        self.runningEVMs = runningEVMs
    }

    public var savingHourly: Double { evmsHourly - hostsHourly }
}

/// One minute of one host: its limit, allocation and use, for the host page's chart (kept a day).
public struct HostSample: Sendable, Hashable, Codable {
    public var hostID: String
    public var at: Date
    public var limit: Resources
    public var allocated: Resources
    public var used: Resources

    public init(hostID: String, at: Date, limit: Resources, allocated: Resources, used: Resources) {
        self.hostID = hostID
        self.at = at
        self.limit = limit
        self.allocated = allocated
        self.used = used
    }
}

/// `GET /v1/cost`: every pool's estimate and their sums.
public struct CostOverview: Sendable, Hashable, Codable {
    public var pools: [CostEstimate]
    public var hostsHourly: Double
    public var evmsHourly: Double
    public var savingHourly: Double
    public var savingPercent: Double?
    public var savingMonthly: Double
    public var savedTotal: Double
    public var note: String

    public init(pools: [CostEstimate]) {
        self.pools = pools
        hostsHourly = pools.reduce(0) { $0 + $1.hostsHourly }
        evmsHourly = pools.reduce(0) { $0 + $1.evmsHourly }
        savingHourly = evmsHourly - hostsHourly
        savingPercent = evmsHourly > 0 ? savingHourly / evmsHourly * 100 : nil
        savingMonthly = savingHourly * 730
        savedTotal = pools.reduce(0) { $0 + $1.savedTotal }
        note = CostEstimate.note
    }
}

/// `GET /v1/pools/{id}/cost`: the pool's estimate, and its samples when `?history=` asks for them.
public struct PoolCostReport: Sendable, Hashable, Codable {
    public var estimate: CostEstimate
    public var history: [PoolSample]?

    public init(estimate: CostEstimate, history: [PoolSample]? = nil) {
        self.estimate = estimate
        self.history = history
    }
}

/// How dollar figures read in empctl and the console: `$1,234.56`, `-$3.20`, `48.0%` (Foundation's format styles,
/// always in US English: the prices are US dollars).
public enum Money {
    static let locale = Locale(identifier: "en_US")

    public static func format(_ dollars: Double) -> String {
        guard dollars.isFinite else { return "-" }
        // Rounded first, so a fraction of a cent below zero reads $0.00, not -$0.00.
        let cents = (dollars * 100).rounded() / 100
        return (cents == 0 ? 0 : cents).formatted(.currency(code: "USD").locale(locale))
    }

    public static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return (value / 100).formatted(.percent.precision(.fractionLength(1)).locale(locale))
    }
}
