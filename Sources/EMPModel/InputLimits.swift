import Foundation

/// The ranges every number and string that enters EMP must fall in (from an agent, an operator or a file), in one
/// place so the API, the docs (docs/api.md "Limits") and the fuzz targets agree. Anything outside is refused with a
/// ``ValidationError`` naming the field, so no stored record can overflow the arithmetic that reads it later.
public enum InputLimits {
    /// A host's cores: 1…4096.
    public static let hostCores = 1...4096
    /// A host's memory: 1 GiB…64 TiB.
    public static let hostMemoryBytes: ClosedRange<Int64> = .gibibytes(1)...(Int64(64) << 40)
    /// Host-wide use may be reported up to this many times the host's capacity (measurement slack, never more).
    public static let hostUsageFactor: Int64 = 4
    /// An EVM's RSS may be reported up to this many times its memory (QEMU overhead, never more).
    public static let rssFactor: Int64 = 4
    /// EVM memory: at most 16 TiB.
    public static let evmMemoryBytes: Int64 = Int64(16) << 40
    /// EVM disk: at most 1 PiB.
    public static let evmDiskBytes: Int64 = Int64(1) << 50
    /// Most EVMs a pool may allow.
    public static let maxEVMsPerPool = 100_000
    /// Most hosts a pool may allow.
    public static let maxHostsPerPool = 10_000
    /// Domains one report may list.
    public static let domainsPerReport = 10_000
    /// Kubelet flags a pool may add.
    public static let extraArgs = 64
    /// Length of one kubelet flag, an image path, a URI.
    public static let shortText = 1024
    /// Length of a free-text name (cluster, hostname, CPU model, versions).
    public static let nameText = 253
    /// Length of a PEM bundle (the cluster CA).
    public static let pemText = 64 << 10
    /// Length of an error message an agent reports.
    public static let messageText = 4096
    /// Nesting depth of any JSON document EMP reads.
    public static let jsonDepth = 32
    /// Object keys plus array elements of any JSON document the control plane reads.
    public static let jsonElements = 200_000

    /// Throws unless `value.count` is at most `limit`.
    public static func text(_ value: String, max limit: Int, field: String) throws {
        try Check.require(value.utf8.count <= limit, field, "must be at most \(limit) bytes (got \(value.utf8.count))")
    }
}

extension HostInventory {
    /// Throws a ``ValidationError`` naming the field (`inventory.cores`, …) when a value is out of range.
    public func validate() throws {
        try Check.require(
            InputLimits.hostCores.contains(cores), "inventory.cores",
            "must be between \(InputLimits.hostCores.lowerBound) and \(InputLimits.hostCores.upperBound) (got \(cores))")
        try Check.require(
            InputLimits.hostMemoryBytes.contains(memoryBytes), "inventory.memoryBytes",
            "must be between 1 GiB and 64 TiB (got \(memoryBytes))")
        try InputLimits.text(hostname, max: InputLimits.nameText, field: "inventory.hostname")
        try InputLimits.text(cpuModel, max: InputLimits.nameText, field: "inventory.cpuModel")
        try InputLimits.text(libvirtVersion, max: InputLimits.nameText, field: "inventory.libvirtVersion")
        try InputLimits.text(hypervisorVersion, max: InputLimits.nameText, field: "inventory.hypervisorVersion")
        try InputLimits.text(hostUUID ?? "", max: 64, field: "inventory.hostUUID")
        try InputLimits.text(migrationURI ?? "", max: InputLimits.shortText, field: "inventory.migrationURI")
        try InputLimits.text(migrationAddress ?? "", max: InputLimits.shortText, field: "inventory.migrationAddress")
        try InputLimits.text(stateDirectory ?? "", max: InputLimits.shortText, field: "inventory.stateDirectory")
    }

    /// The capacity the inventory gives a host (cores × 1000 millicores, memory), saturating.
    public var capacity: Resources {
        Resources(cpuMillis: Int64(cores).saturatingMultiply(1000), memoryBytes: memoryBytes)
    }
}

