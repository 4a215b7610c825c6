import EMPModel
import EMPScheduling
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import EMPControlPlane

/// Issue 14's findings about the agent API and stored values, each reproduced: no input an agent or operator can
/// send, and no value a store can hold, crashes the control plane; host identities are bound.
@Suite struct HardeningTests {
    func joined(_ fixture: APIFixture, _ client: some TestClientProtocol, hostID: String = "bm-1") async throws -> String {
        let response = try await fixture.join(client, token: try await fixture.createToken(client), hostID: hostID)
        #expect(response.status == .created)
        return try decode(JoinWire.self, response).credential
    }

    /// One EVM placed on the joined host; its id.
    func createEVM(_ fixture: APIFixture, _ client: some TestClientProtocol) async throws -> String {
        let created = try await client.execute(
            uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":1}"#))
        #expect(created.status == .created)
        return try decode([EVM].self, created)[0].id
    }

    func report(_ client: some TestClientProtocol, _ credential: String, host: String = "bm-1", _ json: String) async throws
        -> TestResponse
    {
        try await client.execute(
            uri: "/v1/agent/hosts/\(host)/report", method: .post, headers: bearer(credential), body: ByteBuffer(string: json))
    }

    func joinBody(token: String, hostID: String = "bm-1", cores: String = "64", memory: String = "274877906944", uuid: String? = nil)
        -> ByteBuffer
    {
        let uuidField = uuid.map { #","hostUUID":"\#($0)""# } ?? ""
        return ByteBuffer(
            string:
                #"{"token":"\#(token)","hostID":"\#(hostID)","inventory":{"hostname":"x","cores":\#(cores),"memoryBytes":\#(memory),"cpuModel":"x","libvirtVersion":"9","hypervisorVersion":"7"\#(uuidField)}}"#
        )
    }

    /// Finding 1: RSS of Int64.max used to be stored and then trap every plan; now the report is refused by field,
    /// and the plan (and the rebalancer) still run.
    @Test func anAbsurdRSSIsRefusedByFieldAndPlanningGoesOn() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let credential = try await joined(fixture, client)
            let evm = try await createEVM(fixture, client)
            let rss = try await report(
                client, credential,
                #"{"used":{"cpuMillis":0,"memoryBytes":0},"domains":[{"evmID":"\#(evm)","running":true,"rssBytes":9223372036854775807}]}"#)
            #expect(rss.status == .badRequest)
            #expect(try decode(ErrorBody.self, rss).field == "domains[0].rssBytes")
            let used = try await report(client, credential, #"{"used":{"cpuMillis":0,"memoryBytes":9223372036854775807},"domains":[]}"#)
            #expect(try decode(ErrorBody.self, used).field == "used.memoryBytes")
            let plan = try await client.execute(uri: "/v1/plan", method: .get, headers: fixture.auth)
            #expect(plan.status == .ok)
        }
        let stored = try await fixture.built.store.read { try $0.evms(.all) }
        #expect(stored.allSatisfy { ($0.used?.memoryBytes ?? 0) < .gibibytes(64) })
    }

    /// Finding 1, the crash loop: a store already holding poisoned figures (written before the checks existed) is
    /// opened by a new control plane; its rebalancer pass and the plan skip the records, say so once, and go on.
    @Test func aRestartOnAPoisonedStoreStaysUp() async throws {
        let dir = try TemporaryDirectory()
        let configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: ["op"])
        do {
            let first = try ControlPlane.build(
                configuration: configuration, logger: Logger(label: "test"), clock: ManualClock(epoch: APIFixture.epoch))
            try await first.store.write { tx in
                try tx.save(Pool(id: "pool-a", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), createdAt: APIFixture.epoch))
                var hot = EMPModel.Host(id: "bm-1", poolID: "pool-a", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)))
                hot.used = Resources(cpuMillis: .max, memoryBytes: .max)
                try tx.save(hot)
                try tx.save(EMPModel.Host(id: "bm-2", poolID: "pool-a", capacity: Resources(cpuMillis: .max, memoryBytes: .max)))
                try tx.save(
                    EMPModel.Host(id: "bm-3", poolID: "pool-a", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))))
                var evm = EVM(
                    id: "evm-1", poolID: "pool-a", hostID: "bm-3", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), phase: .running,
                    nodeName: "evm-1", createdAt: APIFixture.epoch)
                evm.used = Resources(cpuMillis: 0, memoryBytes: .max)
                evm.cpuSample = CPUSample(cpuTimeNanoseconds: .min, at: APIFixture.epoch)
                try tx.save(evm)
            }
        }
        // The restart: a new control plane on the same directory.
        let clock = ManualClock(epoch: APIFixture.epoch)
        let second = try ControlPlane.build(configuration: configuration, logger: Logger(label: "test"), clock: clock)
        let rebalancer = RebalancerService(
            store: second.store, settings: configuration.rebalancer, kube: nil, clock: clock, logger: Logger(label: "test"))
        for _ in 0..<3 { _ = try await rebalancer.tick() }
        try await second.application.test(.router) { client in
            let plan = try await client.execute(uri: "/v1/plan", method: .get, headers: [.authorization: "Bearer op"])
            #expect(plan.status == .ok)
            let events = try await client.execute(uri: "/v1/events", method: .get, headers: [.authorization: "Bearer op"])
            let skipped = try decode([Event].self, events).filter { $0.reason == "RecordSkipped" }
            // Each bad record named once, though the pass ran three times.
            #expect(Set(skipped.map(\.object.id)) == ["bm-1", "bm-2", "evm-1"])
            #expect(skipped.count == 3)
        }
    }

    /// Findings 2 and 3: inventory out of range is refused by field and nothing is stored.
    @Test(arguments: [
        ("9223372036854775807", "274877906944", "inventory.cores"),
        ("-8", "274877906944", "inventory.cores"),
        ("0", "274877906944", "inventory.cores"),
        ("64", "9223372036854775807", "inventory.memoryBytes"),
        ("64", "-1", "inventory.memoryBytes"),
        ("64", "1.5", "inventory.memoryBytes"),
        ("1e30", "274877906944", "inventory.cores"),
    ])
    func inventoryOutOfRangeIsRefused(cores: String, memory: String, field: String) async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let token = try await fixture.createToken(client)
            let response = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: token, cores: cores, memory: memory))
            #expect(response.status == .badRequest)
            #expect(try decode(ErrorBody.self, response).field == field)
            // The token is not spent by a refused join.
            let good = try await client.execute(uri: "/v1/agent/join", method: .post, body: joinBody(token: token))
            #expect(good.status == .created)
        }
        #expect(try await fixture.built.store.read { try $0.hosts().map(\.capacity.cpuMillis) } == [64_000])
    }

    /// Finding 4: CPU time of Int64.min is refused; Int64.max after 0 gives a rate held at the EVM's vCPUs; going
    /// back within one domain instance is refused, a new instance may start again from zero.
    @Test func cpuTimeExtremesNeitherTrapNorPoisonTheRate() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let credential = try await joined(fixture, client)
            let evm = try await createEVM(fixture, client)
            func domain(_ cpu: String, _ instance: String) -> String {
                #"{"used":{"cpuMillis":0,"memoryBytes":0},"domains":[{"evmID":"\#(evm)","running":true,"cpuTimeNanoseconds":\#(cpu),"instance":"\#(instance)"}]}"#
            }
            let negative = try await report(client, credential, domain("-9223372036854775808", "a/1"))
            #expect(try decode(ErrorBody.self, negative).field == "domains[0].cpuTimeNanoseconds")
            #expect(try await report(client, credential, domain("0", "a/1")).status == .ok)
            #expect(try await report(client, credential, domain("9223372036854775807", "a/1")).status == .ok)
            let back = try await report(client, credential, domain("5", "a/1"))
            #expect(try decode(ErrorBody.self, back).field == "domains[0].cpuTimeNanoseconds")
            #expect(try await report(client, credential, domain("5", "a/2")).status == .ok)
        }
        // The fixture's clock does not move, so no rate was computed from equal times; compute one directly.
        let sample = CPUSample(cpuTimeNanoseconds: 0, at: APIFixture.epoch, instance: "a/1")
        let later = CPUSample(cpuTimeNanoseconds: .max, at: APIFixture.epoch + 1, instance: "a/1")
        #expect(sample.millicores(until: later, limit: 2000) == 2000)
        #expect(CPUSample(cpuTimeNanoseconds: .min, at: APIFixture.epoch).millicores(until: later) == nil)
    }

    /// Finding 5 and the identity rules: a second token cannot take bm-1; the same hostUUID needs an operator's
    /// approval, after which the old credential is revoked; the current credential rotates itself; a token scoped
    /// to a host id joins only as that host.
    @Test func aHostIDIsClaimedOnce() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        let uuid = "00000000-0000-4000-8000-0000000000aa"
        try await fixture.built.application.test(.router) { client in
            let first = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: try await fixture.createToken(client), uuid: uuid))
            let original = try decode(JoinWire.self, first).credential

            // Another machine with another token: refused, nothing handed out.
            let thief = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: try await fixture.createToken(client), uuid: "other"))
            #expect(thief.status == .conflict)
            #expect(!String(buffer: thief.body).contains("emph_"))
            // The same machine reinstalled: needs approval.
            let unapproved = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: try await fixture.createToken(client), uuid: uuid))
            #expect(unapproved.status == .forbidden)
            #expect(try decode(ErrorBody.self, unapproved).error == "rejoin_not_approved")
            // Still the original credential's host.
            let still = try await client.execute(uri: "/v1/agent/hosts/bm-1/desired?wait=0", method: .get, headers: bearer(original))
            #expect(still.status == .ok)

            let approve = try await client.execute(uri: "/v1/hosts/bm-1/rejoin", method: .post, headers: fixture.auth)
            #expect(approve.status == .ok)
            let approved = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: try await fixture.createToken(client), uuid: uuid))
            #expect(approved.status == .created)
            let replacement = try decode(JoinWire.self, approved).credential
            let revoked = try await client.execute(uri: "/v1/agent/hosts/bm-1/desired?wait=0", method: .get, headers: bearer(original))
            #expect(revoked.status == .unauthorized)
            // The approval was used up.
            let again = try await client.execute(
                uri: "/v1/agent/join", method: .post, body: joinBody(token: try await fixture.createToken(client), uuid: uuid))
            #expect(again.status == .forbidden)

            // Rotation with the current credential.
            let rotated = try await client.execute(
                uri: "/v1/agent/join", method: .post, headers: bearer(replacement),
                body: joinBody(token: try await fixture.createToken(client), uuid: uuid))
            #expect(rotated.status == .created)

            // A token scoped to bm-2 joins only as bm-2.
            let scoped = try await client.execute(
                uri: "/v1/pools/pool-a/tokens", method: .post, headers: fixture.auth, body: fixture.body(#"{"hostID":"bm-2"}"#))
            let token = try decode(TokenWire.self, scoped).token
            let wrong = try await client.execute(uri: "/v1/agent/join", method: .post, body: joinBody(token: token, hostID: "bm-3"))
            #expect(wrong.status == .forbidden)
            let right = try await client.execute(uri: "/v1/agent/join", method: .post, body: joinBody(token: token, hostID: "bm-2"))
            #expect(right.status == .created)
        }
        let events = try await fixture.built.store.read { try $0.events(EventFilter(object: ObjectRef(.host, "bm-1"))) }
        #expect(events.map(\.reason).contains("RejoinApproved"))
        #expect(events.filter { $0.reason == "Rejoined" }.count == 2)
    }

    /// Findings 11 and 12: numbers that do not fit, trailing commas and duplicate keys are refused with the field
    /// named; wrong methods get 405 with Allow; unknown paths and every error have a JSON body.
    @Test func badBodiesAndMethodsAreNamed() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 1)
        try await fixture.built.application.test(.router) { client in
            for count in ["1.5", "9223372036854775808", "1e30", "-0.5"] {
                let response = try await client.execute(
                    uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":\#(count)}"#))
                #expect(response.status == .badRequest, "count \(count): \(String(buffer: response.body))")
                #expect(try decode(ErrorBody.self, response).field == "count", "count \(count)")
            }
            let trailing = try await client.execute(
                uri: "/v1/pools/pool-a/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count":1,}"#))
            #expect(trailing.status == .badRequest)
            let duplicate = try await client.execute(
                uri: "/v1/pools", method: .post, headers: fixture.auth,
                body: fixture.body(#"{"id":"x","shape":{"vcpus":2,"memory":"1Gi","bogus":1},"shape":{"vcpus":2,"memory":"1Gi"}}"#))
            #expect(duplicate.status == .badRequest)
            let error = try decode(ErrorBody.self, duplicate)
            #expect(error.field == "shape")
            #expect(error.message.contains("duplicate key"))
            #expect(try await fixture.poolCount() == 1)

            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            let nested = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(deep))
            #expect(nested.status == .badRequest)

            let wrongMethod = try await client.execute(uri: "/v1/pools", method: .put, headers: fixture.auth)
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow]?.contains("POST") == true)
            #expect(try decode(ErrorBody.self, wrongMethod).error == "method_not_allowed")
            let nowhere = try await client.execute(uri: "/v1/nowhere", method: .get, headers: fixture.auth)
            #expect(nowhere.status == .notFound)
            #expect(try decode(ErrorBody.self, nowhere).error == "not_found")
        }
    }

    /// Finding 13: lists come in pages of `limit` with a continue token; every item exactly once.
    @Test func listsArePaged() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 7)
        try await fixture.built.application.test(.router) { client in
            var seen: [String] = []
            var token: String?
            var pages = 0
            repeat {
                let uri = "/v1/hosts?limit=3" + (token.map { "&continue=\($0)" } ?? "")
                let response = try await client.execute(uri: uri, method: .get, headers: fixture.auth)
                #expect(response.status == .ok)
                seen += try decode([EMPModel.Host].self, response).map(\.id)
                token = response.headers[Page.continueHeader]
                pages += 1
            } while token != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == (0..<7).map { "h\($0)" })
            let bad = try await client.execute(uri: "/v1/hosts?limit=0", method: .get, headers: fixture.auth)
            #expect(try decode(ErrorBody.self, bad).field == "limit")
            let forged = try await client.execute(uri: "/v1/hosts?continue=%25%25", method: .get, headers: fixture.auth)
            #expect(try decode(ErrorBody.self, forged).field == "continue")
        }
        // Field sizes: 50,000 kubelet flags and a 2 MB cluster name are refused by name.
        let many = (0..<50_000).map { #""--f\#($0)=1""# }.joined(separator: ",")
        try await fixture.built.application.test(.router) { client in
            let pool = #"{"id":"big","shape":{"vcpus":2,"memory":"1Gi"},"cluster":"\#(String(repeating: "c", count: 300))"}"#
            let long = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(pool))
            #expect(try decode(ErrorBody.self, long).field == "cluster")
            let flags = try await client.execute(
                uri: "/v1/pools/pool-a", method: .patch, headers: fixture.auth,
                body: fixture.body(
                    #"{"kubelet":{"apiServer":"https://k:6443","caCertificate":"x","bootstrapToken":"abcdef.0123456789abcdef","extraArgs":[\#(many)]}}"#
                ))
            #expect(flags.status == .badRequest || flags.status == .contentTooLarge)
        }
    }

    /// Finding 14: comparison does not depend on length; a forged agent credential costs one lookup and gets 401,
    /// another host's credential 403.
    @Test func agentCredentialsAreCheckedByTheirHash() async throws {
        #expect(!Secrets.constantTimeEqual("abc", "abcd"))
        #expect(Secrets.constantTimeEqual("same", "same"))
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 0)
        try await fixture.built.application.test(.router) { client in
            let one = try await joined(fixture, client, hostID: "bm-1")
            _ = try await joined(fixture, client, hostID: "bm-2")
            let other = try await client.execute(uri: "/v1/agent/hosts/bm-2/desired?wait=0", method: .get, headers: bearer(one))
            #expect(other.status == .forbidden)
            let forged = try await client.execute(uri: "/v1/agent/hosts/bm-1/desired?wait=0", method: .get, headers: bearer("emph_x"))
            #expect(forged.status == .unauthorized)
        }
    }

    /// Finding 6: the configuration and the services describe themselves without any secret.
    @Test func descriptionsCarryNoSecret() throws {
        let configuration = ControlPlaneConfiguration(operatorTokens: ["op-very-secret"])
        #expect(!String(describing: configuration).contains("op-very-secret"))
        #expect(!String(reflecting: configuration).contains("op-very-secret"))
        let children = Mirror(reflecting: configuration).children.map { String(describing: $0.value) }
        #expect(!children.joined().contains("op-very-secret"))
        #expect(
            !String(
                describing: HostHealth(
                    store: try SQLiteStore(directory: try TemporaryDirectory().file("db")), configuration: configuration,
                    logger: Logger(label: "t"))
            ).contains("op-very-secret"))
    }

    /// Finding 15: the store's files are the owner's only.
    @Test func storeFilesAreOwnerOnly() async throws {
        let fixture = try APIFixture()
        try await seedPool(fixture, hostCount: 1)
        for suffix in ["", "-wal", "-shm"] {
            let path = fixture.dir.file("data/emp.sqlite") + suffix
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(path)")
        }
    }
}
