import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Testing

let epoch = Date(timeIntervalSince1970: 1_700_000_000)
let shape = EVMShape(vcpus: 4, memoryBytes: .gibibytes(16))

func openStore(_ dir: TemporaryDirectory) throws -> SQLiteStore {
    try SQLiteStore(directory: dir.file("data"))
}

let storeKinds = StoreKind.selected

@Suite struct StoreTests {
    @Test(arguments: storeKinds) func objectsRoundTripAndPersistAcrossReopen(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let pool = Pool(id: "pool-a", shape: shape, policy: PoolPolicy(memoryOvercommit: 1.5), cluster: "eks-1", createdAt: epoch)
        let host = Host(
            id: "h1", poolID: "pool-a", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)),
            inventory: HostInventory(
                hostname: "bm-1", cores: 64, memoryBytes: .gibibytes(256), cpuModel: "x86_64", hostUUID: "u",
                libvirtVersion: "9.0.0", hypervisorVersion: "7.2.0"
            )
        )
        let evm = EVM(
            id: "evm-1", poolID: "pool-a", hostID: "h1", shape: shape, phase: .running, nodeName: "pool-a-evm-1", createdAt: epoch)
        let migration = Migration(id: "m1", evmID: "evm-1", from: "h1", to: "h2", reason: .relieve, bytes: 1 << 30, createdAt: epoch)
        let token = JoinToken(id: "t1", poolID: "pool-a", secretHash: "abc", expiresAt: epoch + 3600, createdAt: epoch)
        do {
            let store = try await harness.open()
            try await store.write { tx in
                try tx.save(pool)
                try tx.save(host)
                try tx.save(evm)
                try tx.save(migration)
                try tx.save(token)
            }
        }
        let store = try await harness.open()
        let read = try await store.read { tx in
            (try tx.pool("pool-a"), try tx.host("h1"), try tx.evm("evm-1"), try tx.migration("m1"), try tx.joinToken("t1"))
        }
        #expect(read.0 == pool)
        #expect(read.1 == host)
        #expect(read.2 == evm)
        #expect(read.3 == migration)
        #expect(read.4 == token)
        #expect(try await harness.schemaVersion(store) == 6)
        // v6: host launches, found by id, pool and join token.
        var launch = HostLaunch(
            id: "l-1", poolID: "pool-a", provider: "ec2", joinTokenID: "t1", requestedAt: epoch, instanceType: "m5.metal")
        launch.machineID = "i-1"
        try await store.write { [launch] in try $0.save(launch) }
        let launches = try await store.read { tx in
            (
                try tx.hostLaunch("l-1"), try tx.hostLaunches(pool: "pool-a"), try tx.hostLaunches(pool: "other"),
                try tx.hostLaunch(joinToken: "t1")
            )
        }
        #expect(launches.0 == launch && launches.1 == [launch] && launches.2.isEmpty && launches.3 == launch)
        let credential = AgentCredential(hostID: "h1", secretHash: "abc123", issuedAt: Date(timeIntervalSince1970: 0))
        try await store.write { try $0.save(credential) }
        #expect(try await store.read { try $0.credential(secretHash: "abc123") } == credential)
        #expect(try await store.read { try $0.credential(secretHash: "other") } == nil)
        if let sqlite = store as? SQLiteStore {
            #expect(try sqlite.integrityCheck() == ["ok"])
            #expect(try sqlite.journalMode() == "wal")
        }
    }

    @Test(arguments: storeKinds) func filtersSelectTheRightEVMsAndMigrations(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        try await store.write { tx in
            for index in 0..<6 {
                let phase: EVMPhase = index % 2 == 0 ? .running : .creating
                let pool = index < 4 ? "a" : "b"
                try tx.save(
                    EVM(
                        id: "e\(index)", poolID: pool, hostID: "h\(index % 3)", shape: shape, phase: phase, nodeName: "n\(index)",
                        createdAt: epoch))
            }
            try tx.save(
                Migration(id: "m1", evmID: "e0", from: "h0", to: "h1", reason: .balance, bytes: 1, state: .completed, createdAt: epoch))
            try tx.save(
                Migration(id: "m2", evmID: "e1", from: "h1", to: "h2", reason: .balance, bytes: 1, state: .running, createdAt: epoch))
        }
        let (byPool, byHost, byPhase, combined, none) = try await store.read { tx in
            (
                try tx.evms(EVMFilter(poolID: "a")).map(\.id),
                try tx.evms(EVMFilter(hostID: "h0")).map(\.id),
                try tx.evms(EVMFilter(phases: [.creating])).map(\.id),
                try tx.evms(EVMFilter(poolID: "a", phases: [.running, .creating])).map(\.id),
                try tx.evms(EVMFilter(phases: [])).map(\.id)
            )
        }
        #expect(byPool == ["e0", "e1", "e2", "e3"])
        #expect(byHost == ["e0", "e3"])
        #expect(byPhase == ["e1", "e3", "e5"])
        #expect(combined == ["e0", "e1", "e2", "e3"])
        #expect(none.isEmpty)
        let (onH1, running) = try await store.read { tx in
            (try tx.migrations(MigrationFilter(hostID: "h1")).map(\.id), try tx.migrations(MigrationFilter(states: [.running])).map(\.id))
        }
        #expect(onH1 == ["m1", "m2"])
        #expect(running == ["m2"])
    }

    @Test(arguments: storeKinds) func deletesReportWhetherSomethingWasThere(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        let results = try await store.write { tx in
            try tx.save(Pool(id: "p", shape: shape, createdAt: epoch))
            return (try tx.deletePool("p"), try tx.deletePool("p"), try tx.deleteEVM("nope"))
        }
        #expect(results == (true, false, false))
        #expect(try await store.read { try $0.pools() }.isEmpty)
    }

    @Test(arguments: storeKinds) func aThrowingTransactionLeavesNothingBehind(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await store.write { tx in
                try tx.save(Pool(id: "p", shape: shape, createdAt: epoch))
                try tx.append(Event(time: epoch, object: ObjectRef(.pool, "p"), reason: "Created", message: "x"))
                try tx.bumpRevision("host/h1")
                throw Boom()
            }
        }
        let (pools, events, revision) = try await store.read { tx in
            (try tx.pools(), try tx.events(EventFilter()), try tx.revision("host/h1"))
        }
        #expect(pools.isEmpty)
        #expect(events.isEmpty)
        #expect(revision == 0)
    }

    @Test(arguments: storeKinds) func eventsAreOrderedFilteredAndLimited(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        try await store.write { tx in
            for index in 0..<10 {
                let object = ObjectRef(index % 2 == 0 ? .host : .evm, "x\(index % 2)")
                try tx.append(Event(time: epoch + Double(index), object: object, reason: "R\(index)", message: "m\(index)"))
            }
        }
        let (all, hostOnly, lastThree, after) = try await store.read { tx in
            (
                try tx.events(EventFilter()),
                try tx.events(EventFilter(object: ObjectRef(.host, "x0"))),
                try tx.events(EventFilter(limit: 3)),
                try tx.events(EventFilter(after: 8))
            )
        }
        #expect(all.map(\.reason) == (0..<10).map { "R\($0)" })
        #expect(all.map(\.id) == Array(1...10))
        #expect(hostOnly.map(\.reason) == ["R0", "R2", "R4", "R6", "R8"])
        #expect(lastThree.map(\.reason) == ["R7", "R8", "R9"])
        #expect(after.map(\.reason) == ["R8", "R9"])
    }

    @Test(arguments: storeKinds) func revisionsCountChanges(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        let values = try await store.write { tx in
            [try tx.bumpRevision("host/a"), try tx.bumpRevision("host/a"), try tx.bumpRevision("host/b")]
        }
        #expect(values == [1, 2, 1])
        #expect(try await store.read { try $0.revision("host/a") } == 2)
    }

    /// Check-and-allocate inside one transaction: 100 concurrent writers never push a host past its limit.
    @Test(arguments: storeKinds) func concurrentAllocationsNeverExceedTheLimit(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        let limit = Resources(cpuMillis: 40_000, memoryBytes: .gibibytes(160))  // room for exactly 10 EVMs
        try await store.write { tx in
            try tx.save(Host(id: "h1", poolID: "p", capacity: limit))
        }
        let placed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<100 {
                group.addTask {
                    try await store.write { tx in
                        guard var host = try tx.host("h1") else { return false }
                        guard (host.allocated + shape.resources).fits(in: host.capacity) else { return false }
                        host.allocated += shape.resources
                        try tx.save(host)
                        try tx.save(EVM(id: "e\(index)", poolID: "p", hostID: "h1", shape: shape, nodeName: "n\(index)", createdAt: epoch))
                        return true
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(placed == 10)
        let (host, evms) = try await store.read { tx in (try tx.host("h1"), try tx.evms(EVMFilter(hostID: "h1"))) }
        #expect(evms.count == 10)
        #expect(host?.allocated == shape.resources * 10)
    }

    @Test func unopenablePathNamesTheFile() {
        do {
            _ = try SQLiteStore(path: "/proc/definitely/not/here.sqlite")
            Issue.record("opened an impossible path")
        } catch let error as StoreError {
            #expect(error.description.contains("/proc/definitely/not/here.sqlite"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite struct RevisionWaitTests {
    @Test(arguments: storeKinds) func answersAtOnceWhenTheRevisionAlreadyDiffers(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open()
        _ = try await store.write { try $0.bumpRevision("host/a") }
        #expect(try await store.waitForRevision("host/a", differentFrom: 0, timeout: .seconds(30)) == 1)
    }

    /// A rolled-back bump and another scope's bump leave the revision unchanged, so the waiter keeps waiting
    /// (an early wake-up would only re-read); the committed bump ends the wait with the new revision. The store's
    /// clock does not move, so the 30 s timeout cannot end the wait instead.
    @Test(arguments: storeKinds) func waitsThroughOtherChangesAndWakesOnTheCommittedBump(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open(clock: ManualClock())
        let waiter = Task { try await store.waitForRevision("host/a", differentFrom: 0, timeout: .seconds(30)) }
        #expect(try await eventually(timeout: .seconds(120)) { store.waiterCount == 1 })
        struct Abort: Error {}
        _ = try? await store.write { tx -> Int64 in
            try tx.bumpRevision("host/a")
            throw Abort()
        }
        _ = try await store.write { try $0.bumpRevision("host/b") }  // another scope wakes nobody here
        #expect(store.waiterCount == 1, "woken by a rolled-back bump or another scope")
        _ = try await store.write { try $0.bumpRevision("host/a") }
        #expect(try await waiter.value == 1)
    }

    /// The timeout runs on the store's clock: not a millisecond early, then the unchanged revision.
    @Test(arguments: storeKinds) func returnsTheUnchangedRevisionAfterTheTimeout(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let clock = ManualClock()
        let store = try await harness.open(clock: clock)
        let waiter = Task { try await store.waitForRevision("host/a", differentFrom: 0, timeout: .seconds(30)) }
        try await clock.waitForSleepers(1)
        clock.advance(by: .seconds(30) - .milliseconds(1))
        #expect(store.waiterCount == 1, "the wait ended before its timeout")
        clock.advance(by: .milliseconds(1))
        #expect(try await waiter.value == 0)
    }

    @Test(arguments: storeKinds) func cancellationEndsTheWait(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let store = try await harness.open(clock: ManualClock())
        let waiter = Task { try await store.waitForRevision("host/a", differentFrom: 0, timeout: .seconds(60)) }
        #expect(try await eventually(timeout: .seconds(120)) { store.waiterCount == 1 })
        waiter.cancel()
        // A cancelled long poll ends (the clock never moves, so nothing else can end it): with the unchanged
        // revision or with CancellationError.
        let result = try? await waiter.value
        #expect(result == nil || result == 0)
    }

    /// Cancellation racing the waiter's registration (a service stopped just as it starts waiting) must still end
    /// the wait: before the fix, a cancel that came first was lost and the wait slept forever, which hung every
    /// graceful shutdown that caught a loop there.
    @Test func cancellationAtAnyMomentEndsTheWait() async throws {
        let notifier = RevisionNotifier()
        actor Progress {
            var done = false
            func finish() { done = true }
        }
        let progress = Progress()
        // Unstructured, so a wait that never returns fails the test instead of hanging it.
        Task {
            for round in 0..<1000 {
                let waiter = Task { await notifier.wait("host/a", since: 0, timeout: .seconds(600)) }
                if round % 3 == 1 { await Task.yield() }
                waiter.cancel()
                await waiter.value
            }
            await progress.finish()
        }
        // Generous: the rounds share two cores with the whole suite; a lost cancellation hangs forever, not for minutes.
        let finished = try await eventually(timeout: .seconds(300)) { await progress.done }
        #expect(finished, "a cancelled wait never returned")
    }
}
