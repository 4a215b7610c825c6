import AsyncHTTPClient
import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import Testing

@testable import EMPControlPlane

/// Replicas of the control plane on one PostgreSQL database, on one manual clock: one leads, the others answer
/// reads and send writers to it, and one takes over when the leader goes.
@Suite struct HATests {
    /// One replica: its API on a port chosen before it starts (its advertised URL must name it).
    struct Replica {
        let id: String
        let url: String
        let built: ControlPlane.Built
        let serving: ServingTask

        var leadership: Leadership { built.leadership! }

        static func start(_ id: String, database: String, clock: ManualClock) async throws -> Replica {
            let port = try freeLoopbackPort()
            let dir = try TemporaryDirectory()
            var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: [APIFixture.token])
            configuration.host = "127.0.0.1"
            configuration.port = port
            configuration.rebalancer.enabled = false
            configuration.postgres = try PostgresStore.Configuration.parse(url: database)
            configuration.replicaID = id
            configuration.advertiseURL = "http://127.0.0.1:\(port)"
            let built = try ControlPlane.build(configuration: configuration, logger: Logger(label: id), clock: clock)
            let replica = Replica(id: id, url: "http://127.0.0.1:\(port)", built: built, serving: ServingTask(built.service))
            _ = try await eventually { (try? await replica.call(.GET, "/healthz").status) == 200 }
            return replica
        }

        func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> (status: Int, body: String, leader: String?)
        {
            var request = HTTPClientRequest(url: url + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(APIFixture.token)")
            if let body { request.body = .bytes(ByteBuffer(string: body)) }
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            return (Int(response.status.code), text, response.headers.first(name: "EMP-Leader"))
        }
    }

    /// Steps the clock by the renewal interval until `condition` holds (each step lets every election run once).
    static func advance(_ clock: ManualClock, until condition: () -> Bool) async throws -> Bool {
        for _ in 0..<20 {
            if condition() { return true }
            clock.advance(by: .seconds(2))
            _ = try await eventually(timeout: .seconds(2)) { condition() }
        }
        return condition()
    }

    @Test func oneLeadsFollowersReadAndSendWritersOnAndTheOtherTakesOver() async throws {
        let database = try TestPostgres.freshDatabase()
        let clock = ManualClock(epoch: APIFixture.epoch)
        let a = try await Replica.start("cp-a", database: database, clock: clock)
        let b = try await Replica.start("cp-b", database: database, clock: clock)
        #expect(try await eventually { [a, b].filter { $0.leadership.isLeader }.count == 1 })
        let (leader, follower) = a.leadership.isLeader ? (a, b) : (b, a)
        #expect(try await eventually { follower.leadership.leaderAddress == leader.url })

        // Writes: the follower refuses with the leader's address; the leader takes them; both read them.
        let pool = #"{"id":"pool-a","shape":{"vcpus":2,"memory":"8Gi"}}"#
        let refused = try await follower.call(.POST, "/v1/pools", pool)
        #expect(refused.status == 503 && refused.body.contains("\"not_leader\"") && refused.leader == leader.url)
        #expect(try await leader.call(.POST, "/v1/pools", pool).status == 201)
        #expect(try await follower.call(.GET, "/v1/pools/pool-a").status == 200)
        #expect(try await follower.call(.GET, "/readyz").body.contains("role: follower of \(leader.url)"))
        #expect(try await leader.call(.GET, "/readyz").body.contains("role: leader"))
        #expect(try await leader.call(.GET, "/leaderz").status == 200)
        #expect(try await follower.call(.GET, "/leaderz").status == 503)

        // An agent given both URLs, the follower's first, joins: it follows the refusal to the leader.
        let token = try JSONDecoder().decode(
            TokenWire.self, from: Data(try await leader.call(.POST, "/v1/pools/pool-a/tokens", "{}").body.utf8))
        let agent = ControlPlaneClient(http: .shared, baseURL: "\(follower.url),\(leader.url)")
        let joined = try await agent.join(JoinRequest(token: token.token, hostID: "h1", inventory: inventory))
        #expect(joined.hostID == "h1" && agent.baseURL == leader.url)

        // The leader stops: it hands the lease over, and the follower leads at its next round.
        await leader.serving.stop()
        #expect(try await Self.advance(clock) { follower.leadership.isLeader })
        #expect(try await follower.call(.POST, "/v1/pools", #"{"id":"pool-b","shape":{"vcpus":2,"memory":"8Gi"}}"#).status == 201)
        let events = try await follower.call(.GET, "/v1/events?kind=control-plane&id=\(follower.id)").body
        #expect(events.contains("LeaderElected") && events.contains("fencing token 2"))
        await follower.serving.stop()
    }

