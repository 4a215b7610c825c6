// `make bench`: every benchmark prints ours beside a baseline measured in the same run.
// Figures and the command are recorded in docs/benchmarks.md.
import Foundation

let selected = Set(CommandLine.arguments.dropFirst())
func wants(_ name: String) -> Bool { selected.isEmpty || selected.contains(name) }

if wants("libvirt") { try await libvirtBenchmark() }
if wants("store") { try await storeBenchmark() }
if wants("placement") { placementBenchmark() }
if wants("webhook") { try await webhookBenchmark() }
if wants("packer") { packerBenchmark() }
if wants("autoscaler") { try await autoscalerBenchmark() }
if wants("rebalance") { rebalanceBenchmark() }
if wants("vm") { try await vmBenchmark() }
if wants("hostile") { await hostileInputBenchmark() }
