import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Synchronization
import Testing

/// What only a shared PostgreSQL store does: replicas on one database see each other's commits, wake each
/// other's long polls, and migrate the schema once when they start together.
@Suite struct PostgresStoreTests {
    @Test func aCommitThroughOneReplicaWakesALongPollOnAnother() async throws {
        let harness = try StoreHarness(.postgres)
        let (follower, leader) = (try await harness.open(clock: ManualClock()), try await harness.open())
        let waiter = Task { try await follower.waitForRevision("host/a", differentFrom: 0, timeout: .seconds(30)) }
        #expect(try await eventually(timeout: .seconds(120)) { follower.waiterCount == 1 })
        _ = try await leader.write { try $0.bumpRevision("host/b") }
        _ = try await leader.write { tx in
            try tx.save(Pool(id: "p", shape: shape, createdAt: epoch))
            return try tx.bumpRevision("host/a")
        }
        // The follower's clock never moves: only the NOTIFY can end its wait.
        #expect(try await waiter.value == 1)
        #expect(try await follower.read { try $0.pool("p") } != nil)
    }

    /// PostgreSQL crashes and comes back while a replica writes without pause: while it is down writes fail as
    /// unavailable (what the API answers 503 to), never as anything else; once it is back writes go on through
    /// the same stores, every acknowledged commit is there, and a follower's long poll is woken by the leader's
    /// commit again (its LISTEN connection subscribed anew). A statement in flight when the server dies can go
    /// unanswered for ever; the store gives it up after `statementDeadline` (30 s), so the wait for three
    /// failures allows for that.
    @Test func aCrashedServerComesBackWithEveryAcknowledgedCommitAndWakeUps() async throws {
        let server = try TestPostgresServer()
        defer { server.destroy() }
        let harness = try StoreHarness(.postgres, server: server.url)
        let (leader, follower) = (try await harness.open(), try await harness.open(clock: ManualClock()))
        let tally = LoadTally()
        let load = Task {
            var next = 0
            while !Task.isCancelled {
                next += 1
                let id = "pool-\(next)"
                do {
                    _ = try await leader.write { tx in
                        try tx.save(Pool(id: id, shape: shape, createdAt: epoch))
                        return try tx.bumpRevision("host/load")
                    }
                    tally.record { $0.acknowledged.append(id) }
                } catch is StoreUnavailable {
                    tally.record { $0.unavailable += 1 }
                } catch is CancellationError {
                    break
                } catch {
                    tally.record { $0.otherFailures.append("\(id): \(error)") }
                }
                try? await Task.sleep(for: .milliseconds(5))  // paces the load; no assertion waits on it
            }
        }
        #expect(try await eventually(timeout: .seconds(60)) { tally.current.acknowledged.count >= 20 })
        try server.crash()
        #expect(try await eventually(timeout: .seconds(120)) { tally.current.unavailable >= 3 })
        let acknowledgedWhileDown = tally.current.acknowledged.count
        try server.start()
        #expect(
            try await eventually(timeout: .seconds(120)) { tally.current.acknowledged.count >= acknowledgedWhileDown + 20 },
            "writes did not resume after the restart: \(tally.current.unavailable) unavailable")

        let waiter = Task { try await follower.waitForRevision("host/after", differentFrom: 0, timeout: .seconds(60)) }
        #expect(try await eventually(timeout: .seconds(60)) { follower.waiterCount == 1 })
        _ = try await leader.write { try $0.bumpRevision("host/after") }
        #expect(try await waiter.value == 1)  // the follower's clock never moves: only a NOTIFY ends this wait

