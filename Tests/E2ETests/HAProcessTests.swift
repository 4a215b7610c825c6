import AsyncHTTPClient
import EMPModel
import EMPTesting
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// Three `emp-control-plane` processes on one PostgreSQL database (leases of 3 s), agents given all three URLs.
final class ControlPlaneReplicas: @unchecked Sendable {
    // @unchecked: changed only by the test that owns it, from one task.
    let dir: TemporaryDirectory
    let token = "ha-operator-token"
    let urls: [String]
    private(set) var processes: [ChildProcess?]
    private(set) var agents: [ChildProcess] = []
    private let arguments: [[String]]

    init(count: Int = 3) throws {
        dir = try TemporaryDirectory(prefix: "emp-ha")
        let database = try TestPostgres.freshDatabase()
        var urls: [String] = []
        var arguments: [[String]] = []
        for index in 1...count {
            let port = try freeLoopbackPort()
            let url = "http://127.0.0.1:\(port)"
            let config = dir.file("cp-\(index).yaml")
            try """
            store:
              type: postgres
              url: \(database)
            ha:
              replicaID: cp-\(index)
              advertiseURL: \(url)
              leaseSeconds: 3
            """.write(toFile: config, atomically: true, encoding: .utf8)
            urls.append(url)
            arguments.append([
                "--config", config, "--data-dir", dir.file("cp-\(index)"), "--listen", "127.0.0.1:\(port)", "--token", token,
                "--log-level", "warning",
            ])
        }
        self.urls = urls
        self.arguments = arguments
        processes = Array(repeating: nil, count: count)
    }

    func start(_ index: Int) async throws {
        let process = try ChildProcess(try BuiltProducts.executable("emp-control-plane"), arguments[index])
        processes[index] = process
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on") } }
    }

    func startAll() async throws {
        for index in urls.indices { try await start(index) }
    }

    func kill(_ index: Int, _ signal: Int32 = SIGKILL) {
        processes[index]?.kill(signal)
        processes[index] = nil
    }

    func startAgent(_ name: String, joinToken: String) throws {
        let hostFile = dir.file("\(name).xml")
        _ = try TestDriverHost.write(to: hostFile, cores: 64, memoryGiB: 256)
        agents.append(
            try ChildProcess(
                try BuiltProducts.executable("emp-agent"),
                [
                    "--control-plane", urls.joined(separator: ","), "--host-id", name, "--libvirt-uri", "test://\(hostFile)",
                    "--domain-type", "test", "--state-dir", dir.file("agent-\(name)"), "--report-interval", "0.2", "--poll-wait", "2",
                    "--log-level", "warning", "--join-token", joinToken,
                ]))
    }

    func stopAll() {
        for agent in agents { agent.kill() }
        for index in processes.indices { kill(index) }
    }

    /// One call to replica `index`: status, body, and the leader a refusal names.
    func call(_ index: Int, _ method: HTTPMethod, _ path: String, _ json: String? = nil) async throws -> (
        status: UInt, body: Data, leader: String?
    ) {
        var request = HTTPClientRequest(url: urls[index] + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (response.status.code, Data(buffer: body), response.headers.first(name: "EMP-Leader"))
    }

    /// A write sent to replica `index`, resent once to the leader a follower names.
    func write(_ index: Int, _ method: HTTPMethod, _ path: String, _ json: String) async throws -> (status: UInt, body: Data) {
        let first = try await call(index, method, path, json)
        guard first.status == 503, let leader = first.leader, let next = urls.firstIndex(of: leader) else {
            return (first.status, first.body)
        }
        let second = try await call(next, method, path, json)
        return (second.status, second.body)
    }

    /// The replica whose `/leaderz` answers 200, once exactly one does.
    func leader(among candidates: [Int]? = nil, timeout: Duration = .seconds(30)) async throws -> Int {
        let candidates = candidates ?? Array(urls.indices)
        var found: [Int] = []
        let settled = try await eventually(timeout: timeout) {
            found = []
            for index in candidates where self.processes[index] != nil {
                if (try? await self.call(index, .GET, "/leaderz").status) == 200 { found.append(index) }
            }
            return found.count == 1
        }
        guard settled, let leader = found.first else { throw TestSupportError("no single leader among \(candidates): \(found)") }
        return leader
    }

    func get<T: Decodable>(_ index: Int, _ type: T.Type, _ path: String) async throws -> T {
        let (status, body, _) = try await call(index, .GET, path)
        guard status == 200 else { throw TestSupportError("GET \(path): HTTP \(status) \(String(decoding: body, as: UTF8.self))") }
        return try WireJSON.decoder().decode(T.self, from: body)
    }
}

@Suite(.serialized) struct HAProcessTests {
    static let pool = #"{"id":"pool-a","shape":{"vcpus":2,"memory":"16Gi"},"policy":{"memoryOvercommit":1.5}}"#

