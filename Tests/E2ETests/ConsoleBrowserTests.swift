import EMPModel
import EMPTesting
import Foundation
import NIOHTTP1
import Testing

/// The console and `/metrics` of a running control plane with agents, populated by the demo's steps, as a person
/// (in headless Chromium) and Prometheus's own checker see them.
@Suite(.serialized) struct ConsoleBrowserTests {
    func empctl(_ cluster: Cluster, _ arguments: [String]) throws -> [String] {
        let process = try ChildProcess(
            try BuiltProducts.executable("empctl"), arguments + ["--server", cluster.url, "--token", cluster.token],
            environment: ["HOME": cluster.dir.path])
        guard process.wait() == 0 else {
            throw TestSupportError("empctl \(arguments.joined(separator: " ")): \(process.errorOutput.joined(separator: "\n"))")
        }
        return process.output
    }

    /// A pool of two hosts running five EVMs, cost sampled every 10 s.
    func demoCluster() async throws -> Cluster {
        let cluster = try Cluster()
        let config = cluster.dir.file("cp.yaml")
        try "cost:\n  sampleSeconds: 10\n".write(toFile: config, atomically: true, encoding: .utf8)
        cluster.controlPlaneArguments = ["--config", config]
        try await cluster.startControlPlane()
        _ = try empctl(cluster, ["pool", "create", "trading", "--vcpus", "2", "--memory", "8Gi", "--cpu-overcommit", "2"])
        for host in ["host-1", "host-2"] {
            let token = try #require(try empctl(cluster, ["host", "token", "trading"]).first)
            try cluster.startAgent(host, joinToken: token)
        }
        try await cluster.eventually("both hosts joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 2 }
        _ = try empctl(cluster, ["evm", "create", "trading", "--count", "5"])
        try await cluster.eventually("5 EVMs running") { try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 5 }
        return cluster
    }

    @Test func anOperatorReadsTheDashboardAndCordonsAHostInChromium() async throws {
        let cluster = try await demoCluster()
        defer { cluster.stopAll() }
        let screenshots = ProcessInfo.processInfo.environment["EMP_CONSOLE_SCREENSHOTS"] ?? cluster.dir.file("screenshots")
        try FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let run = try await ChildProcess.run(
            "/usr/bin/python3",
            [
                root + "/scripts/console-browser.py", "--url", cluster.url, "--token", cluster.token, "--pool", "trading", "--host",
                "host-1", "--screenshots", screenshots,
            ],
            timeout: .seconds(180))
        #expect(run.status == 0, "browser: \(run.errors)")
        struct Seen: Decodable {
            struct Gauge: Decodable {
                let limit: Double
                let allocated: Double
                let used: Double
                let caption: String
            }
            struct Row: Decodable {
                let id: String
                let phase: String
            }
            struct Step: Decodable {
                let step: String
                let status: String
                let time: String
            }
            let redirectedToLogin: Bool
            let pools: [String]
            let gauges: [String: Gauge]
            let evms: [Row]
            let evmTitle: String
            let timeline: [Step]
            let hostState: String
            let flash: String
            let liveScript: Bool
        }
        let seen = try JSONDecoder().decode(Seen.self, from: Data(run.output.joined(separator: "\n").utf8))
        #expect(seen.redirectedToLogin)
        #expect(seen.pools == ["trading"])
        // Two 64-core / 256 GiB test hosts at CPU overcommit 2; five 2-vCPU / 8 GiB EVMs allocated.
        let cpu = try #require(seen.gauges["CPU"])
        #expect(cpu.limit == 256 && cpu.allocated == 10)
        #expect(cpu.caption.contains("allocated 10.0 CPU"))
        #expect(seen.gauges["Memory"]?.allocated == Double(Int64.gibibytes(40)))
        #expect(seen.evms.count == 5 && seen.evms.allSatisfy { $0.phase == "running" })
        #expect(seen.evmTitle == "EVM \(seen.evms[0].id)")
        let done = Set(seen.timeline.filter { $0.status == "done" }.map(\.step))
        #expect(done.isSuperset(of: ["requested", "placed", "seedWritten", "defined", "booted"]), "\(seen.timeline)")
        #expect(seen.hostState == "cordoned")
        #expect(seen.flash.contains("Cordoned"))
        #expect(seen.liveScript)
        let hosts = try empctl(cluster, ["host", "list"])
        #expect(hosts.contains { $0.hasPrefix("host-1") && $0.contains("cordoned") }, "\(hosts)")
        for name in ["console-pool-dashboard.png", "console-evm-details.png"] {
            let size = (try FileManager.default.attributesOfItem(atPath: "\(screenshots)/\(name)")[.size] as? Int) ?? 0
            #expect(size > 10_000, "\(name) is \(size) bytes")
        }
    }

    @Test func promtoolAcceptsTheMetricsAndEveryFamilyIsDocumented() async throws {
        let cluster = try await demoCluster()
        defer { cluster.stopAll() }
        // Host figures come with the cost sampler's pass (every 10 s here), EVM figures with the agents' reports.
        var exposition = ""
        try await cluster.eventually("host and EVM metrics exported", timeout: .seconds(60)) {
            exposition = String(decoding: try await cluster.call(.GET, "/metrics").body, as: UTF8.self)
            return exposition.contains("emp_host_cpu_limit_cores{") && exposition.contains("emp_evm_memory_rss_bytes{")
                && exposition.contains("emp_pool_savings_dollars{")
        }
        let file = cluster.dir.file("metrics.txt")
        try exposition.write(toFile: file, atomically: true, encoding: .utf8)
        let check = try await ChildProcess.run("/bin/sh", ["-c", "promtool check metrics < \(file)"])
        #expect(check.status == 0, "promtool: \(check.output) \(check.errors)")
        #expect(exposition.contains(#"emp_hosts{pool="trading",state="ready"} 2"#))
        #expect(exposition.contains(#"emp_evms{pool="trading",phase="running"} 5"#))
        #expect(exposition.contains(#"emp_host_cpu_limit_cores{pool="trading",host="host-1"} 128"#))
        let families = Set(exposition.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let documented = Set(
            exposition.split(separator: "\n").filter { $0.hasPrefix("# HELP ") }.map { String($0.split(separator: " ")[2]) })
        #expect(families.subtracting(documented).isEmpty, "without help: \(families.subtracting(documented))")
    }
}
