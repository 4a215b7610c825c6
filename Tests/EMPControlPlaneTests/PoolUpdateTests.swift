import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Kube
import KubeSim
import Testing

@testable import EMPControlPlane

/// `PATCH /v1/pools/{id}` and the kubelet join: what operators see, what agents get.
@Suite struct PoolUpdateTests {
    static let ca = "-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n"
    static let created = """
        {"id":"pool-a","shape":{"vcpus":4,"memory":"16Gi"},
         "kubelet":{"apiServer":"https://10.0.0.1:6443","caCertificate":"\(ca)","bootstrapToken":"abcdef.0123456789abcdef"}}
        """

    func stored(_ fixture: APIFixture) async throws -> Pool {
        try #require(try await fixture.built.store.read { try $0.pool("pool-a") })
    }

    func patch(_ client: some TestClientProtocol, _ fixture: APIFixture, _ json: String) async throws -> TestResponse {
        try await client.execute(uri: "/v1/pools/pool-a", method: .patch, headers: fixture.auth, body: fixture.body(json))
    }

    @Test func answersHideTheBootstrapTokenButAgentsGetIt() async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            let created = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(Self.created))
            #expect(created.status == .created)
            for response in [created, try await client.execute(uri: "/v1/pools/pool-a", method: .get, headers: fixture.auth)] {
                let pool = try decode(Pool.self, response)
                #expect(pool.kubelet?.bootstrapToken == "abcdef.****************")
                #expect(!String(buffer: response.body).contains("0123456789abcdef"))
            }
            let listed = try await client.execute(uri: "/v1/pools", method: .get, headers: fixture.auth)
            #expect(!String(buffer: listed.body).contains("0123456789abcdef"))

            let identity = try decode(JoinWire.self, try await fixture.join(client, token: try await fixture.createToken(client)))
            let desired = try decode(
                DesiredState.self,
                try await client.execute(uri: "/v1/agent/hosts/bm-1/desired?wait=0", method: .get, headers: bearer(identity.credential)))
            #expect(desired.kubelet?.bootstrapToken == "abcdef.0123456789abcdef")
            #expect(desired.kubelet?.apiServer == "https://10.0.0.1:6443")
        }
        #expect(try await stored(fixture).kubelet?.bootstrapToken == "abcdef.0123456789abcdef")
    }

    /// A join that names no clusterDNS gets the `kube-system/kube-dns` Service's clusterIP, as kubeadm's nodes do
    /// (issue 20: without it pods on EVMs cannot resolve Services); one that names it keeps its own; without the
    /// Service the pool is still created, and its event says what to set.
    @Test func aJoinWithoutClusterDNSGetsTheClusterDNSServiceAddress() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let fixture = try APIFixture(kubeconfig: dir.file("kubeconfig"))
        // The control plane's own client: its service would shut it down; the router alone runs here.
        defer { Task { try? await fixture.built.kube?.shutdown() } }
        try await fixture.built.application.test(.router) { client in
            // No Service yet: created without clusterDNS, and the event says so.
            let bare = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(Self.created))
            #expect(bare.status == .created)
            #expect(try decode(Pool.self, bare).kubelet?.clusterDNS == nil)
            let events = try await fixture.built.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "pool-a"))) }
            #expect(events.first { $0.reason == "Created" }?.message.contains("set kubelet.clusterDNS") == true)

            let kube = try KubeClient(config: sim.kubeConfig())
            defer { Task { try? await kube.shutdown() } }
            _ = try await kube.resources(CoreService.self, namespace: "kube-system").create(
                CoreService(name: "kube-dns", namespace: "kube-system", clusterIP: "10.96.0.10"))
            let set = try await patch(
                client, fixture,
                #"{"kubelet":{"apiServer":"https://10.0.0.1:6443","caCertificate":"\#(Self.ca)","bootstrapToken":"abcdef.0123456789abcdef"}}"#
            )
            #expect(set.status == .ok)
            #expect(try decode(Pool.self, set).kubelet?.clusterDNS == ["10.96.0.10"])
            let own = try await patch(
                client, fixture,
                #"{"kubelet":{"apiServer":"https://10.0.0.1:6443","caCertificate":"\#(Self.ca)","bootstrapToken":"abcdef.0123456789abcdef","clusterDNS":["10.100.0.53"]}}"#
            )
            #expect(try decode(Pool.self, own).kubelet?.clusterDNS == ["10.100.0.53"])
            let bad = try await patch(
                client, fixture,
                #"{"kubelet":{"apiServer":"https://10.0.0.1:6443","caCertificate":"\#(Self.ca)","bootstrapToken":"abcdef.0123456789abcdef","clusterDNS":["dns"]}}"#
            )
            #expect(bad.status == .badRequest)
            #expect(String(buffer: bad.body).contains("kubelet.clusterDNS[0]"))
        }
        #expect(try await stored(fixture).kubelet?.clusterDNS == ["10.100.0.53"])
    }

    @Test func patchChangesOnlyTheGivenFieldsAndLogsWhat() async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            _ = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(Self.created))
            let response = try await patch(client, fixture, #"{"policy":{"maxEVMs":20,"placement":"spread"}}"#)
            #expect(response.status == .ok)
            #expect(try decode(Pool.self, response).policy.maxEVMs == 20)
        }
        var pool = try await stored(fixture)
        #expect(pool.policy.maxEVMs == 20)
        #expect(pool.policy.placement == .spread)
        #expect(pool.policy.highWatermark == 0.8)
        #expect(pool.kubelet?.bootstrapToken == "abcdef.0123456789abcdef")
        let events = try await fixture.built.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "pool-a"))) }
        #expect(events.last?.reason == "Updated")
        #expect(events.last?.message == "pool updated: maxEVMs 100→20, placement binpack→spread")

        try await fixture.built.application.test(.router) { client in
            let response = try await patch(client, fixture, #"{"kubelet":null,"cluster":"eks-2"}"#)
            #expect(response.status == .ok)
        }
        pool = try await stored(fixture)
        #expect(pool.kubelet == nil)
        #expect(pool.cluster == "eks-2")
    }

    @Test(arguments: [
        (#"{"shape":{"vcpus":8}}"#, "shape"),
        (#"{"id":"other"}"#, "id"),
        (#"{"policy":{"memoryOvercommit":0.5}}"#, "policy.memoryOvercommit"),
        (#"{"policy":{"minEVMs":500}}"#, "policy.minEVMs"),
        (
            #"{"kubelet":{"apiServer":"https://k:6443","caCertificate":"x","bootstrapToken":"abcdef.0123456789abcdef"}}"#,
            "kubelet.caCertificate"
        ),
        (#"{"kubelet":{"apiServer":"https://k:6443","caCertificate":"\#(ca)","bootstrapToken":"nope"}}"#, "kubelet.bootstrapToken"),
        (#"{"kubelet":{"apiServer":"https://k:6443","caCertificate":"\#(ca)"}}"#, "kubelet.bootstrapToken"),
        (#"{"policy":{"maxEVMs":"many"}}"#, "policy.maxEVMs"),
        // Capacity: warm EVMs and schedules.
        (#"{"policy":{"warm":{"count":101}}}"#, "policy.warm.count"),
        (#"{"policy":{"warm":{"count":1,"mode":"asleep"}}}"#, "policy.warm.mode"),
        (#"{"policy":{"warm":{"count":1,"size":2}}}"#, "policy.warm.size"),
        (#"{"policy":{"schedules":[{"name":"open","cron":"45 25 * * 1-5","duration":"7h"}]}}"#, "policy.schedules[0].cron"),
        (
            #"{"policy":{"schedules":[{"name":"ok","cron":"0 9 * * *","duration":"1h"},{"name":"x","cron":"0 9 * *","duration":"1h"}]}}"#,
            "policy.schedules[1].cron"
        ),
        (
            #"{"policy":{"schedules":[{"name":"open","cron":"0 9 * * *","timeZone":"Mars/Olympus","duration":"7h"}]}}"#,
            "policy.schedules[0].timeZone"
        ),
        (#"{"policy":{"schedules":[{"name":"open","cron":"0 9 * * *","duration":"-1h"}]}}"#, "policy.schedules[0].duration"),
        (#"{"policy":{"schedules":[{"name":"open","cron":"0 9 * * *","duration":"7 hours"}]}}"#, "policy.schedules[0].duration"),
        (#"{"policy":{"schedules":[{"name":"open","cron":"0 9 * * *","duration":"1h","warm":500}]}}"#, "policy.schedules[0].warm"),
        (
            #"{"policy":{"schedules":[{"name":"a","cron":"0 9 * * *","duration":"1h"},{"name":"a","cron":"0 10 * * *","duration":"1h"}]}}"#,
            "policy.schedules[1].name"
        ),
        (#"{"policy":{"schedules":[{"cron":"0 9 * * *","duration":"1h"}]}}"#, "policy.schedules[0].name"),
        (#"{"policy":{"schedules":[{"name":"a","cron":"0 9 * * *","duration":"1h","until":"x"}]}}"#, "policy.schedules[0].until"),
    ])
    func badPatchIs400NamingTheFieldAndChangesNothing(body: String, field: String) async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            _ = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(Self.created))
            let before = try await stored(fixture)
            let response = try await patch(client, fixture, body)
            #expect(response.status == .badRequest)
            #expect(try decode(ErrorBody.self, response).field == field)
            #expect(try await stored(fixture) == before)
        }
    }

    /// Warm capacity and schedules are set, replaced and removed through PATCH; each change is logged.
    @Test func warmAndSchedulesArePatchedAndRemoved() async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            _ = try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(Self.created))
            let body = #"""
                {"policy":{"warm":{"count":2,"mode":"paused"},"schedules":[
                  {"name":"market-open","cron":"45 8 * * 1-5","timeZone":"Asia/Kolkata","duration":"7h","minEVMs":20,"warm":5}]}}
                """#
            let response = try await patch(client, fixture, body)
            #expect(response.status == .ok, "\(String(buffer: response.body))")
            let pool = try decode(Pool.self, response)
            #expect(pool.policy.warm == WarmPolicy(count: 2, mode: .paused))
            #expect(
                pool.policy.schedules == [
                    CapacitySchedule(
                        name: "market-open", cron: "45 8 * * 1-5", timeZone: "Asia/Kolkata", duration: "7h", minEVMs: 20, warm: 5)
                ])
            #expect(try await stored(fixture).policy.schedules?.count == 1)
            // A count of 0 and an empty list remove them.
            #expect(try await patch(client, fixture, #"{"policy":{"warm":{"count":0},"schedules":[]}}"#).status == .ok)
        }
        let pool = try await stored(fixture)
        #expect(pool.policy.warm == nil && pool.policy.schedules == nil)
        let events = try await fixture.built.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "pool-a"))) }
        #expect(events.filter { $0.reason == "Updated" }.count == 2)
    }

    @Test func patchingAMissingPoolIs404() async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            let response = try await patch(client, fixture, #"{"cluster":"x"}"#)
            #expect(response.status == .notFound)
        }
    }
}