    /// A leader that dies without a word (kill -9) holds the lease until it expires: a replica takes over within
    /// the lease's length plus one renewal interval, with the next fencing token.
    @Test func aSilentLeadersLeaseExpiresAndAReplicaTakesOver() async throws {
        let database = try TestPostgres.freshDatabase()
        let clock = ManualClock(epoch: APIFixture.epoch)
        var ghostConfiguration = try PostgresStore.Configuration.parse(url: database)
        ghostConfiguration.maxConnections = 2
        let ghost = try PostgresStore(configuration: ghostConfiguration)
        _ = try await ghost.acquireLease(holder: "cp-dead", address: "http://dead", ttl: .seconds(10), now: clock.date)
        let b = try await Replica.start("cp-b", database: database, clock: clock)
        #expect(try await eventually { b.leadership.leaderAddress == "http://dead" })
        let started = clock.date
        #expect(try await Self.advance(clock) { b.leadership.isLeader })
        #expect(clock.date.timeIntervalSince(started) <= 12, "took over only after \(clock.date.timeIntervalSince(started)) s")
        if case .leader(let lease) = b.leadership.role { #expect(lease.token == 2) }
        await b.serving.stop()
        await ghost.shutdown()
    }

    /// The API's concurrent-create test on PostgreSQL: the write lane and SERIALIZABLE keep every host within its
    /// ratio and every allocation equal to its EVMs.
    @Test func concurrentCreatesNeverPushAHostPastItsRatioOnPostgres() async throws {
        try await EVMAPITests.concurrentCreates(on: .postgres)
    }

    /// A service that records its runs and, like the real loops, ends on a graceful shutdown.
    final class Recorder: Service, @unchecked Sendable {
        // @unchecked: counters behind a lock.
        let lock = NSLock()
        var started = 0
        var stopped = 0
        func run() async throws {
            lock.withLock { started += 1 }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
            lock.withLock { stopped += 1 }
        }
        var counts: (Int, Int) { lock.withLock { (started, stopped) } }
    }

    @Test func leaderOnlyLoopsRunWhileLeadingAndStopOnStepDown() async throws {
        let leadership = Leadership(replicaID: "cp-a", address: "http://a")
        let recorder = Recorder()
        let serving = ServingTask(LeaderOnly(recorder, leadership: leadership))
        #expect(try await eventually { leadership.waiterCount == 1 }, "the loop did not park")
        #expect(recorder.counts == (0, 0), "a follower ran a leader-only loop")
        let lease = Lease(holder: "cp-a", address: "http://a", token: 1, expiresAt: Date())
        leadership.set(.leader(lease))
        #expect(try await eventually { recorder.counts == (1, 0) })
        var renewed = lease
        renewed.expiresAt += 10
        leadership.set(.leader(renewed))  // a renewal is not a new leadership: the loop keeps running
        leadership.set(.follower(leader: "http://b"))
        #expect(try await eventually { recorder.counts == (1, 1) })
        leadership.set(.leader(Lease(holder: "cp-a", address: "http://a", token: 3, expiresAt: Date())))
        #expect(try await eventually { recorder.counts == (2, 1) })
        await serving.stop()
        #expect(recorder.counts == (2, 2))
    }
}
