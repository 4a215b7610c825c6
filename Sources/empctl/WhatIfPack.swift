import ArgumentParser
import EMPModel
import EMPScheduling
import Foundation

/// `empctl whatif pack --input FILE`: how many EVMs would these pending pods need, and where would each go?
struct WhatIfPack: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Pack pending pods onto existing and new EVMs with the PodPacker; print the EVMs and each pod's place."
    )

    @Option(name: .long, help: "Snapshot file (JSON): the EVM shape, existing EVM nodes, pending pods (docs/whatif.md).")
    var input: String

    @Option(name: .shortAndLong, help: "Output: table or json.")
    var output: OutputFormat = .table

    func run() throws {
        try WhatIfRun.run(output) { try pack() }
    }

    private func pack() throws {
        let file = try SnapshotFile.read(PackInput.self, from: input) { try $0.validate() }
        let result = PodPacker().pack(file)
        switch output {
        case .json:
            print(try SnapshotFile.json(result))
        case .table:
            var rows = [["POD", "GOES TO"]]
            for pod in file.pods where result.placements[pod.id] != nil {
                rows.append([pod.id, result.placements[pod.id] ?? ""])
            }
            print(Table.render(rows))
            print()
            var evms = [["NEW EVM", "PODS", "FREE AFTER"]]
            for evm in result.newEVMs {
                evms.append([evm.name, evm.pods.isEmpty ? "(headroom)" : "\(evm.pods.count)", evm.free.description])
            }
            print(Table.render(evms))
            print()
            print(
                "\(result.newEVMs.count) new \(result.newEVMs.count == 1 ? "EVM" : "EVMs") (\(result.headroomEVMs) for headroom); "
                    + "\(result.placements.count) of \(file.pods.count) pods placed"
            )
            for miss in result.unplaced {
                print("left out: \(miss.pod): \(miss.reason)\(miss.permanent ? " (no EVM of this pool can run it)" : "")")
            }
        }
    }
}
