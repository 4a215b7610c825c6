import ArgumentParser
import EMPModel
import EMPScheduling
import Foundation

/// `empctl whatif place --input FILE`: where would these EVMs go?
struct WhatIfPlace: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "place",
        abstract: "Place EVMs on hosts with the Placer and print each placement and the hosts used."
    )

    @Option(name: .long, help: "Snapshot file (JSON): hosts, the EVMs to place, and the policy.")
    var input: String

    @Option(name: .shortAndLong, help: "Output: table or json.")
    var output: OutputFormat = .table

    /// The file format: a snapshot's hosts plus what to place.
    struct Input: Decodable {
        var policy: PlacementPolicy?
        /// Place largest first (default true) or in file order.
        var batch: Bool?
        var hosts: [HostSnapshot]
        var place: [PlacementRequest]
    }

    func run() throws {
        try WhatIfRun.run(output) { try place() }
    }

    private func place() throws {
        let file = try SnapshotFile.read(Input.self, from: input) { try PlacementRequest.validate($0.place, hosts: $0.hosts) }
        let placer = Placer(policy: file.policy ?? .binpack)
        let result = file.batch ?? true ? placer.placeBatch(file.place, on: file.hosts) : placer.place(file.place, on: file.hosts)
        switch output {
        case .json:
            print(try SnapshotFile.json(result))
        case .table:
            printTable(result, before: file.hosts)
        }
    }

    private func printTable(_ result: PlacementResult, before: [HostSnapshot]) {
        var rows = [["EVM", "HOST"]]
        rows += result.placements.map { [$0.evmID, $0.hostID] }
        print(Table.render(rows))
        print()
        var hostRows = [["HOST", "ALLOCATED BEFORE", "ALLOCATED AFTER", "LIMIT (CAPACITY × RATIO)"]]
        for (old, new) in zip(before, result.hosts) where old.allocated != new.allocated || new.allocated != .zero {
            hostRows.append([new.id, old.allocated.description, new.allocated.description, new.allocationLimit.description])
        }
        print(Table.render(hostRows))
        print()
        print("placed \(result.placements.count) of \(result.placements.count + result.unplaced.count) EVMs on \(result.hostsUsed) hosts")
        for miss in result.unplaced {
            print("not placed: \(miss.evmID): \(miss.reason)")
        }
    }
}
