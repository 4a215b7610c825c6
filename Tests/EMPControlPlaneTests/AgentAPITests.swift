import EMPModel
import EMPScheduling
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOFoundationCompat
import Testing

@testable import EMPControlPlane

let inventory = HostInventory(
    hostname: "bm-1.example.net", cores: 64, memoryBytes: .gibibytes(256), cpuModel: "x86_64",
    hostUUID: "00000000-0000-4000-8000-000000000001",
    libvirtVersion: "9.0.0", hypervisorVersion: "7.2.0"
)

struct TokenWire: Decodable {
    let id: String
    let token: String
}

struct JoinWire: Decodable {
    let hostID: String
    let poolID: String
    let credential: String
}

extension APIFixture {
    func createToken(_ client: some TestClientProtocol, pool: String = "pool-a") async throws -> String {
        let response = try await client.execute(uri: "/v1/pools/\(pool)/tokens", method: .post, headers: auth, body: body("{}"))
        #expect(response.status == .created)
        return try decode(TokenWire.self, response).token
    }

    func join(_ client: some TestClientProtocol, token: String, hostID: String? = nil) async throws -> TestResponse {
        let request = JoinRequest(token: token, hostID: hostID, inventory: inventory)
        return try await client.execute(uri: "/v1/agent/join", method: .post, body: ByteBuffer(data: try JSONEncoder().encode(request)))
    }
}

func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)"] }

