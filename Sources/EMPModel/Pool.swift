public import Foundation

/// A pool: bare-metal hosts serving one Kubernetes cluster with EVMs of one shape, under one policy.
public struct Pool: Sendable, Hashable, Codable, Identifiable {
    /// Unique, DNS-label-like name chosen by the operator (also the `emp.pf9.io/pool` label value).
    public var id: String
    /// The shape of every EVM in the pool.
    public var shape: EVMShape
    /// Overcommit, limits, watermark and placement.
    public var policy: PoolPolicy
    /// Name of the Kubernetes cluster this pool serves (free text, for operators).
    public var cluster: String
    /// How the EVMs' kubelets join that cluster; nil builds seeds without a kubelet join.
    public var kubelet: KubeletJoin?
    public var createdAt: Date

    public init(
        id: String, shape: EVMShape, policy: PoolPolicy = PoolPolicy(), cluster: String = "", kubelet: KubeletJoin? = nil,
        createdAt: Date
    ) {
        self.id = id
        self.shape = shape
        self.policy = policy
        self.cluster = cluster
        self.kubelet = kubelet
        self.createdAt = createdAt
    }

    /// The pool as the operator API shows it: the bootstrap token's secret hidden.
    /// What may be allocated on a host of this pool: its capacity × the pool's overcommit ratios.
    public func limit(of capacity: Resources) -> Resources {
        capacity.scaled(cpu: policy.cpuOvercommit, memory: policy.memoryOvercommit)
    }

    public var redacted: Pool {
        var copy = self
        copy.kubelet = kubelet?.redacted
        return copy
    }

    /// Throws the first ``ValidationError`` found, with the full field path.
    public func validate() throws {
        try DNSLabel.validate(id, field: "id")
        try InputLimits.text(cluster, max: InputLimits.nameText, field: "cluster")
        do { try shape.validate() } catch let error as ValidationError { throw error.nested(under: "shape") }
        do { try policy.validate() } catch let error as ValidationError { throw error.nested(under: "policy") }
        do { try kubelet?.validate() } catch let error as ValidationError { throw error.nested(under: "kubelet") }
    }
}

/// The size and image of the EVMs a pool creates.
public struct EVMShape: Sendable, Hashable, Codable {
    public var vcpus: Int
    public var memoryBytes: Int64
    /// Root disk size; 0 means the image's own size (direct kernel boot needs none).
    public var diskBytes: Int64
    /// Base image path or name on the hosts (qcow2), or empty for direct kernel boot.
    public var image: String

    public init(vcpus: Int, memoryBytes: Int64, diskBytes: Int64 = 0, image: String = "") {
        self.vcpus = vcpus
        self.memoryBytes = memoryBytes
        self.diskBytes = diskBytes
        self.image = image
    }

    /// What one EVM of this shape takes from its host's allocation.
    public var resources: Resources {
        Resources(cpuMillis: Int64(vcpus) * 1000, memoryBytes: memoryBytes)
    }

    public func validate() throws {
        try Check.require(vcpus > 0, "vcpus", "must be at least 1 (got \(vcpus))")
        try Check.require(vcpus <= 1024, "vcpus", "must be at most 1024 (got \(vcpus))")
        try Check.require(memoryBytes > 0, "memoryBytes", "must be greater than 0 (got \(memoryBytes))")
        try Check.require(
            memoryBytes <= InputLimits.evmMemoryBytes, "memoryBytes", "must be at most 16Ti (got \(memoryBytes))")
        try Check.require(memoryBytes % (1 << 20) == 0, "memoryBytes", "must be a whole number of MiB")
        try Check.require(diskBytes >= 0, "diskBytes", "must not be negative (got \(diskBytes))")
        try Check.require(diskBytes <= InputLimits.evmDiskBytes, "diskBytes", "must be at most 1Pi (got \(diskBytes))")
        try InputLimits.text(image, max: InputLimits.shortText, field: "image")
    }
}

/// How EVMs are spread over hosts.
public enum PlacementPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    /// Fewest hosts: the most-allocated host that fits (default).
    case binpack
    /// Even load: the least-allocated host that fits.
    case spread
}

/// A pool's limits and ratios; defaults are DESIGN.md's.
public struct PoolPolicy: Sendable, Hashable, Codable {
    /// Allocated vCPU may reach capacity × this (≥ 1). Default 1.0.
    public var cpuOvercommit: Double
    /// Allocated memory may reach capacity × this (≥ 1). Default 1.0.
    public var memoryOvercommit: Double
    /// Fewest EVMs kept running. Default 0.
    public var minEVMs: Int
    /// Most EVMs ever created. Default 100.
    public var maxEVMs: Int
    /// Fewest hosts kept. Default 0.
    public var minHosts: Int
    /// Most hosts ever used. Default 100.
    public var maxHosts: Int
    /// Fraction of capacity that used CPU and memory may reach, in (0, 1]. Default 0.8.
    public var highWatermark: Double
    /// Default ``PlacementPolicy/binpack``.
    public var placement: PlacementPolicy
    /// CPU and memory the autoscaler keeps free on the pool's EVMs at all times (overprovisioning without pause
    /// pods). Default none.
    public var headroom: Resources?
    /// Warm EVMs kept booted and joined but held back. Default none.
    public var warm: WarmPolicy?
    /// Windows in a time zone that raise the floor (minEVMs, warm). Default none.
    public var schedules: [CapacitySchedule]?