extension HostReport {
    /// Checks a report against the host it comes from and the EVMs placed there: every figure non-negative,
    /// host-wide use at most ``InputLimits/hostUsageFactor`` × capacity, each domain's RSS at most
    /// ``InputLimits/rssFactor`` × its EVM's memory, CPU time going back only on a new domain instance.
    /// - Parameters:
    ///   - capacity: The host's capacity.
    ///   - evms: The EVMs the control plane has on the host, by id (domains of other EVMs are not judged by size).
    /// - Throws: ``ValidationError`` naming the field (`used.memoryBytes`, `domains[2].rssBytes`).
    public func validate(capacity: Resources, evms: [String: EVM]) throws {
        try Check.require(
            domains.count <= InputLimits.domainsPerReport, "domains",
            "must list at most \(InputLimits.domainsPerReport) domains (got \(domains.count))")
        let limit = capacity * InputLimits.hostUsageFactor
        try Check.require(
            (0...max(0, limit.cpuMillis)).contains(used.cpuMillis), "used.cpuMillis",
            "must be between 0 and \(InputLimits.hostUsageFactor) × the host's capacity (got \(used.cpuMillis))")
        try Check.require(
            (0...max(0, limit.memoryBytes)).contains(used.memoryBytes), "used.memoryBytes",
            "must be between 0 and \(InputLimits.hostUsageFactor) × the host's capacity (got \(used.memoryBytes))")
        for (index, domain) in domains.enumerated() {
            let field = "domains[\(index)]"
            try InputLimits.text(domain.evmID, max: InputLimits.nameText, field: "\(field).evmID")
            try InputLimits.text(domain.error ?? "", max: InputLimits.messageText, field: "\(field).error")
            try InputLimits.text(domain.instance ?? "", max: 64, field: "\(field).instance")
            try Check.require(
                (domain.cpuTimeNanoseconds ?? 0) >= 0, "\(field).cpuTimeNanoseconds",
                "must not be negative (got \(domain.cpuTimeNanoseconds ?? 0))")
            try Check.require(
                (domain.stealNanoseconds ?? 0) >= 0, "\(field).stealNanoseconds",
                "must not be negative (got \(domain.stealNanoseconds ?? 0))")
            try Check.require(
                domain.swap?.isNonNegative ?? true, "\(field).swap", "figures must not be negative")
            let rss = domain.rssBytes ?? 0
            try Check.require(rss >= 0, "\(field).rssBytes", "must not be negative (got \(rss))")
            guard let evm = evms[domain.evmID] else { continue }
            let rssLimit = evm.shape.memoryBytes.saturatingMultiply(InputLimits.rssFactor)
            try Check.require(
                rss <= rssLimit, "\(field).rssBytes",
                "must be at most \(InputLimits.rssFactor) × the EVM's memory, \(rssLimit) (got \(rss))")
            if let cpu = domain.cpuTimeNanoseconds, let previous = evm.cpuSample, previous.instance == domain.instance,
                domain.instance != nil
            {
                try Check.require(
                    cpu >= previous.cpuTimeNanoseconds, "\(field).cpuTimeNanoseconds",
                    "went back from \(previous.cpuTimeNanoseconds) to \(cpu) within one domain instance (\(domain.instance ?? ""))")
            }
        }
    }
}

extension Host {
    /// Why this stored host cannot be planned with (figures outside ``InputLimits``, as a store written before the
    /// checks existed, or edited by hand, may hold); nil when it is sound. Loops skip such a host and say so.
    public var implausibility: String? {
        let cores = InputLimits.hostCores
        let cpuRange = Int64(cores.lowerBound) * 1000...Int64(cores.upperBound) * 1000
        if !cpuRange.contains(capacity.cpuMillis) || !InputLimits.hostMemoryBytes.contains(capacity.memoryBytes) {
            return "capacity \(capacity.cpuMillis)m CPU, \(capacity.memoryBytes) bytes is outside 1–4096 cores, 1 GiB–64 TiB"
        }
        let limit = capacity * InputLimits.hostUsageFactor
        if !used.isNonNegative || !used.fits(in: limit) {
            return "reported use \(used.cpuMillis)m CPU, \(used.memoryBytes) bytes is negative or above 4 × capacity"
        }
        if !allocated.isNonNegative { return "allocation \(allocated) is negative" }
        return nil
    }
}

extension EVM {
    /// Why this stored EVM cannot be planned with; nil when it is sound (see ``Host/implausibility``).
    public var implausibility: String? {
        do { try shape.validate() } catch let error as ValidationError { return "shape \(error.description)" } catch { return "\(error)" }
        let used = self.used ?? .zero
        if !used.isNonNegative || !used.fits(in: shape.resources * InputLimits.rssFactor) {
            return "reported use \(used.cpuMillis)m CPU, \(used.memoryBytes) bytes is negative or above 4 × its size"
        }
        return nil
    }
}