@Suite struct AgentAPITests {
    @Test func joinIssuesACredentialOnceAndRegistersTheHost() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let token = try await fixture.createToken(client)
            let joined = try await fixture.join(client, token: token)
            #expect(joined.status == .created)
            let identity = try decode(JoinWire.self, joined)
            #expect(identity.hostID == "bm-1")
            #expect(identity.poolID == "pool-a")
            #expect(identity.credential.hasPrefix("emph_"))
            // One-time: the same token cannot join again.
            let again = try await fixture.join(client, token: token, hostID: "bm-2")
            #expect(again.status == .unauthorized)
            #expect(try decode(ErrorBody.self, again).message.contains("already used"))
            let host = try await client.execute(uri: "/v1/hosts/bm-1", method: .get, headers: fixture.auth)
            #expect(try decode(HostWire.self, host).id == "bm-1")
        }
        let host = try #require(try await fixture.built.store.read { try $0.host("bm-1") })
        #expect(host.capacity == Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)))
        #expect(host.inventory?.hostUUID == inventory.hostUUID)
    }

    @Test func aHostIDThatIsNotADNSLabelIsRefusedByName() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let response = try await fixture.join(client, token: try await fixture.createToken(client), hostID: "Bad_Host")
            #expect(response.status == .badRequest)
            let error = try decode(ErrorBody.self, response)
            #expect(error.field == "hostID")
            #expect(error.message.contains("lowercase letters, digits and '-'"))
        }
        #expect(try await fixture.built.store.read { try $0.hosts().count } == 0)
    }

    @Test func expiredRevokedAndForgedTokensAreRefused() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let token = try await fixture.createToken(client)
            let id = String(token.split(separator: ".")[0])
            let forged = try await fixture.join(client, token: "\(id).\(String(repeating: "0", count: 64))")
            #expect(forged.status == .unauthorized)
            let malformed = try await fixture.join(client, token: "nodot")
            #expect(malformed.status == .unauthorized)
            let revoke = try await client.execute(uri: "/v1/tokens/\(id)", method: .delete, headers: fixture.auth)
            #expect(revoke.status == .ok)
            let revoked = try await fixture.join(client, token: token)
            #expect(revoked.status == .unauthorized)
            let listed = try await client.execute(uri: "/v1/tokens?pool=pool-a", method: .get, headers: fixture.auth)
            let body = String(buffer: listed.body)
            #expect(body.contains("\"revoked\":true"))
            #expect(!body.contains("secretHash"))
            let badTTL = try await client.execute(
                uri: "/v1/pools/pool-a/tokens", method: .post, headers: fixture.auth, body: fixture.body(#"{"ttlSeconds":0}"#))
            #expect(try decode(ErrorBody.self, badTTL).field == "ttlSeconds")
        }
        #expect(try await fixture.built.store.read { try $0.hosts().count } == 0)
    }

    /// Expiry runs on the control plane's clock: a 60 s token joins at 59.999 s and is refused at 60 s.
    @Test func aTokenExpiresAtItsTTL() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            func token() async throws -> String {
                let response = try await client.execute(
                    uri: "/v1/pools/pool-a/tokens", method: .post, headers: fixture.auth, body: fixture.body(#"{"ttlSeconds":60}"#))
                return try decode(TokenWire.self, response).token
            }
            let early = try await token()
            let late = try await token()
            fixture.clock.advance(by: .seconds(60) - .milliseconds(1))
            #expect(try await fixture.join(client, token: early, hostID: "bm-early").status == .created)
            fixture.clock.advance(by: .milliseconds(1))
            let refused = try await fixture.join(client, token: late, hostID: "bm-late")
            #expect(refused.status == .unauthorized)
            #expect(try decode(ErrorBody.self, refused).message.contains("expired"))
        }
    }

    @Test func desiredStateLongPollsAndReportsMoveEVMsThroughTheirPhases() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.live) { client in
            let identity = try decode(JoinWire.self, try await fixture.join(client, token: try await fixture.createToken(client)))
            let agent = bearer(identity.credential)
            let initial = try decode(
                DesiredState.self, try await client.execute(uri: "/v1/agent/hosts/bm-1/desired?wait=0", method: .get, headers: agent))
            #expect(initial.evms.isEmpty)

            // A waiting poll returns as soon as EVMs are placed on the host. (The test client has one
            // connection, so the placement is made in-process while the poll waits.) The fixture's clock does not
            // move, so the poll's 30 s can never run out: only the change can answer it.
            async let waited = client.execute(
                uri: "/v1/agent/hosts/bm-1/desired?revision=\(initial.revision)&wait=30", method: .get, headers: agent)
            #expect(try await eventually { fixture.built.store.waiterCount == 1 })
            let placed = try await EVMPlacement(store: fixture.built.store, expectedUseFraction: 0.25).create(
                count: 2, poolID: "pool-a", at: APIFixture.epoch)
            #expect(placed.count == 2)
            let desired = try decode(DesiredState.self, try await waited)
            #expect(desired.revision > initial.revision)
            #expect(desired.evms.count == 2)
            #expect(desired.evms.allSatisfy { $0.phase == .creating })

            // The agent reports both running: they become running.
            let report = HostReport(
                used: Resources(cpuMillis: 2000, memoryBytes: .gibibytes(10)),
                domains: desired.evms.map { DomainReport(evmID: $0.id, running: true, rssBytes: .gibibytes(1)) }
            )
            let reported = try await client.execute(
                uri: "/v1/agent/hosts/bm-1/report", method: .post, headers: agent, body: ByteBuffer(data: try JSONEncoder().encode(report)))
            #expect(reported.status == .ok)
            let running = try await client.execute(uri: "/v1/evms?phase=running", method: .get, headers: fixture.auth)
            #expect(try decode([EVMWire].self, running).count == 2)

            // The snapshot (what `empctl whatif` reads) carries sizes, RSS and the host's policy.
            let snapshot = try decode(
                Snapshot.self, try await client.execute(uri: "/v1/snapshot?pool=pool-a", method: .get, headers: fixture.auth))
            #expect(snapshot.hosts.map(\.id) == ["bm-1"])
            #expect(snapshot.hosts.first?.memoryOvercommit == 1.5)
            #expect(snapshot.evms.count == 2)
            #expect(snapshot.evms.allSatisfy { $0.used.memoryBytes == .gibibytes(1) && $0.hostID == "bm-1" })
            let unknownPool = try await client.execute(uri: "/v1/snapshot?pool=nope", method: .get, headers: fixture.auth)
            #expect(unknownPool.status == .notFound)

            // Delete one; once the agent no longer reports its domain, the record and its allocation go.
            let victim = desired.evms[0].id
            _ = try await client.execute(uri: "/v1/evms/\(victim)", method: .delete, headers: fixture.auth)
            let remaining = HostReport(used: report.used, domains: [report.domains[1]])
            _ = try await client.execute(
                uri: "/v1/agent/hosts/bm-1/report", method: .post, headers: agent,
                body: ByteBuffer(data: try JSONEncoder().encode(remaining)))
            let gone = try await client.execute(uri: "/v1/evms/\(victim)", method: .get, headers: fixture.auth)
            #expect(gone.status == .notFound)
        }
        let host = try #require(try await fixture.built.store.read { try $0.host("bm-1") })
        #expect(host.allocated == EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)).resources)
        #expect(host.used == Resources(cpuMillis: 2000, memoryBytes: .gibibytes(10)))
        try await checkAllocations(fixture.built.store)
    }
}