    public static let defaultHighWatermark = 0.8
    /// Most schedules per pool.
    public static let maxSchedules = 32

    public init(
        cpuOvercommit: Double = 1.0,
        memoryOvercommit: Double = 1.0,
        minEVMs: Int = 0,
        maxEVMs: Int = 100,
        minHosts: Int = 0,
        maxHosts: Int = 100,
        highWatermark: Double = PoolPolicy.defaultHighWatermark,
        placement: PlacementPolicy = .binpack,
        headroom: Resources? = nil,
        warm: WarmPolicy? = nil,
        schedules: [CapacitySchedule]? = nil
    ) {
        self.cpuOvercommit = cpuOvercommit
        self.memoryOvercommit = memoryOvercommit
        self.minEVMs = minEVMs
        self.maxEVMs = maxEVMs
        self.minHosts = minHosts
        self.maxHosts = maxHosts
        self.highWatermark = highWatermark
        self.placement = placement
        self.headroom = headroom
        self.warm = warm
        self.schedules = schedules
    }

    public func validate() throws {
        try Check.require(
            cpuOvercommit.isFinite && cpuOvercommit >= 1 && cpuOvercommit <= 64,
            "cpuOvercommit",
            "must be between 1 and 64 (got \(cpuOvercommit))"
        )
        try Check.require(
            memoryOvercommit.isFinite && memoryOvercommit >= 1 && memoryOvercommit <= 16,
            "memoryOvercommit",
            "must be between 1 and 16 (got \(memoryOvercommit))"
        )
        try Check.require(minEVMs >= 0, "minEVMs", "must not be negative (got \(minEVMs))")
        try Check.require(maxEVMs >= 0, "maxEVMs", "must not be negative (got \(maxEVMs))")
        try Check.require(
            maxEVMs <= InputLimits.maxEVMsPerPool, "maxEVMs", "must be at most \(InputLimits.maxEVMsPerPool) (got \(maxEVMs))")
        try Check.require(minEVMs <= maxEVMs, "minEVMs", "must not exceed maxEVMs (\(minEVMs) > \(maxEVMs))")
        try Check.require(minHosts >= 0, "minHosts", "must not be negative (got \(minHosts))")
        try Check.require(maxHosts >= 0, "maxHosts", "must not be negative (got \(maxHosts))")
        try Check.require(
            maxHosts <= InputLimits.maxHostsPerPool, "maxHosts", "must be at most \(InputLimits.maxHostsPerPool) (got \(maxHosts))")
        try Check.require(minHosts <= maxHosts, "minHosts", "must not exceed maxHosts (\(minHosts) > \(maxHosts))")
        try Check.require(
            highWatermark.isFinite && highWatermark > 0 && highWatermark <= 1,
            "highWatermark",
            "must be in (0, 1] (got \(highWatermark))"
        )
        try Check.require(headroom?.isNonNegative ?? true, "headroom", "must not be negative")
        try Check.require(
            (headroom ?? .zero).fits(in: Resources(cpuMillis: 1 << 40, memoryBytes: 1 << 60)), "headroom",
            "must be at most 2^40 millicores and 2^60 bytes")
        if let warm {
            try Check.require(warm.count >= 0, "warm.count", "must not be negative (got \(warm.count))")
            try Check.require(warm.count <= maxEVMs, "warm.count", "must not exceed maxEVMs (\(warm.count) > \(maxEVMs))")
            try Check.require(
                minEVMs + warm.count <= maxEVMs, "warm.count",
                "minEVMs plus warm EVMs (\(minEVMs + warm.count)) must not exceed maxEVMs \(maxEVMs)")
        }
        let schedules = self.schedules ?? []
        try Check.require(
            schedules.count <= Self.maxSchedules, "schedules", "at most \(Self.maxSchedules) schedules (got \(schedules.count))")
        var names = Set<String>()
        for (index, schedule) in schedules.enumerated() {
            do {
                try schedule.validate(maxEVMs: maxEVMs, base: self)
            } catch let error as ValidationError {
                throw error.nested(under: "schedules[\(index)]")
            }
            try Check.require(
                names.insert(schedule.name).inserted, "schedules[\(index)].name", "duplicate schedule name \"\(schedule.name)\"")
        }
    }

    /// The most a host of `capacity` may have allocated under this policy.
    public func allocatable(_ capacity: Resources) -> Resources {
        capacity.scaled(cpu: cpuOvercommit, memory: memoryOvercommit)
    }

    /// The most a host of `capacity` may actually use under this policy.
    public func usable(_ capacity: Resources) -> Resources {
        capacity.scaled(cpu: highWatermark, memory: highWatermark)
    }
}
