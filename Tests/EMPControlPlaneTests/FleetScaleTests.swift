import EMPControlPlane
import EMPFleetSimulation
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Logging
import ServerGuard
import Testing

/// Fleet scale without timing anything: 2,000 simulated agents join the control plane over HTTP, long-poll and
/// report; time moves on the manual clock past the heartbeat timeout; no host is ever marked NotReady and every EVM
/// runs. Heartbeats and usage live in memory between flushes: the flush writes them, and a reopened store reads
/// them back.
@Suite(.serialized) struct FleetScaleTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(.timeLimit(.minutes(10)))
    func twoThousandHostsJoinReportAndStayReady() async throws {
        let dir = try TemporaryDirectory()
        let clock = ManualClock(epoch: Self.start)
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: ["fleet-operator"])
        configuration.port = 0
        configuration.rebalancer.enabled = false  // not under test; the simulated hosts stay where placed
        configuration.limits.maxConnections = 16_384
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let built = try ControlPlane.build(
            configuration: configuration, logger: Logger(label: "fleet"), clock: clock, onServerRunning: { signal.yield($0) })
        let server = ServingTask(built.service)
        var port = 0
        for await bound in ready {
            port = bound
            break
        }
        var settings = FleetSimulator.Settings(hosts: 2000)
        settings.pollWait = 30
        let n = settings.hosts
        let simulator = FleetSimulator(settings: settings, baseURL: "http://127.0.0.1:\(port)", operatorToken: "fleet-operator")
        var polling: Task<Void, Never>?
        do {
            try await simulator.createPool(maxEVMs: 2 * n + 1000)
            try await simulator.joinAll(concurrency: 32)
            polling = Task { await simulator.longPoll() }
            // Two EVMs per host: 4,000 placed by four requests; every host hears of its own through its long poll.
            try await simulator.createEVMs(2 * n, batch: 1000)
            #expect(try await eventually(timeout: .seconds(180)) { simulator.knownEVMs == 2 * n }, "known: \(simulator.knownEVMs)")

            let health = HostHealth(store: built.store, configuration: configuration, clock: clock, logger: Logger(label: "t"))
            // Three rounds of 20 s (60 s, past the 40 s heartbeat timeout): every host reports each round.
            for _ in 0..<3 {
                #expect(try await simulator.reportAll(concurrency: 64) == 0, "\(simulator.latencies.lastError("report") ?? "")")
                clock.advance(by: .seconds(20))
                #expect(try await health.check().isEmpty)
            }
            let hosts = try await simulator.listHosts()
            #expect(hosts.count == n)
            #expect(hosts.filter { $0.state != .ready }.map(\.id).isEmpty)
            #expect(try await simulator.evmCount(phase: .creating) == 0)
            #expect(try await simulator.evmCount(phase: .running) == 2 * n)
            let marked = try await built.store.read { try $0.events(EventFilter(limit: 100_000)) }.filter { $0.reason == "HostNotReady" }
            #expect(marked.isEmpty, "\(marked.count) HostNotReady events")
            // The API serves each host's latest heartbeat and usage (reported at 40 s) from memory.
            #expect(hosts.allSatisfy { $0.lastHeartbeat == Self.start + 40 })
            let placed = Dictionary(grouping: try await built.store.read { try $0.evms(.all) }, by: { $0.hostID ?? "" })
            let expectedUse = { (host: String) in Int64(placed[host]?.count ?? 0) * settings.evmRSSBytes + (2 << 30) }
            #expect(hosts.filter { $0.used.memoryBytes != expectedUse($0.id) }.map(\.id).isEmpty)

            // A silent host is still found: sim-7 stops reporting; after 60 s of silence it alone is NotReady.
            for _ in 0..<2 {
                clock.advance(by: .seconds(20))
                #expect(try await simulator.reportAll(concurrency: 64, except: ["sim-7"]) == 0)
            }
            _ = try await health.check()  // or the control plane's own loop, woken by the clock, got there first
            #expect(try await simulator.listHosts().filter { $0.state != .ready }.map(\.id) == ["sim-7"])

            // The flush writes what was in memory: a second store opened on the same file reads the 100 s heartbeats.
            #expect(try await built.store.flushSoftState(batch: 500, evms: true) >= n - 1)
            let reopened = try SQLiteStore(path: try #require(built.store as? SQLiteStore).path)
            let stored = try await reopened.read { try $0.hosts() }
            #expect(stored.filter { $0.id != "sim-7" }.allSatisfy { $0.lastHeartbeat == Self.start + 100 })
            #expect(stored.first { $0.id == "sim-7" }?.state == .notReady)
        } catch {
            polling?.cancel()
            try? await simulator.shutdown()
            await server.stop()
            throw error
        }
        polling?.cancel()
        try? await simulator.shutdown()
        await server.stop()
    }
}
