public import EMPModel
import Foundation

/// Demand over a day: for each workload (a Deployment), its replica count and its pods' requests and actual
/// usage from a moment on. The simulator replays it against every scenario.
public struct DemandTrace: Sendable, Hashable {
    /// One change: from `time` (seconds from the trace's start) on, `workload` has `replicas` pods, each requesting
    /// `request` and using `usage`.
    public struct Sample: Sendable, Hashable {
        public var time: Int
        public var workload: String
        public var replicas: Int
        public var request: Resources
        public var usage: Resources

        public init(time: Int, workload: String, replicas: Int, request: Resources, usage: Resources) {
            self.time = time
            self.workload = workload
            self.replicas = replicas
            self.request = request
            self.usage = usage
        }
    }

    /// Ordered by time, then by the order given.
    public private(set) var samples: [Sample]
    /// The workloads, in order of first appearance.
    public private(set) var workloads: [String]

    /// `samples` in any order; refuses a trace no scenario could run (no pods at all, negative figures).
    public init(_ samples: [Sample]) throws(TraceError) {
        guard !samples.isEmpty else { throw TraceError(line: nil, column: nil, message: "the trace has no samples") }
        for sample in samples {
            guard sample.time >= 0 else { throw TraceError(line: nil, column: "timestamp", message: "negative time \(sample.time)") }
            guard sample.replicas >= 0 else { throw TraceError(line: nil, column: "replicas", message: "negative replicas") }
            guard sample.request.cpuMillis >= 0, sample.request.memoryBytes >= 0, sample.usage.cpuMillis >= 0, sample.usage.memoryBytes >= 0
            else { throw TraceError(line: nil, column: nil, message: "negative request or usage for \(sample.workload)") }
        }
        guard samples.contains(where: { $0.replicas > 0 }) else {
            throw TraceError(line: nil, column: "replicas", message: "the trace asks for no pods (every replicas value is 0)")
        }
        self.samples = samples.enumerated().sorted { ($0.element.time, $0.offset) < ($1.element.time, $1.offset) }.map(\.element)
        var seen = Set<String>()
        workloads = self.samples.map(\.workload).filter { seen.insert($0).inserted }
    }

    /// The last sample's time.
    public var end: Int { samples.last?.time ?? 0 }

    /// The most pods asked for at once.
    public var peakPods: Int {
        var current: [String: Int] = [:]
        var peak = 0
        var index = 0
        while index < samples.count {
            let time = samples[index].time
            while index < samples.count, samples[index].time == time {
                current[samples[index].workload] = samples[index].replicas
                index += 1
            }
            peak = max(peak, current.values.reduce(0, +))
        }
        return peak
    }
}

/// A trace that cannot be read: where (line and column of a CSV file when known) and why.
public struct TraceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var line: Int?
    public var column: String?
    public var message: String

    public init(line: Int?, column: String?, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var place: [String] = []
        if let line { place.append("line \(line)") }
        if let column { place.append("column \(column)") }
        return place.isEmpty ? message : "\(place.joined(separator: ", ")): \(message)"
    }
}

/// The CSV form of a trace, for a user's own demand:
///
/// ```
/// timestamp,workload,replicas,cpu_request,memory_request,cpu_usage,memory_usage
/// 0,api,10,500m,1Gi,200m,600Mi
/// 3600,api,25,500m,1Gi,250m,700Mi
/// ```
///
/// `timestamp` is seconds from the start; quantities are Kubernetes quantities. A header line is required (its
/// columns in this order); blank lines and lines starting with `#` are skipped.
public enum TraceCSV {
    public static let columns = ["timestamp", "workload", "replicas", "cpu_request", "memory_request", "cpu_usage", "memory_usage"]

    public static func parse(_ text: String) throws(TraceError) -> DemandTrace {
        var samples: [DemandTrace.Sample] = []
        var header = false
        for (offset, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = offset + 1
            let content = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if content.isEmpty || content.hasPrefix("#") { continue }
            let fields = content.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard header else {
                for (index, name) in columns.enumerated() where index >= fields.count || fields[index] != name {
                    throw TraceError(
                        line: line, column: name,
                        message:
                            "the header must be \(columns.joined(separator: ",")); column \(index + 1) is \(index < fields.count ? "\"\(fields[index])\"" : "missing")"
                    )
                }
                guard fields.count == columns.count else {
                    throw TraceError(line: line, column: fields[columns.count], message: "unknown column \"\(fields[columns.count])\"")
                }
                header = true
                continue
            }
            guard fields.count == columns.count else {
                throw TraceError(line: line, column: nil, message: "\(fields.count) fields, expected \(columns.count)")
            }
            guard let time = Int(fields[0]), time >= 0 else {
                throw TraceError(line: line, column: "timestamp", message: "\"\(fields[0])\" is not a whole number of seconds ≥ 0")
            }
            guard !fields[1].isEmpty else { throw TraceError(line: line, column: "workload", message: "empty workload name") }
            guard let replicas = Int(fields[2]), replicas >= 0 else {
                throw TraceError(line: line, column: "replicas", message: "\"\(fields[2])\" is not a count ≥ 0")
            }
            func quantity(_ index: Int, milli: Bool) throws(TraceError) -> Int64 {
                let text = fields[index]
                let parsed: Quantity
                do { parsed = try Quantity(text) } catch {
                    throw TraceError(line: line, column: columns[index], message: "\"\(text)\" is not a Kubernetes quantity")
                }
                guard parsed.value >= 0 else { throw TraceError(line: line, column: columns[index], message: "\"\(text)\" is negative") }
                return milli ? parsed.milliRoundedUp : parsed.roundedUp
            }
            samples.append(
                DemandTrace.Sample(
                    time: time, workload: fields[1], replicas: replicas,
                    request: Resources(cpuMillis: try quantity(3, milli: true), memoryBytes: try quantity(4, milli: false)),
                    usage: Resources(cpuMillis: try quantity(5, milli: true), memoryBytes: try quantity(6, milli: false))))
        }
        guard header else { throw TraceError(line: nil, column: nil, message: "the file is empty: no header, no samples") }
        guard !samples.isEmpty else { throw TraceError(line: nil, column: nil, message: "the trace has no samples, only a header") }
        return try DemandTrace(samples)
    }
}
