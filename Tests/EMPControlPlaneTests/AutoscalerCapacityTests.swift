import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Kube
import Synchronization
import Testing

@testable import EMPControlPlane

/// The pool's floor on the manual clock, one autoscaler pass at a time: minEVMs kept without any pod, EVMs that
/// never boot replaced once, and schedules raising and lowering the floor at their instant.
@Suite(.serialized) struct AutoscalerCapacityTests {
    static func setPolicy(_ rig: AutoscalerTests.Rig, _ change: @escaping @Sendable (inout PoolPolicy) -> Void) async throws {
        try await rig.store.write { tx in
            guard var pool = try tx.pool("demo") else { return }
            change(&pool.policy)
            try tx.save(pool)
        }
    }

    static func poolEvents(_ rig: AutoscalerTests.Rig, _ reason: String) async throws -> [EMPModel.Event] {
        try await rig.store.read { try $0.events(EventFilter(limit: 5000)) }.filter { $0.reason == reason }
    }

    @Test func minEVMsIsKeptWithoutAnyPod() async throws {
        let rig = try await AutoscalerTests.start(loop: false)
        defer { Task { await rig.stop() } }
        var state = Autoscaler.LoopState()
        try await Self.setPolicy(rig) { $0.minEVMs = 2 }
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 2, "raised to 2: one more EVM without any pending pod")
        let first = try await Self.poolEvents(rig, "ScaledUp")
        #expect(first.count == 1 && first[0].message.hasPrefix("minimum: 1 EVMs to keep minEVMs 2"), "\(first.map(\.message))")

        // An EVM deleted below the minimum comes back: a deleting EVM no longer counts, so the next pass replaces it
        // while its host's agent is still destroying it.
        let victim = try #require(try await rig.evms().first)
        _ = try await rig.store.write { tx in try tx.markDeleting(victim.id, at: rig.clock.date, reason: "Test", message: "deleted") }
        #expect(try await rig.evms().count == 1)
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 2, "not brought back")
        #expect(try await rig.evms().allSatisfy { $0.id != victim.id })

        try await Self.setPolicy(rig) { $0.minEVMs = 3 }
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 3)

        // Lowered: the empty ones above the minimum become ordinary scale-down candidates.
        try await Self.setPolicy(rig) { $0.minEVMs = 1 }
        #expect(try await eventually(timeout: .seconds(60)) { try await rig.readyNodes() == 3 })
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(1))  // the rig's emptyAfter
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 1)
    }

    @Test func anEVMWhoseNodeNeverBecomesReadyIsReplacedOnce() async throws {
        let epoch = Date(timeIntervalSince1970: 1_800_000_000)
        let stuck = Mutex<String?>(nil)
        // The first EVM created after the rig's own never gets a Node (a kubelet that cannot join).
        let rig = try await AutoscalerTests.start(loop: false, epoch: epoch) { evm in
            stuck.withLock { id in
                if id == nil, evm.createdAt > epoch { id = evm.id }
                return id == evm.id
            }
        }
        defer { Task { await rig.stop() } }
        var state = Autoscaler.LoopState()
        rig.clock.advance(by: .seconds(1))
        try await Self.setPolicy(rig) { $0.minEVMs = 2 }
        try await rig.pass(&state)
        let broken = try #require(try await rig.evms().first { $0.createdAt > epoch })
        #expect(try await eventually(timeout: .seconds(60)) { try await rig.evms().allSatisfy { $0.phase == .running } })
        #expect(stuck.withLock { $0 } == broken.id)

        rig.clock.advance(by: .seconds(600) - .milliseconds(1))  // bootTimeout is 10 min by default
        try await rig.pass(&state)
        #expect(try await rig.evms().contains { $0.id == broken.id }, "replaced before bootTimeout")
        #expect(try await Self.poolEvents(rig, "BootTimeout").isEmpty)
        rig.clock.advance(by: .milliseconds(1))
        try await rig.pass(&state)
        let events = try await Self.poolEvents(rig, "BootTimeout")
        #expect(events.map(\.object) == [ObjectRef(.evm, broken.id)], "\(events.map(\.message))")
        #expect(try await rig.evms().count == 2, "the replacement is placed in the same pass")
        #expect(try await rig.evms().allSatisfy { $0.id != broken.id })

        // The replacement boots; a boot timeout later nothing else is replaced.
        #expect(try await eventually(timeout: .seconds(60)) { try await rig.readyNodes() == 2 })
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(601))
        try await rig.pass(&state)
        try await rig.pass(&state)
        #expect(try await Self.poolEvents(rig, "BootTimeout").count == 1, "replaced more than once")
        #expect(try await rig.evms().count == 2)
    }

    /// A schedule at 02:30 New York on the day that local time is skipped (2026-03-08): active from 07:00 UTC (03:00
    /// EDT) for an hour; the floor rises to 3 at that instant, not a second before, and falls back after.
    @Test func aScheduleRaisesAndLowersTheFloorAtItsInstant() async throws {
        let epoch = try Date("2026-03-08T06:59:00Z", strategy: .iso8601)
        let rig = try await AutoscalerTests.start(loop: false, epoch: epoch)
        defer { Task { await rig.stop() } }
        try await Self.setPolicy(rig) {
            $0.schedules = [
                CapacitySchedule(name: "open", cron: "30 2 * * *", timeZone: "America/New_York", duration: "1h", minEVMs: 3),
                CapacitySchedule(name: "overlap", cron: "30 7 * * *", timeZone: "UTC", duration: "1h", minEVMs: 2),
            ]
        }
        var state = Autoscaler.LoopState()
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(59))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 1, "raised before 07:00 UTC")
        rig.clock.advance(by: .seconds(1))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 3, "not raised at 07:00 UTC")
        #expect(try await Self.poolEvents(rig, "ScheduleActive").map(\.message) == ["schedule open active: floor now 3 EVMs and 0 warm"])

        // 07:30–08:00 both are active: the larger floor (3) holds. At 08:00 only "overlap" (2) is.
        #expect(try await eventually(timeout: .seconds(60)) { try await rig.readyNodes() == 3 })
        rig.clock.advance(by: .seconds(59 * 60))
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(2))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 3, "the overlapping schedule's smaller floor lowered it")
        rig.clock.advance(by: .seconds(58))  // 08:00:00
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(1))  // emptyAfter
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 2, "after open ends, overlap keeps 2")
        rig.clock.advance(by: .seconds(30 * 60))  // 08:30: overlap ends; the base minimum (1) remains
        try await rig.pass(&state)
        rig.clock.advance(by: .seconds(1))
        try await rig.pass(&state)
        #expect(try await rig.evms().count == 1)
        #expect(try await Self.poolEvents(rig, "ScheduleEnded").count == 2)
    }
}