        load.cancel()
        await load.value
        let final = tally.current
        #expect(final.otherFailures.isEmpty, "\(final.otherFailures.prefix(5))")
        let stored = Set(try await follower.read { try $0.pools() }.map(\.id))
        let lost = final.acknowledged.filter { !stored.contains($0) }
        #expect(lost.isEmpty, "acknowledged but lost: \(lost)")
        await (leader as? PostgresStore)?.shutdown()
        await (follower as? PostgresStore)?.shutdown()
    }

    @Test func replicasStartingTogetherMigrateOnce() async throws {
        let harness = try StoreHarness(.postgres)
        let configuration = try PostgresStore.Configuration.parse(url: try #require(harness.postgresURL))
        let stores = try (0..<4).map { _ in try PostgresStore(configuration: configuration) }  // not prepared yet
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.prepare() } }
            try await group.waitForAll()
        }
        for store in stores { #expect(try await store.schemaVersion() == 6) }
    }

    @Test func urlsAreCheckedAndPasswordsNeverShown() throws {
        let parsed = try PostgresStore.Configuration.parse(
            url: "postgres://emp:s3cret@db.example:6543/emp?sslmode=verify-full&sslrootcert=/etc/emp/ca.pem")
        #expect(parsed.host == "db.example" && parsed.port == 6543 && parsed.database == "emp" && parsed.username == "emp")
        #expect(parsed.password == "s3cret" && parsed.sslMode == "verify-full" && parsed.caFile == "/etc/emp/ca.pem")
        #expect(!parsed.description.contains("s3cret"))
        let apart = try PostgresStore.Configuration.parse(url: "postgres://emp:inurl@db/emp", password: "fromfile")
        #expect(apart.password == "fromfile" && apart.sslMode == "disable")
        let bad: [(String, String)] = [
            ("mysql://emp@db/emp", "is not postgres://"),
            ("postgres://emp:pw@db", "no database name"),
            ("postgres://db/emp", "no user"),
            ("postgres://emp@db/emp?sslmode=allow", "sslmode \"allow\""),
            ("postgres://emp@db/emp?sslmode=verify-full", "needs sslrootcert"),
            ("postgres://emp@db/emp?timeout=3", "unknown parameter \"timeout\""),
        ]
        for (url, expected) in bad {
            #expect(throws: StoreError.self, "\(url)") { try PostgresStore.Configuration.parse(url: url) }
            do {
                _ = try PostgresStore.Configuration.parse(url: url)
            } catch {
                #expect("\(error)".contains(expected), "\(error)")
                #expect(!"\(error)".contains("pw@"), "the password leaked: \(error)")
            }
        }
    }

    @Test func anUnreachableServerIsUnavailableNotABug() async throws {
        var configuration = try PostgresStore.Configuration.parse(url: "postgres://emp@127.0.0.1:1/emp")
        configuration.maxConnections = 2
        configuration.acquireTimeout = .seconds(1)
        let store = try PostgresStore(configuration: configuration)
        do {
            _ = try await store.write { try $0.bumpRevision("x") }
            Issue.record("wrote to a server that is not there")
        } catch let error as StoreUnavailable {
            #expect(error.cause.contains("127.0.0.1:1"), "\(error)")
        }
        await store.shutdown()
    }

    /// The lease: one holder at a time, renewals keep the token, a takeover after expiry raises it, and a deposed
    /// holder's late write is refused (and every one after it) while the new holder's lands.
    @Test func aDeposedLeadersLateWriteIsRefused() async throws {
        let harness = try StoreHarness(.postgres)
        let (old, new) = (try await harness.open() as! PostgresStore, try await harness.open() as! PostgresStore)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let first = try #require(try await old.acquireLease(holder: "cp-1", address: "http://cp-1", ttl: .seconds(10), now: start))
        #expect(first.token == 1)
        #expect(try await new.acquireLease(holder: "cp-2", address: "http://cp-2", ttl: .seconds(10), now: start + 5) == nil)
        let renewed = try #require(try await old.acquireLease(holder: "cp-1", address: "http://cp-1", ttl: .seconds(10), now: start + 8))
        #expect(renewed.token == 1 && renewed.expiresAt == start + 18)
        old.fence(renewed)
        try await old.write { try $0.save(Pool(id: "before", shape: shape, createdAt: epoch)) }
        // cp-1 stalls (SIGSTOP, a long GC, a partition) past its expiry; cp-2 takes over.
        let taken = try #require(try await new.acquireLease(holder: "cp-2", address: "http://cp-2", ttl: .seconds(10), now: start + 19))
        #expect(taken.token == 2)
        new.fence(taken)
        do {
            try await old.write { try $0.save(Pool(id: "late", shape: shape, createdAt: epoch)) }
            Issue.record("the deposed leader's write landed")
        } catch let error as NotLeader {
            #expect(error.leader == "http://cp-2")
        }
        await #expect(throws: NotLeader.self) { try await old.write { try $0.save(Pool(id: "later", shape: shape, createdAt: epoch)) } }
        try await new.write { try $0.save(Pool(id: "after", shape: shape, createdAt: epoch)) }
        #expect(try await new.read { try $0.pools().map(\.id) } == ["after", "before"])
        #expect(try await new.leader()?.holder == "cp-2")
        // A clean stop hands the lease over at once.
        try await new.releaseLease(taken)
        let next = try #require(try await old.acquireLease(holder: "cp-1", address: "http://cp-1", ttl: .seconds(10), now: start + 20))
        #expect(next.token == 3)
    }
}

/// What a load loop saw, read by the test while the loop runs.
private final class LoadTally: Sendable {
    struct Counts {
        var acknowledged: [String] = []
        var unavailable = 0
        var otherFailures: [String] = []
    }
    private let counts = Mutex(Counts())
    var current: Counts { counts.withLock { $0 } }
    func record(_ change: (inout Counts) -> Void) { counts.withLock { change(&$0) } }
}
