import EMPModel
import EMPScheduling
import EMPStore
import EMPTesting
import Foundation
import Testing

@testable import EMPControlPlane

@Suite struct MigrationReservationTests {
    /// While an EVM migrates, its target's room is spoken for: placements and other migrations cannot take it, and
    /// the planner sees the EVM where it is going.
    @Test func aMigrationReservesItsTargetsRoomUntilItEnds() async throws {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        let now = Date()
        let shape = EVMShape(vcpus: 4, memoryBytes: .gibibytes(16))
        try await store.write { tx in
            try tx.save(Pool(id: "p", shape: shape, policy: PoolPolicy(placement: .binpack), createdAt: now))
            // h1 has room for exactly one EVM; h0 holds two.
            try tx.save(
                EMPModel.Host(
                    id: "h0", poolID: "p", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)),
                    allocated: shape.resources * 2))
            try tx.save(EMPModel.Host(id: "h1", poolID: "p", capacity: Resources(cpuMillis: 4_000, memoryBytes: .gibibytes(16))))
            for id in ["a", "b"] {
                try tx.save(EVM(id: id, poolID: "p", hostID: "h0", shape: shape, phase: .running, nodeName: id, createdAt: now))
            }
        }
        let limits = RebalanceSettings()
        let moving = try await store.write { tx in
            try tx.beginMigration(
                MigrationRequest(evmID: "a", to: "h1", reason: .manual, explanation: "test"), limits: limits.limits, at: now)
        }
        #expect(moving.state == .preparing)
        // Another migration to h1 is refused: its room is arriving.
        await #expect {
            try await store.write { tx in
                try tx.beginMigration(
                    MigrationRequest(evmID: "b", to: "h1", reason: .manual, explanation: "test"), limits: limits.limits, at: now)
            }
        } throws: { "\($0)".contains("allocated or arriving") }
        // A new EVM does not land on h1 either.
        let placed = try await EVMPlacement(store: store, expectedUseFraction: 0).create(count: 1, poolID: "p", at: now)
        #expect(placed.map(\.hostID) == ["h0"])
        // The planner's snapshot shows a on h1 (pinned in flight), h1 full and h0 already without it.
        let snapshot = try await store.read { try $0.snapshot(pool: "p", at: now, settings: limits) }
        #expect(snapshot.evms.first { $0.id == "a" }?.hostID == "h1")
        #expect(snapshot.inFlight.map(\.evmID) == ["a"])
        #expect(snapshot.hosts.first { $0.id == "h1" }?.allocated == shape.resources)
        #expect(snapshot.hosts.first { $0.id == "h0" }?.allocated == shape.resources * 2)  // b and the new EVM
        // Once it completes, the record and the allocations agree with what was reserved.
        _ = try await store.write { tx in try tx.completeMigration(moving.id, progress: nil, at: now) }
        let (h0, h1) = try await store.read { (try $0.host("h0")!, try $0.host("h1")!) }
        #expect(h1.allocated == shape.resources)
        #expect(h0.allocated == shape.resources * 2)
        #expect(try await store.read { try $0.incomingAllocations() }.isEmpty)
    }
}
