import ArgumentParser
import EMPModel
import EMPScheduling
import Foundation

/// `empctl whatif plan --input FILE`: what would the rebalancer migrate, and why?
struct WhatIfPlan: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Run the rebalancer on a snapshot file (the format of GET /v1/snapshot) and print its plan."
    )

    @Option(name: .long, help: "Snapshot file (JSON): hosts, EVMs, migrations in flight, pools; optional \"settings\".")
    var input: String

    @Option(name: .shortAndLong, help: "Output: table or json.")
    var output: OutputFormat = .table

    /// The snapshot plus the planner's settings (every field optional).
    struct Input: Decodable {
        var snapshot: Snapshot
        var settings: RebalanceSettings

        private enum CodingKeys: String, CodingKey { case settings }

        init(from decoder: any Decoder) throws {
            snapshot = try Snapshot(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            settings = try c.decodeIfPresent(RebalanceSettings.self, forKey: .settings) ?? RebalanceSettings()
            do {
                try settings.validate()
            } catch let error as EMPModel.ValidationError {
                throw error.nested(under: "settings")
            }
        }
    }

    func run() throws {
        try WhatIfRun.run(output) { try plan() }
    }

    private func plan() throws {
        let file = try SnapshotFile.read(Input.self, from: input) { try $0.snapshot.validate() }
        let plan = Rebalancer(settings: file.settings).plan(file.snapshot)
        switch output {
        case .json: print(try SnapshotFile.json(plan))
        case .table: print(PlanTable.render(plan))
        }
    }
}

/// The human form of a plan, shared by `whatif plan` and `empctl plan`.
enum PlanTable {
    static func render(_ plan: RebalancePlan) -> String {
        var lines: [String] = []
        if plan.moves.isEmpty {
            lines.append("no migrations needed")
        } else {
            var rows = [["#", "EVM", "FROM", "TO", "REASON", "BYTES", "START", "TAKES", "WHY"]]
            for (i, move) in plan.moves.enumerated() {
                rows.append([
                    "\(i + 1)", move.evmID, move.from, move.to, move.reason.rawValue + (move.postCopy ? " (post-copy)" : ""),
                    Resources.formatBytes(round(move.bytes)), seconds(move.startSeconds), seconds(move.durationSeconds), move.explanation,
                ])
            }
            lines.append(Table.render(rows))
        }
        lines.append("")
        var hostRows = [["HOST", "USED BEFORE", "USED AFTER", "ALLOCATED BEFORE", "ALLOCATED AFTER", "EVMS"]]
        for host in plan.hosts {
            hostRows.append([
                host.id, usage(host.usedBefore, host.capacity), usage(host.usedAfter, host.capacity), host.allocatedBefore.description,
                host.allocatedAfter.description, "\(host.evmsBefore) → \(host.evmsAfter)",
            ])
        }
        lines.append(Table.render(hostRows))
        lines.append("")
        lines.append(
            "\(plan.moves.count) migrations, \(Resources.formatBytes(round(plan.totalBytes))) to copy, \(plan.startable.count) start now"
                + (plan.freedHosts.isEmpty ? "" : "; frees \(plan.freedHosts.joined(separator: ", "))"))
        for problem in plan.unresolved {
            lines.append("not fixed (\(problem.kind.rawValue)): \(problem.message)")
        }
        return lines.joined(separator: "\n")
    }

    /// Bytes to MiB so the table reads `14Gi`, `1536Mi`.
    static func round(_ bytes: Int64) -> Int64 { ((bytes + (1 << 19)) >> 20) << 20 }

    static func seconds(_ value: Double) -> String { value < 10 ? String(format: "%.1fs", value) : "\(Int64(clamping: value.rounded()))s" }

    static func usage(_ used: Resources, _ capacity: Resources) -> String {
        let memory = Int64(clamping: (Double(used.memoryBytes) / Double(max(1, capacity.memoryBytes)) * 100).rounded())
        let cpu = Int64(clamping: (Double(used.cpuMillis) / Double(max(1, capacity.cpuMillis)) * 100).rounded())
        return "mem \(memory)% cpu \(cpu)%"
    }
}