extension AgentAPITests {
    /// A report that takes a host over its pool's watermark wakes the rebalancer (issue 23) instead of leaving the
    /// hot host to its next interval; staying hot, or staying cool, wakes nothing.
    @Test func aHostCrossingItsWatermarkWakesTheRebalancer() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.live) { client in
            let identity = try decode(JoinWire.self, try await fixture.join(client, token: try await fixture.createToken(client)))
            let store = fixture.built.store
            func report(memoryGiB: Int64) async throws -> Int64 {
                let body = HostReport(used: Resources(cpuMillis: 1000, memoryBytes: .gibibytes(memoryGiB)), domains: [])
                let response = try await client.execute(
                    uri: "/v1/agent/hosts/\(identity.hostID)/report", method: .post, headers: bearer(identity.credential),
                    body: ByteBuffer(data: try JSONEncoder().encode(body)))
                #expect(response.status == .ok)
                return try await store.read { try $0.revision(RebalanceRevision.scope) }
            }
            // 256 GiB host, watermark 0.8: over 204.8 GiB is hot.
            let cool = try await report(memoryGiB: 100)
            #expect(try await report(memoryGiB: 200) == cool)
            let hot = try await report(memoryGiB: 230)
            #expect(hot > cool)
            #expect(try await report(memoryGiB: 240) == hot)
            #expect(try await report(memoryGiB: 120) == hot)
            #expect(try await report(memoryGiB: 250) > hot)
        }
    }
}

/// Every endpoint with no token, a wrong token, an agent credential on operator endpoints, and host A's
/// credential on host B's endpoints: all refused, nothing changed.
@Suite struct SecurityMatrixTests {
    @Test func everyEndpointRefusesTheWrongCaller() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let a = try decode(
                JoinWire.self, try await fixture.join(client, token: try await fixture.createToken(client), hostID: "host-a"))
            let b = try decode(
                JoinWire.self, try await fixture.join(client, token: try await fixture.createToken(client), hostID: "host-b"))
            #expect(a.hostID == "host-a" && b.hostID == "host-b")
            let before = try await fixture.built.store.read { tx in
                (try tx.pools(), try tx.hosts(), try tx.evms(.all), try tx.joinTokens(pool: nil))
            }
            let eventsBefore = try await fixture.built.store.read { try $0.events(EventFilter(limit: 10_000)).count }

            let operatorEndpoints: [(HTTPRequest.Method, String, String)] = [
                (.get, "/v1/pools", ""), (.post, "/v1/pools", #"{"id":"x","shape":{"vcpus":1,"memory":"1Gi"}}"#),
                (.get, "/v1/pools/pool-a", ""), (.delete, "/v1/pools/pool-a", ""),
                (.get, "/v1/hosts", ""), (.get, "/v1/hosts/host-a", ""), (.post, "/v1/hosts/host-a/cordon", ""),
                (.post, "/v1/hosts/host-a/uncordon", ""), (.post, "/v1/hosts/host-a/maintenance", #"{"enabled":true}"#),
                (.post, "/v1/pools/pool-a/evms", #"{"count":1}"#), (.get, "/v1/evms", ""), (.get, "/v1/evms/x", ""),
                (.delete, "/v1/evms/x", ""), (.post, "/v1/pools/pool-a/tokens", "{}"), (.get, "/v1/tokens", ""),
                (.delete, "/v1/tokens/x", ""), (.get, "/v1/events", ""), (.get, "/v1/snapshot", ""),
            ]
            for (method, uri, body) in operatorEndpoints {
                for headers in [HTTPFields(), bearer("wrong"), bearer(a.credential)] {
                    let response = try await client.execute(uri: uri, method: method, headers: headers, body: fixture.body(body))
                    #expect(response.status == .unauthorized, "\(method) \(uri) answered \(response.status)")
                }
            }
            let report = #"{"used":{"cpuMillis":1,"memoryBytes":1},"domains":[]}"#
            let agentEndpoints: [(HTTPRequest.Method, String, String)] = [
                (.get, "/v1/agent/hosts/host-b/desired?wait=0", ""), (.post, "/v1/agent/hosts/host-b/report", report),
            ]
            for (method, uri, body) in agentEndpoints {
                for (headers, expected) in [
                    (HTTPFields(), HTTPResponse.Status.unauthorized), (bearer("wrong"), .unauthorized),
                    (fixture.auth, .unauthorized), (bearer(a.credential), .forbidden),
                ] {
                    let response = try await client.execute(uri: uri, method: method, headers: headers, body: fixture.body(body))
                    #expect(response.status == expected, "\(method) \(uri) answered \(response.status)")
                }
            }
            // The owner itself gets through.
            let own = try await client.execute(uri: "/v1/agent/hosts/host-b/desired?wait=0", method: .get, headers: bearer(b.credential))
            #expect(own.status == .ok)

            let after = try await fixture.built.store.read { tx in
                (try tx.pools(), try tx.hosts(), try tx.evms(.all), try tx.joinTokens(pool: nil))
            }
            #expect(after.0 == before.0)
            #expect(after.1 == before.1)
            #expect(after.2 == before.2)
            #expect(after.3 == before.3)
            #expect(try await fixture.built.store.read { try $0.events(EventFilter(limit: 10_000)).count } == eventsBefore)
        }
    }
}