    /// kill -9 of the leader during 100 concurrent creates sent to all three replicas: a follower leads within
    /// 15 s, every acknowledged EVM exists once, every host's allocation is the sum of its EVMs and within its
    /// limit, and the agents (given all three URLs) keep reporting to whoever leads.
    @Test func killingTheLeaderMidBurstLosesNothing() async throws {
        let set = try ControlPlaneReplicas()
        defer { set.stopAll() }
        try await set.startAll()
        let leader = try await set.leader()
        #expect(try await set.write((leader + 1) % 3, .POST, "/v1/pools", Self.pool).status == 201)
        struct Created: Decodable { let token: String }
        for name in ["host-1", "host-2"] {
            let (_, body) = try await set.write(leader, .POST, "/v1/pools/pool-a/tokens", "{}")
            try set.startAgent(name, joinToken: try WireJSON.decoder().decode(Created.self, from: body).token)
        }
        #expect(try await eventually { (try? await set.get(leader, [EMPModel.Host].self, "/v1/hosts").count) == 2 })

        let killedAt = ContinuousClock.now
        let created = try await withThrowingTaskGroup(of: [String].self) { group in
            for index in 0..<100 {
                group.addTask {
                    if index == 30 { set.kill(leader) }
                    guard let (status, body) = try? await set.write(index % 3, .POST, "/v1/pools/pool-a/evms", #"{"count":1}"#),
                        status == 201
                    else { return [] }
                    return try WireJSON.decoder().decode([EVM].self, from: body).map(\.id)
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let survivors = (0..<3).filter { $0 != leader }
        let next = try await set.leader(among: survivors, timeout: .seconds(15))
        #expect(ContinuousClock.now - killedAt < .seconds(20), "took \(ContinuousClock.now - killedAt) to lead again")

        let evms = try await set.get(next, [EVM].self, "/v1/evms")
        #expect(Set(evms.map(\.id)).count == evms.count, "an EVM is recorded twice")
        #expect(Set(created).isSubset(of: Set(evms.map(\.id))), "an acknowledged create was lost")
        let hosts = try await set.get(next, [EMPModel.Host].self, "/v1/hosts")
        for host in hosts {
            let sum = evms.filter { $0.hostID == host.id }.reduce(Resources.zero) { $0 + $1.shape.resources }
            #expect(host.allocated == sum, "host \(host.id): allocated \(host.allocated) but its EVMs sum to \(sum)")
            #expect(host.allocated.memoryBytes <= .gibibytes(384), "host \(host.id) past 1.5 × 256 GiB")
        }
        // The agents moved on to the new leader: their heartbeats there are newer than the takeover.
        let takeover = Date()
        #expect(
            try await eventually(timeout: .seconds(30)) {
                let hosts = (try? await set.get(next, [EMPModel.Host].self, "/v1/hosts")) ?? []
                return hosts.count == 2 && hosts.allSatisfy { $0.state == .ready && ($0.lastHeartbeat ?? .distantPast) > takeover }
            }, "an agent stopped reporting after the leader was killed")
    }

    /// SIGSTOP the leader until another leads, then SIGCONT: it finds the lease gone and steps down; the new leader's
    /// election is in the event log with the next fencing token.
    @Test func aStoppedLeaderStepsDownWhenItWakes() async throws {
        let set = try ControlPlaneReplicas(count: 2)
        defer { set.stopAll() }
        try await set.startAll()
        let leader = try await set.leader()
        let other = 1 - leader
        let stopped = try #require(set.processes[leader])
        Foundation.kill(stopped.pid, SIGSTOP)
        #expect(try await set.leader(among: [other], timeout: .seconds(15)) == other)
        Foundation.kill(stopped.pid, SIGCONT)
        #expect(try await eventually(timeout: .seconds(30)) { stopped.errorOutput.contains { $0.contains("stepped down") } })
        #expect(try await set.call(leader, .GET, "/leaderz").status == 503)
        let refused = try await set.call(leader, .POST, "/v1/pools", Self.pool)
        #expect(refused.status == 503 && refused.leader == set.urls[other])
        let events = try await set.get(other, [Event].self, "/v1/events?kind=control-plane&id=cp-\(other + 1)")
        #expect(events.contains { $0.reason == "LeaderElected" && $0.message.contains("fencing token 2") })
    }
}

/// The upgrade path: a store filled by the E2E flow on SQLite, copied with `emp-control-plane store copy`, read
/// back identical through a control plane on PostgreSQL; a second copy into the same database is refused.
@Suite(.serialized) struct StoreCopyProcessTests {
    @Test func aCopiedStoreServesTheSameObjectsAndASecondCopyIsRefused() async throws {
        let cluster = try Cluster()
        defer { cluster.stopAll() }
        try await cluster.startControlPlane()
        #expect(try await cluster.call(.POST, "/v1/pools", HAProcessTests.pool).status == 201)
        try cluster.startAgent("host-1", joinToken: try await cluster.joinToken(pool: "pool-a"))
        try await cluster.eventually("the host joined") { try await cluster.get([EMPModel.Host].self, "/v1/hosts").count == 1 }
        #expect(try await cluster.call(.POST, "/v1/pools/pool-a/evms", #"{"count":5}"#).status == 201)
        try await cluster.eventually("the EVMs run") {
            try await cluster.get([EVM].self, "/v1/evms").filter { $0.phase == .running }.count == 5
        }
        cluster.killAgent("host-1")
        let before = (
            try await cluster.get([EVM].self, "/v1/evms"), try await cluster.get([EMPModel.Host].self, "/v1/hosts"),
            try await cluster.get([Event].self, "/v1/events")
        )
        #expect(cluster.controlPlane?.stop().status == 0)

        let database = try TestPostgres.freshDatabase()
        let copy = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            ["store", "copy", "--from", "sqlite:\(cluster.dir.file("cp"))", "--to", "postgres:\(database)"])
        #expect(copy.wait() == 0, "\(copy.errorOutput)")
        #expect(copy.output.last?.contains("counts and checksums match") == true, "\(copy.output)")
        #expect(copy.output.contains { $0.hasPrefix("evm ") && $0.contains(" 5 rows") })

        let config = cluster.dir.file("pg.yaml")
        try "store: {type: postgres, url: \"\(database)\"}\nha: {replicaID: cp-pg}\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        cluster.controlPlaneArguments = ["--config", config]
        try await cluster.startControlPlane()
        try await cluster.eventually("it leads") { (try? await cluster.call(.GET, "/leaderz").status) == 200 }
        let after = (
            try await cluster.get([EVM].self, "/v1/evms"), try await cluster.get([EMPModel.Host].self, "/v1/hosts"),
            try await cluster.get([Event].self, "/v1/events")
        )
        #expect(after.0 == before.0)
        #expect(after.1.map(\.id) == before.1.map(\.id) && after.1.map(\.allocated) == before.1.map(\.allocated))
        #expect(Array(after.2.prefix(before.2.count)) == before.2)

        let again = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            ["store", "copy", "--from", "sqlite:\(cluster.dir.file("cp"))", "--to", "postgres:\(database)"])
        #expect(again.wait() != 0)
        #expect(again.errorOutput.joined().contains("not empty"), "\(again.errorOutput)")
    }
}
