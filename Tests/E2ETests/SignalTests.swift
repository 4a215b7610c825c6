import EMPModel
import EMPTesting
import Foundation
import NIOHTTP1
import Testing

/// Every process stops cleanly when told to: SIGTERM (systemd, Kubernetes) ends it with status 0 within 5 s, with
/// no crash or backtrace on stderr. (The control plane's case, with its loops running, is in ConfigurationTests.)
@Suite struct SignalTests {
    /// Sends SIGTERM and checks the stop: status 0, within 5 s, nothing crashed.
    static func expectCleanStop(_ process: ChildProcess, _ name: String) {
        let (status, took) = process.stop(SIGTERM)
        let stderr = process.errorOutput.joined(separator: "\n")
        #expect(status == 0, "\(name) exited \(status); stderr: \(process.errorOutput.suffix(10))")
        #expect(took < .seconds(5), "\(name) took \(took) to stop")
        #expect(!stderr.contains("Fatal error") && !stderr.contains("Backtrace") && !stderr.contains("Current stack trace"))
    }

    /// The agent with domains running and a migration just requested (the libvirt test driver refuses the migration
    /// itself at once, so the in-flight case with real QEMU is RealVMTests' `aStoppedSourceAgentLeavesTheMigrationToLibvirt`).
    @Test func theAgentStopsCleanlyWithDomainsRunning() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try await cluster.startControlPlane()
        #expect(try await cluster.call(.POST, "/v1/pools", ControlPlaneAgentTests.pool).status == 201)
        for name in ["host-1", "host-2"] { try cluster.startAgent(name, joinToken: try await cluster.joinToken(pool: "pool-a")) }
        try await cluster.eventually("two hosts joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 2 }
        #expect(try await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":4}"#).status == 201)
        try await cluster.eventually("4 EVMs running") { try await cluster.get([EVM].self, "/v1/evms?phase=running").count == 4 }
        let evm = try #require(try await cluster.get([EVM].self, "/v1/evms").first)
        let to = evm.hostID == "host-1" ? "host-2" : "host-1"
        #expect(try await cluster.call(.POST, "/v1/evms/\(evm.id)/migrate", #"{"to":"\#(to)"}"#).status == 202)
        for name in ["host-1", "host-2"] {
            Self.expectCleanStop(try #require(cluster.agent(name)), "emp-agent \(name)")
        }
        // The control plane still answers, and sees both agents gone quiet rather than erroring.
        #expect(try await cluster.call(.GET, "/v1/hosts").status == 200)
    }

    @Test func empctlSimStopsCleanlyOnSIGTERM() async throws {
        let dir = try TemporaryDirectory()
        let sim = try ChildProcess(try BuiltProducts.executable("empctl"), ["sim", "--kubeconfig", dir.file("kubeconfig")])
        defer { sim.kill() }
        try await sim.waitFor(timeout: .seconds(30)) { $0.contains { $0.hasPrefix("KubeSim listening on https://127.0.0.1:") } }
        Self.expectCleanStop(sim, "empctl sim")
    }
}
