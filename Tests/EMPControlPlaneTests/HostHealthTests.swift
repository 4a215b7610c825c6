import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Logging
import Testing

@Suite struct HostHealthTests {
    static let start = Date(timeIntervalSince1970: 1_700_000_000)

    static func hosts(_ ids: [String], in store: SQLiteStore) async throws {
        try await store.write { tx in
            for id in ids {
                try tx.save(Host(id: id, poolID: "p", capacity: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), lastHeartbeat: start))
            }
        }
    }

    @Test func hostsThatMissHeartbeatsFor40sBecomeNotReadyAndGetNoPlacements() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        let clock = ManualClock(epoch: Self.start)
        let health = HostHealth(store: store, configuration: ControlPlaneConfiguration(), clock: clock, logger: Logger(label: "t"))
        try await Self.hosts(["quiet", "chatty"], in: store)
        clock.advance(by: .seconds(39))
        #expect(try await health.check().isEmpty)
        try await store.write { tx in
            guard var host = try tx.host("chatty") else { return }
            host.lastHeartbeat = Self.start + 30
            try tx.save(host)
        }
        clock.advance(by: .seconds(2))
        #expect(try await health.check() == ["quiet"])
        #expect(try await health.check().isEmpty, "marked twice")
        let (quiet, chatty, events) = try await store.read { tx in
            (try tx.host("quiet"), try tx.host("chatty"), try tx.events(EventFilter(object: ObjectRef(.host, "quiet"))))
        }
        #expect(quiet?.state == .notReady)
        #expect(quiet?.acceptsPlacements == false)
        #expect(chatty?.state == .ready)
        #expect(events.map(\.reason) == ["HostNotReady"])
        #expect(events.first?.message.contains("no heartbeat from the agent for 41 s") == true)
        #expect(events.first?.type == .warning)
        #expect(events.first?.time == Self.start + 41, "the event's date comes from the same clock")
    }

    /// The running loop, on the manual clock: checks every 5 s; a host is NotReady at exactly 40 s of silence,
    /// not at 39.999 s.
    @Test func theLoopMarksAHostAtExactlyTheHeartbeatTimeout() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        let clock = ManualClock(epoch: Self.start)
        var configuration = ControlPlaneConfiguration()
        configuration.healthCheckInterval = .seconds(5)
        configuration.heartbeatTimeout = .seconds(40)
        try await Self.hosts(["quiet"], in: store)
        let health = HostHealth(store: store, configuration: configuration, clock: clock, logger: Logger(label: "t"))
        let loop = Task { try await health.run() }
        defer { loop.cancel() }
        func state() async throws -> HostState? { try await store.read { try $0.host("quiet")?.state } }

        try await clock.waitForSleepers(1)  // the first pass ran at 0 s
        for _ in 0..<7 { try await clock.step(by: .seconds(5)) }  // passes at 5 … 35 s
        try await clock.step(by: .seconds(5) - .milliseconds(1))  // 39.999 s: the sleeper is not due yet
        #expect(try await state() == .ready)
        try await clock.step(by: .milliseconds(1))  // 40 s: the pass runs
        #expect(try await state() == .notReady)
        let events = try await store.read { try $0.events(EventFilter(object: ObjectRef(.host, "quiet"))) }
        #expect(events.map(\.time) == [Self.start + 40])
    }
}
