import ArgumentParser
import EMPModel
import EMPSimulation
import Foundation

/// `empctl simulate`: a day of demand replayed against cluster-autoscaler, Karpenter and EMP (docs/simulate.md).
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Replay a day of demand against cluster-autoscaler, Karpenter and EMP; compare cost and pending time.",
        discussion: "Model, defaults and the CSV format: docs/simulate.md.")

    @Option(
        name: .long,
        help: "diurnal, batch, flat, or a CSV file (timestamp,workload,replicas,cpu_request,memory_request,cpu_usage,memory_usage).")
    var trace: String = "diurnal"

    @Option(name: .long, help: "Seed of a built-in trace.")
    var seed: UInt64 = 1

    @Option(name: .shortAndLong, help: "Output: table, json or html.")
    var output: Format = .table

    @Option(name: .long, help: "Simulated seconds per step.")
    var step: Int = 10

    @Option(name: .long, help: "Seconds to simulate (default: a day for a built-in trace, else up to the CSV's last timestamp).")
    var duration: Int?

    @Option(name: .long, help: "Cluster-autoscaler's instance type.")
    var nodeType: String = "m5.4xlarge"

    @Option(name: .long, help: "EMP's host instance type.")
    var hostType: String = "m5.metal"

    @Option(name: .long, help: "EMP's EVM shape: vCPUs.")
    var evmCpus: Int = 8

    @Option(name: .long, help: "EMP's EVM shape: memory (a Kubernetes quantity).")
    var evmMemory: String = "16Gi"

    @Option(name: .long, help: "EMP pool's CPU overcommit ratio.")
    var cpuOvercommit: Double = 2

    @Option(name: .long, help: "EMP pool's memory overcommit ratio.")
    var memoryOvercommit: Double = 1.5

    @Option(name: .long, help: "EMP hosts kept even when empty.")
    var minHosts: Int = 1

    @Option(name: .customLong("min-evms"), help: "EMP pool's minEVMs.")
    var minEVMs: Int = 0

    @Option(name: .long, help: "Warm EVMs the EMP pool keeps (booted and joined; a pending pod claims one at once).")
    var warm: Int = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A schedule raising the EMP pool's floor: 'CRON;TIMEZONE;DURATION;MINEVMS[;WARM]', e.g. '15 9 * * 1-5;UTC;1h;300;20' (repeatable).",
            valueName: "schedule"))
    var schedule: [String] = []

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json, html
    }

    func run() throws {
        do {
            try simulate()
        } catch let error as TraceError {
            FileHandle.standardError.write(Data("empctl simulate: \(error)\n".utf8))
            throw ExitCode(64)
        }
    }

    private func simulate() throws {
        let demand: DemandTrace
        var length = duration
        if let generator = TraceGenerator(rawValue: trace) {
            demand = generator.trace(seed: seed)
            length = length ?? 86_400
        } else {
            guard let data = FileManager.default.contents(atPath: trace), let text = String(data: data, encoding: .utf8) else {
                throw TraceError(line: nil, column: nil, message: "\(trace): not diurnal, batch or flat, and not a readable UTF-8 file")
            }
            do { demand = try TraceCSV.parse(text) } catch {
                FileHandle.standardError.write(Data("empctl simulate: \(trace): \(error)\n".utf8))
                throw ExitCode(64)
            }
        }
        var settings = SimulationSettings()
        settings.step = step
        settings.clusterAutoscalerType = nodeType
        settings.hostType = hostType
        guard evmCpus > 0, let memory = try? Quantity(evmMemory).roundedUp, memory > 0 else {
            throw TraceError(line: nil, column: nil, message: "--evm-cpus and --evm-memory must be positive (got \(evmCpus), \(evmMemory))")
        }
        settings.evmShape = EVMShape(vcpus: evmCpus, memoryBytes: memory)
        guard cpuOvercommit >= 1, memoryOvercommit >= 1, minHosts >= 0 else {
            throw TraceError(line: nil, column: nil, message: "overcommit ratios must be ≥ 1 and --min-hosts ≥ 0")
        }
        settings.cpuOvercommit = cpuOvercommit
        settings.memoryOvercommit = memoryOvercommit
        settings.minHosts = minHosts
        settings.minEVMs = minEVMs
        settings.warm = warm
        settings.schedules = try schedule.enumerated().map { index, text in
            let parts = text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 4 || parts.count == 5, let minimum = Int(parts[3]), parts.count == 4 || Int(parts[4]) != nil else {
                throw TraceError(
                    line: nil, column: nil, message: "--schedule \"\(text)\": expected 'CRON;TIMEZONE;DURATION;MINEVMS[;WARM]'")
            }
            return CapacitySchedule(
                name: "schedule-\(index + 1)", cron: parts[0], timeZone: parts[1], duration: parts[2], minEVMs: minimum,
                warm: parts.count == 5 ? Int(parts[4]) : nil)
        }
        do { try settings.poolPolicy.validate() } catch {
            throw TraceError(line: nil, column: nil, message: "the EMP pool's policy: \(error)")
        }
        let terminal = isatty(STDERR_FILENO) == 1
        let report = try Simulation(trace: demand, settings: settings, duration: length).run { share in
            guard terminal else { return }
            FileHandle.standardError.write(Data("\rsimulating… \(Int(share * 100)) %".utf8))
        }
        if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        switch output {
        case .table: print(report.table(), terminator: "")
        case .json: FileHandle.standardOutput.write(try report.json() + Data("\n".utf8))
        case .html: print(report.html(), terminator: "")
        }
    }
}
