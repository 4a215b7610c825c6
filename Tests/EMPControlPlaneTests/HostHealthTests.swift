import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

@Suite struct HostHealthTests {
    @Test func hostsThatMissHeartbeatsFor40sBecomeNotReadyAndGetNoPlacements() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let clock = NIOLockedValueBox(start)
        let health = HostHealth(
            store: store, configuration: ControlPlaneConfiguration(), now: { clock.withLockedValue { $0 } }, logger: Logger(label: "t"))
        try await store.write { tx in
            for id in ["quiet", "chatty"] {
                try tx.save(Host(id: id, poolID: "p", capacity: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), lastHeartbeat: start))
            }
        }
        clock.withLockedValue { $0 = start + 39 }
        #expect(try await health.check().isEmpty)
        try await store.write { tx in
            guard var host = try tx.host("chatty") else { return }
            host.lastHeartbeat = start + 30
            try tx.save(host)
        }
        clock.withLockedValue { $0 = start + 41 }
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
    }
}
