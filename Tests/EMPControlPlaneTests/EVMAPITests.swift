import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// A pool with memory overcommit 1.5 and 2 vCPU / 16 GiB EVMs, on `hostCount` hosts of 64 cores / 256 GiB.
func seedPool(_ fixture: APIFixture, hostCount: Int, maxEVMs: Int = 1000) async throws {
    try await fixture.built.store.write { tx in
        try tx.save(
            Pool(
                id: "pool-a",
                shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)),
                policy: PoolPolicy(memoryOvercommit: 1.5, maxEVMs: maxEVMs),
                createdAt: APIFixture.epoch
            )
        )
        for index in 0..<hostCount {
            try tx.save(Host(id: "h\(index)", poolID: "pool-a", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))))
        }
    }
}

/// Every host's allocation equals the sum of its EVMs and stays within capacity × ratio.
func checkAllocations(_ store: any StateStore) async throws {
    let (hosts, evms) = try await store.read { tx in (try tx.hosts(), try tx.evms(.all)) }
    for host in hosts {
        let sum = evms.filter { $0.hostID == host.id }.reduce(Resources.zero) { $0 + $1.shape.resources }
        #expect(host.allocated == sum, "host \(host.id) allocation drifted from its EVMs")
        #expect(host.allocated.memoryBytes <= .gibibytes(384), "host \(host.id) past 1.5 × 256 GiB")
        #expect(host.allocated.cpuMillis <= 64_000)
    }
}

@Suite struct EVMAPITests {
    @Test func twentyEVMsLandWithinTheOvercommitLimit() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 3)
        try await fixture.built.application.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":20}"#)
            )
            #expect(response.status == .created)
            let evms = try decode([EVMWire].self, response)
            #expect(evms.count == 20)
            #expect(Set(evms.map(\.id)).count == 20)
            #expect(evms.allSatisfy { $0.id.hasPrefix("pool-a-") && $0.id.count == "pool-a-".count + 6 })
            #expect(evms.allSatisfy { $0.phase == "creating" && $0.hostID != nil })
            let listed = try await client.execute(uri: "/v1/evms?pool=pool-a&host=h0", method: .get, headers: fixture.auth)
            #expect(try decode([EVMWire].self, listed).count == 20)  // binpack: 24 fit on h0
        }
        try await checkAllocations(fixture.built.store)
        #expect(try await fixture.built.store.read { try $0.revision("host/h0") } == 1)
    }

    /// 100 concurrent create requests for one EVM each; two hosts have room for 48. (On PostgreSQL: HATests.)
    @Test func concurrentCreatesNeverPushAHostPastItsRatio() async throws {
        try await Self.concurrentCreates(on: .sqlite)
    }

    static func concurrentCreates(on store: APIFixture.Store) async throws {
        let fixture = try APIFixture(store: store)
        try await seedPool(fixture, hostCount: 2)
        try await fixture.built.application.test(.live) { client in
            try await fixture.leading()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<100 {
                    group.addTask {
                        try await client.execute(
                            uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":1}"#)
                        ).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 48)
            #expect(statuses.filter { $0 == .conflict }.count == 52)
        }
        try await checkAllocations(fixture.built.store)
        #expect(try await fixture.built.store.read { try $0.evms(.all).count } == 48)
    }

    @Test func refusalsChangeNothing() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 1, maxEVMs: 5)
        try await fixture.built.application.test(.router) { client in
            let tooMany = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":6}"#))
            #expect(tooMany.status == .conflict)
            #expect(try decode(ErrorBody.self, tooMany).message.contains("maxEVMs 5"))
            let zero = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":0}"#))
            #expect(zero.status == .badRequest)
            #expect(try decode(ErrorBody.self, zero).field == "count")
            let unknown = try await client.execute(
                uri: "/v1/pools/nope/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":1}"#))
            #expect(unknown.status == .notFound)
            let badPhase = try await client.execute(uri: "/v1/evms?phase=sleeping", method: .get, headers: fixture.auth)
            #expect(try decode(ErrorBody.self, badPhase).field == "phase")
        }
        #expect(try await fixture.built.store.read { try $0.evms(.all).count } == 0)
        try await checkAllocations(fixture.built.store)
    }

    @Test func allOrNoneWhenHostsLackRoom() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 1)
        try await fixture.built.application.test(.router) { client in
            let response = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":25}"#))
            #expect(response.status == .conflict)
            let error = try decode(ErrorBody.self, response)
            #expect(error.error == "insufficient_capacity")
            #expect(error.message.contains("capacity × overcommit"))
        }
        #expect(try await fixture.built.store.read { try $0.evms(.all).count } == 0)
    }

    @Test func cordonAndMaintenanceSteerPlacement() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 3)
        try await fixture.built.application.test(.router) { client in
            let cordon = try await client.execute(uri: "/v1/hosts/h0/cordon", method: .post, headers: fixture.auth)
            #expect(try decode(HostWire.self, cordon).cordoned)
            let maintenance = try await client.execute(
                uri: "/v1/hosts/h1/maintenance", method: .post, headers: fixture.auth, body: fixture.body(#"{"enabled":true}"#))
            #expect(try decode(HostWire.self, maintenance).maintenance)
            let bad = try await client.execute(
                uri: "/v1/hosts/h1/maintenance", method: .post, headers: fixture.auth, body: fixture.body(#"{"enabled":"yes"}"#))
            #expect(try decode(ErrorBody.self, bad).field == "enabled")
            let created = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":3}"#))
            #expect(try decode([EVMWire].self, created).allSatisfy { $0.hostID == "h2" })
            let uncordon = try await client.execute(uri: "/v1/hosts/h0/uncordon", method: .post, headers: fixture.auth)
            #expect(try decode(HostWire.self, uncordon).cordoned == false)
            let missing = try await client.execute(uri: "/v1/hosts/nope/cordon", method: .post, headers: fixture.auth)
            #expect(missing.status == .notFound)
        }
        let events = try await fixture.built.store.read { try $0.events(EventFilter(object: ObjectRef(.host, "h0"))) }
        #expect(events.map(\.reason) == ["Cordoned", "Uncordoned"])
    }

    @Test func deleteMarksTheEVMAndBumpsItsHostRevision() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 1)
        try await fixture.built.application.test(.router) { client in
            let created = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":1}"#))
            let id = try #require(try decode([EVMWire].self, created).first?.id)
            let deleted = try await client.execute(uri: "/v1/evms/\(id)", method: .delete, headers: fixture.auth)
            #expect(deleted.status == .accepted)
            #expect(try decode(EVMWire.self, deleted).phase == "deleting")
            let got = try await client.execute(uri: "/v1/evms/\(id)", method: .get, headers: fixture.auth)
            #expect(try decode(EVMWire.self, got).phase == "deleting")
        }
        #expect(try await fixture.built.store.read { try $0.revision("host/h0") } == 2)
    }
}

struct EVMWire: Decodable {
    let id: String
    let hostID: String?
    let phase: String
}

struct HostWire: Decodable {
    let id: String
    let cordoned: Bool
    let maintenance: Bool
}
