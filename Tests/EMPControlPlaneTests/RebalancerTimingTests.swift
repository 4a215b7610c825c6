import EMPModel
import EMPScheduling
import EMPStore
import EMPTesting
import Foundation
import Logging
import Testing

@testable import EMPControlPlane

/// The rebalancer's timers on the manual clock: a migration whose destination never prepares fails at exactly
/// `preparingTimeout`, and the loop's cadence (`interval`) runs on the same clock.
@Suite struct RebalancerTimingTests {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    /// A store on `clock` with EVM `a` on h0 migrating to h1, still preparing (its destination never answers).
    static func stuckMigration(clock: ManualClock) async throws -> (SQLiteStore, TemporaryDirectory, Migration) {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path, configuration: .init(clock: clock))
        let shape = EVMShape(vcpus: 2, memoryBytes: .gibibytes(8))
        let migration = try await store.write { tx -> Migration in
            try tx.save(Pool(id: "p", shape: shape, createdAt: epoch))
            for id in ["h0", "h1"] {
                try tx.save(
                    EMPModel.Host(
                        id: id, poolID: "p", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)),
                        allocated: id == "h0" ? shape.resources : .zero))
            }
            try tx.save(EVM(id: "a", poolID: "p", hostID: "h0", shape: shape, phase: .running, nodeName: "a", createdAt: epoch))
            return try tx.beginMigration(
                MigrationRequest(evmID: "a", to: "h1", reason: .manual, explanation: "test"), limits: MigrationLimits(), at: epoch)
        }
        return (store, dir, migration)
    }

    static func state(_ store: SQLiteStore, _ id: String) async throws -> MigrationState? {
        try await store.read { try $0.migration(id)?.state }
    }

    @Test func aStuckMigrationFailsAtThePreparingTimeoutNotBefore() async throws {
        let clock = ManualClock(epoch: Self.epoch)
        let (store, dir, migration) = try await Self.stuckMigration(clock: clock)
        _ = dir
        var settings = RebalancerService.Settings()
        settings.planner.goals = [.evacuate]  // nothing else to plan: only the timeout acts
        let rebalancer = RebalancerService(store: store, settings: settings, kube: nil, clock: clock, logger: Logger(label: "test"))
        clock.advance(by: .seconds(120) - .milliseconds(1))
        _ = try await rebalancer.tick()
        #expect(try await Self.state(store, migration.id) == .preparing, "failed before the timeout")
        clock.advance(by: .milliseconds(1))
        _ = try await rebalancer.tick()
        let failed = try #require(try await store.read { try $0.migration(migration.id) })
        #expect(failed.state == .failed)
        #expect(failed.message == "the destination did not prepare within 120 s")
        #expect(failed.finishedAt == Self.epoch + 120)
        #expect(try await store.read { try $0.evm("a")?.phase } == .running, "the EVM stays where it was")
    }

    /// The loop plans every `interval` (10 s) of its clock: the timeout is acted on at the first pass at or after it.
    @Test func theLoopRunsOnTheClock() async throws {
        let clock = ManualClock(epoch: Self.epoch)
        let (store, dir, migration) = try await Self.stuckMigration(clock: clock)
        _ = dir
        var settings = RebalancerService.Settings()
        settings.planner.goals = [.evacuate]
        let rebalancer = RebalancerService(store: store, settings: settings, kube: nil, clock: clock, logger: Logger(label: "test"))
        let loop = Task { try await rebalancer.run() }
        defer { loop.cancel() }
        try await clock.waitForSleepers(1)  // the pass at 0 s is done; the loop waits 10 s
        for _ in 1...11 { try await clock.step(by: .seconds(10)) }  // passes at 10 … 110 s
        #expect(try await Self.state(store, migration.id) == .preparing)
        try await clock.step(by: .seconds(10))  // the pass at 120 s
        #expect(try await Self.state(store, migration.id) == .failed)
    }
}
