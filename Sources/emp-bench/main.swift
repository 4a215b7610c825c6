// `make bench`: every benchmark prints ours beside a baseline measured in the same run.
// Figures and the command are recorded in docs/benchmarks.md.
import Foundation
import Logging

// The services under measurement log through swift-log: only warnings and errors, on standard error.
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

// `emp-bench fleet --hosts N[,N…] --evms-per-host M [--window S] [--no-baseline]` runs the fleet benchmark alone.
let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "fleet" {
    do {
        try await fleetBenchmark(try FleetOptions(Array(arguments.dropFirst())))
    } catch let error as BenchError {
        FileHandle.standardError.write(Data("emp-bench fleet: \(error)\n".utf8))
        exit(2)
    }
    exit(0)
}
let selected = Set(arguments)
func wants(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

if wants("libvirt") { try await libvirtBenchmark() }
if wants("store") { try await storeBenchmark() }
if wants("placement") {
    placementBenchmark()
    placementQualityBenchmark()
}
if wants("webhook") { try await webhookBenchmark() }
if wants("packer") {
    packerBenchmark()
    packerQualityBenchmark()
}
if wants("autoscaler") {
    await podReadingBenchmark()
    try await autoscalerBenchmark()
}
if wants("rebalance") {
    rebalanceBenchmark()
    rebalanceFleetBenchmark()
}
if wants("simulate") { try simulateBenchmark() }
if wants("vm") { try await vmBenchmark() }
if wants("warm") { try await warmBenchmark() }
if wants("hostile") { await hostileInputBenchmark() }
if wants("console") { try await consoleBenchmark() }
if wants("fleet") {
    try await fleetBenchmark(try FleetOptions(["--hosts", "1000,10000", "--evms-per-host", "10"]))
    // The same 1,000 hosts with the store on PostgreSQL (issue 19): the control plane's CPU on each store.
    try await fleetBenchmark(try FleetOptions(["--hosts", "1000", "--evms-per-host", "10", "--no-baseline", "--store", "postgres"]))
}
