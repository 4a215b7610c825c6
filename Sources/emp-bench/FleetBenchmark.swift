import EMPFleetSimulation
import EMPModel
import EMPTesting
import Foundation
import NIOHTTP1

/// `emp-bench fleet --hosts N --evms-per-host M`: a release `emp-control-plane` in its own process (so its CPU
/// and memory are its own) against N simulated agents on loopback that join, long-poll and report every 10 s.
/// Ours (heartbeats and usage in memory, flushed every 30 s) beside the baseline `persistEveryReport: true` (a
/// write transaction per report, as before issue 23), same build, same run.
struct FleetOptions {
    var hosts = [1000]
    var evmsPerHost = 10
    var window: Duration = .seconds(60)
    var baseline = true
    /// `sqlite`, or `postgres` (a database on the server `EMP_TEST_POSTGRES_URL` names: `make bench` starts one).
    var store = "sqlite"

    /// `--hosts 1000,10000 --evms-per-host 10 --window 60 --no-baseline --store postgres`.
    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        while let flag = rest.popFirst() {
            func value() throws -> String {
                guard let value = rest.popFirst() else { throw BenchError("\(flag) needs a value") }
                return value
            }
            switch flag {
            case "--hosts":
                let text = try value()
                hosts = try text.split(separator: ",").map {
                    guard let n = Int($0), n > 0 else { throw BenchError("--hosts: \"\(text)\" is not a list of positive integers") }
                    return n
                }
            case "--evms-per-host":
                guard let n = Int(try value()), n >= 0 else { throw BenchError("--evms-per-host must be a non-negative integer") }
                evmsPerHost = n
            case "--window":
                guard let n = Int(try value()), n > 0 else { throw BenchError("--window must be a positive number of seconds") }
                window = .seconds(n)
            case "--no-baseline":
                baseline = false
            case "--store":
                store = try value()
                guard ["sqlite", "postgres"].contains(store) else { throw BenchError("--store must be sqlite or postgres") }
            default:
                throw BenchError(
                    "unknown option \(flag); fleet takes --hosts N[,N…] --evms-per-host M --window SECONDS --no-baseline --store sqlite|postgres"
                )
            }
        }
    }
}

func fleetBenchmark(_ options: FleetOptions) async throws {
    print(
        "fleet: simulated agents (join, long poll, report every 10 s) against a release emp-control-plane on "
            + (options.store == "postgres" ? "PostgreSQL (loopback, fsync on)" : "SQLite"))
    for hosts in options.hosts {
        for writeThrough in options.baseline ? [true, false] : [false] {
            let name =
                "\(hosts) hosts / \(hosts * options.evmsPerHost) EVMs, " + (writeThrough ? "every report written (baseline)" : "ours")
            do {
                try await fleetRun(
                    hosts: hosts, evmsPerHost: options.evmsPerHost, window: options.window, writeThrough: writeThrough,
                    postgres: options.store == "postgres", name: name)
            } catch {
                print("  \(name): failed: \(error)")
            }
        }
    }
}

/// CPU seconds and resident memory of a process, from /proc.
struct ProcessSample {
    let cpuSeconds: Double
    let rssBytes: Int64
    let peakRSSBytes: Int64

