public import Foundation

/// What a simulation found, per scenario: as a table for the terminal, JSON and a self-contained HTML page.
public struct SimulationReport: Sendable, Hashable, Codable {
    public var durationSeconds: Int
    public var stepSeconds: Int
    public var peakPods: Int
    public var workloads: [String]
    public var scenarios: [ScenarioResult]

    /// EMP's cost against each other scenario's: 1 − EMP / theirs.
    public var savings: [String: Double] {
        guard let emp = scenarios.first(where: { $0.name == "emp" }) else { return [:] }
        var result: [String: Double] = [:]
        for other in scenarios where other.name != "emp" && other.cost > 0 { result[other.name] = 1 - emp.cost / other.cost }
        return result
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(JSONForm(report: self, savings: savings))
    }

    private struct JSONForm: Encodable {
        var report: SimulationReport
        var savings: [String: Double]
    }

    public func table() -> String {
        func money(_ value: Double) -> String { String(format: "$%.2f", value) }
        func percent(_ value: Double) -> String { String(format: "%.1f %%", value * 100) }
        let rows: [(String, (ScenarioResult) -> String)] = [
            ("cost", { money($0.cost) }),
            ("cost per hour", { money($0.hourlyCost) }),
            ("instance / host hours", { String(format: "%.1f", $0.machineHours) }),
            ("CPU requested / used", { "\(percent($0.requestedShare)) / \(percent($0.usedShare))" }),
            ("memory requested / used", { "\(percent($0.requestedShareMemory)) / \(percent($0.usedShareMemory))" }),
            ("pod pending p50 / p99 / max", { "\($0.pendingP50) / \($0.pendingP99) / \($0.pendingMax) s" }),
            ("pods run / never ran", { "\($0.podsRan) / \($0.neverRan)" }),
            ("pods evicted by scale-down", { "\($0.evictions)" }),
            ("host-seconds over watermark", { $0.name == "emp" ? "\($0.hotHostSeconds)" : "-" }),
            ("warm EVMs claimed", { $0.name == "emp" ? "\($0.warmClaims)" : "-" }),
            (
                "migrations (GiB moved, minutes)",
                {
                    $0.name == "emp"
                        ? String(
                            format: "%d (%.1f, %.1f)", $0.migrations, Double($0.bytesMoved) / 1_073_741_824,
                            Double($0.migrationSeconds) / 60)
                        : "-"
                }
            ),
        ]
        let names = scenarios.map(\.name)
        var cells = [[""] + names]
        for (label, value) in rows { cells.append([label] + scenarios.map(value)) }
        let widths = (0..<cells[0].count).map { column in cells.map { $0[column].count }.max() ?? 0 }
        var lines = cells.map { row in
            row.enumerated().map { index, cell in
                index == 0
                    ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[index] - cell.count) + cell
            }.joined(separator: "  ")
        }
        lines.insert(
            "\(durationSeconds / 3600) h \(durationSeconds % 3600 / 60) min simulated in \(stepSeconds) s steps; peak \(peakPods) pods; workloads: \(workloads.joined(separator: ", "))",
            at: 0)
        for name in names where name != "emp" {
            if let saving = savings[name] { lines.append("EMP against \(name): \(percent(saving)) of the cost saved") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// One scenario's figures.
public struct ScenarioResult: Sendable, Hashable, Codable {
    public var name: String
    public var cost: Double
    public var hourlyCost: Double
    public var machineHours: Double
    /// Time-averaged share of the held capacity's CPU requested by running pods, and used.
    public var requestedShare: Double
    public var usedShare: Double
    public var usedShareMemory: Double
    public var requestedShareMemory: Double
    /// Creation → running, seconds, over pods that ran.
    public var pendingP50: Int
    public var pendingP99: Int
    public var pendingMax: Int
    public var podsRan: Int
    /// Deleted before running, or still pending at the end.
    public var neverRan: Int
    public var evictions: Int
    public var hotHostSeconds: Int
    public var migrations: Int
    public var bytesMoved: Int64
    public var warmClaims = 0
    public var migrationSeconds = 0
    public var series: [SeriesPoint]
    /// EMP's scale-up decisions (time, EVMs asked for, for pods or the floor) and removals (time, EVMs removed).
    public var scaleUps: [ScaleUp] = []
    public var scaleDowns: [ScaleUp] = []
}

/// One chart point.
public struct SeriesPoint: Sendable, Hashable, Codable {
    public var time: Int
    public var demandCPU: Double
    public var capacityCPU: Double
    public var hourly: Double
    public var cost: Double
    public var pending: Int
    public var nodes: Int
    public var machines: Int
}

/// A scale decision: when, and how many EVMs.
public struct ScaleUp: Sendable, Hashable, Codable {
    public var time: Int
    public var evms: Int
}
