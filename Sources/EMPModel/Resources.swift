/// CPU and memory as integers (millicores, bytes) so placement arithmetic is exact and comparable.
public struct Resources: Sendable, Hashable, Codable, CustomStringConvertible {
    /// CPU in thousandths of a core (`1` core = `1000`).
    public var cpuMillis: Int64
    /// Memory in bytes.
    public var memoryBytes: Int64

    public init(cpuMillis: Int64 = 0, memoryBytes: Int64 = 0) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
    }

    /// Builds resources from Kubernetes quantities such as `cpu: "500m"`, `memory: "3Gi"`.
    public init(cpu: String, memory: String) throws {
        self.init(cpuMillis: try Quantity(cpu).milliRoundedUp, memoryBytes: try Quantity(memory).roundedUp)
    }

    public static let zero = Resources()

    private enum CodingKeys: String, CodingKey {
        case cpuMillis, memoryBytes, cpu, memory
    }

    /// Reads `{"cpuMillis": 2000, "memoryBytes": 4294967296}` (what EMP writes) or, for hand-written
    /// files, Kubernetes quantities `{"cpu": "2", "memory": "4Gi"}`. A missing dimension is zero.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        cpuMillis = try container.decodeIfPresent(Int64.self, forKey: .cpuMillis) ?? 0
        memoryBytes = try container.decodeIfPresent(Int64.self, forKey: .memoryBytes) ?? 0
        do {
            if let cpu = try container.decodeIfPresent(String.self, forKey: .cpu) {
                cpuMillis = try Quantity(cpu).milliRoundedUp
            }
            if let memory = try container.decodeIfPresent(String.self, forKey: .memory) {
                memoryBytes = try Quantity(memory).roundedUp
            }
        } catch let error as QuantityError {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: container.codingPath, debugDescription: error.description)
            )
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(cpuMillis, forKey: .cpuMillis)
        try container.encode(memoryBytes, forKey: .memoryBytes)
    }

    /// Whole cores and binary units for humans: `2 CPU, 3Gi`.
    public var description: String {
        "\(Resources.formatCPU(cpuMillis)) CPU, \(Resources.formatBytes(memoryBytes))"
    }

    /// True when both dimensions are zero or more.
    public var isNonNegative: Bool { cpuMillis >= 0 && memoryBytes >= 0 }

    /// True when every dimension of `self` is at most the same dimension of `other`.
    public func fits(in other: Resources) -> Bool {
        cpuMillis <= other.cpuMillis && memoryBytes <= other.memoryBytes
    }

    /// Each dimension multiplied by its own ratio and rounded down (capacity × overcommit), saturating at the
    /// bounds of `Int64` so no stored value can trap.
    public func scaled(cpu: Double, memory: Double) -> Resources {
        Resources(
            cpuMillis: Int64(clamping: (Double(cpuMillis) * cpu).rounded(.down)),
            memoryBytes: Int64(clamping: (Double(memoryBytes) * memory).rounded(.down))
        )
    }

    /// Room without a bound in either dimension (an index's dimension a caller does not use).
    public static let unbounded = Resources(cpuMillis: .max, memoryBytes: .max)

    /// Dimension-wise maximum.
    public func componentMax(_ other: Resources) -> Resources {
        Resources(cpuMillis: max(cpuMillis, other.cpuMillis), memoryBytes: max(memoryBytes, other.memoryBytes))
    }

    /// Dimension-wise minimum.
    public func componentMin(_ other: Resources) -> Resources {
        Resources(cpuMillis: min(cpuMillis, other.cpuMillis), memoryBytes: min(memoryBytes, other.memoryBytes))
    }

    /// `cpu` and `memory` of a Kubernetes `resources.requests` map; a missing or unparsable value counts as zero
    /// (the API server has validated requests before anything reads them).
    public init(requests: [String: String]) {
        self.init(
            cpuMillis: requests["cpu"].flatMap { try? Quantity($0).milliRoundedUp } ?? 0,
            memoryBytes: requests["memory"].flatMap { try? Quantity($0).roundedUp } ?? 0)
    }

    /// Kubernetes' effective request of a pod: per resource, the larger of the containers' sum and the largest
    /// init container (init containers run one at a time, before the others).
    public static func effectiveRequest(containers: [Resources], initContainers: [Resources]) -> Resources {
        initContainers.reduce(containers.reduce(.zero, +)) { $0.componentMax($1) }
    }

    // Arithmetic saturates instead of trapping: values come from agents and files, and a stored record that
    // overflowed a sum must not crash every loop that reads it (inputs are range-checked where they enter too).

    public static func + (lhs: Resources, rhs: Resources) -> Resources {
        Resources(
            cpuMillis: lhs.cpuMillis.saturatingAdd(rhs.cpuMillis), memoryBytes: lhs.memoryBytes.saturatingAdd(rhs.memoryBytes))
    }

    public static func - (lhs: Resources, rhs: Resources) -> Resources {
        Resources(
            cpuMillis: lhs.cpuMillis.saturatingSubtract(rhs.cpuMillis),
            memoryBytes: lhs.memoryBytes.saturatingSubtract(rhs.memoryBytes))
    }

    public static func += (lhs: inout Resources, rhs: Resources) { lhs = lhs + rhs }
    public static func -= (lhs: inout Resources, rhs: Resources) { lhs = lhs - rhs }

    public static func * (lhs: Resources, rhs: Int64) -> Resources {
        Resources(cpuMillis: lhs.cpuMillis.saturatingMultiply(rhs), memoryBytes: lhs.memoryBytes.saturatingMultiply(rhs))
    }

    // MARK: Formatting

    static func formatCPU(_ millis: Int64) -> String {
        millis % 1000 == 0 ? "\(millis / 1000)" : "\(millis)m"
    }

    /// The largest binary unit that divides `bytes` exactly (`3Gi`, `1536Mi`), else plain bytes.
    public static func formatBytes(_ bytes: Int64) -> String {
        let units: [(String, Int64)] = [("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)]
        for (suffix, size) in units where bytes != 0 && bytes % size == 0 {
            return "\(bytes / size)\(suffix)"
        }
        return "\(bytes)"
    }
}

extension Int64 {
    /// `self + other`, held at `Int64.max` / `Int64.min` instead of trapping.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, held at the bounds instead of trapping.
    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self × other`, held at the bounds instead of trapping.
    public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }

    /// `value` rounded toward zero and held within `Int64`'s range (NaN becomes 0), where `Int64(value)` would trap.
    public init(clamping value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807.0 {
            self = .max
        } else if value <= -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int64(value)
        }
    }

    /// `n` GiB in bytes.
    public static func gibibytes(_ n: Int64) -> Int64 { n << 30 }
    /// `n` MiB in bytes.
    public static func mebibytes(_ n: Int64) -> Int64 { n << 20 }
}