    init(pid: Int32) throws {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the command name (which may hold spaces) start at ")".
        let fields = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        cpuSeconds = (Double(fields[11])! + Double(fields[12])!) / ticks
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kib(_ key: String) -> Int64 {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key) } ?? ""
            return (Int64(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        rssBytes = kib("VmRSS:")
        peakRSSBytes = kib("VmHWM:")
    }
}

func fleetRun(hosts: Int, evmsPerHost: Int, window: Duration, writeThrough: Bool, postgres: Bool, name: String) async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-fleet-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let token = "bench-operator-\(UUID().uuidString)"
    let port = Int.random(in: 20000..<60000)
    try """
    listen: 127.0.0.1:\(port)
    dataDir: \(dir)/data
    operatorTokens: [\(token)]
    persistEveryReport: \(writeThrough)
    server: {maxConnections: 100000, idleTimeoutSeconds: 120}
    \(postgres ? "store: {type: postgres, url: \"\(try TestPostgres.freshDatabase())\", maxConnections: 20}\nha: {replicaID: bench}" : "")
    """.write(toFile: "\(dir)/config.yaml", atomically: true, encoding: .utf8)
    let process = try ChildProcess(
        try BuiltProducts.executable("emp-control-plane"), ["--config", "\(dir)/config.yaml", "--log-level", "error"])
    defer { _ = process.stop() }
    let url = "http://127.0.0.1:\(port)"
    var settings = FleetSimulator.Settings(hosts: hosts)
    settings.pollWait = 30
    let simulator = FleetSimulator(settings: settings, baseURL: url, operatorToken: token)
    defer { Task { try? await simulator.shutdown() } }
    // Up: the API answers, and (PostgreSQL) this replica leads.
    for attempt in 0... {
        if (try? await simulator.call(.GET, "/leaderz"))?.status == 200 { break }
        guard attempt < 200, process.isRunning else {
            throw BenchError("emp-control-plane did not start: \(process.errorOutput.suffix(5))")
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    try await simulator.createPool(maxEVMs: min(100_000, max(1, hosts * evmsPerHost + 1000)))
    let joinStart = ContinuousClock.now
    try await simulator.joinAll(concurrency: 32)
    let joinSeconds = seconds(ContinuousClock.now - joinStart)
    let polls = Task { await simulator.longPoll() }
    let reports = Task { await simulator.reportEvery(.seconds(10)) }
    defer {
        polls.cancel()
        reports.cancel()
    }
    // Fill: EVMs in requests of 1,000 (the API's largest), then wait until every one runs.
    let fillStart = ContinuousClock.now
    try await simulator.createEVMs(hosts * evmsPerHost, batch: 1000)
    var creating = try await simulator.evmCount(phase: .creating)
    while creating > 0 {
        guard ContinuousClock.now - fillStart < .seconds(600) else { throw BenchError("\(creating) EVMs still creating after 600 s") }
        try await Task.sleep(for: .seconds(2))
        creating = try await simulator.evmCount(phase: .creating)
    }
    let fillSeconds = seconds(ContinuousClock.now - fillStart)
    // Steady state: reports go on; operators read hosts (20 GETs/s) and create 100 EVMs three times.
    simulator.latencies.reset()
    let before = try ProcessSample(pid: process.pid)
    let windowStart = ContinuousClock.now
    let readers = Task {
        while !Task.isCancelled {
            await simulator.operatorGet()
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
    for _ in 0..<3 {
        try await Task.sleep(for: window / 4)
        try await simulator.createEVMs(100, batch: 100)
    }
    try await Task.sleep(for: window - (ContinuousClock.now - windowStart))
    readers.cancel()
    let after = try ProcessSample(pid: process.pid)
    let wall = seconds(ContinuousClock.now - windowStart)
    let notReady = try await simulator.listHosts().filter { $0.state != .ready }.count
    let log = simulator.latencies
    func ms(_ kind: String, _ p: Double) -> Double { (log.percentile(kind, p) ?? .nan) * 1000 }
    print("  \(name)")
    report("    join all hosts", joinSeconds, "s")
    report("    create all EVMs until every one runs", fillSeconds, "s")
    report("    control-plane CPU over the \(Int(wall)) s window", (after.cpuSeconds - before.cpuSeconds) / wall * 100, "% of a core")
    report("    control-plane RSS (peak)", Double(after.peakRSSBytes) / 1_048_576, "MiB", decimals: 0)
    report("    reports in the window (failed: \(log.failures("report")))", Double(log.count("report")), "", decimals: 0)
    report("    report p50", ms("report", 50), "ms")
    report("    report p99", ms("report", 99), "ms")
    report("    operator GET /v1/hosts/{id} p99", ms("get", 99), "ms")
    report("    create 100 EVMs (worst of 3)", ms("create", 100), "ms")
    report("    hosts NotReady at the end", Double(notReady), "", decimals: 0)
    polls.cancel()
    reports.cancel()
}
