import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOFoundationCompat
import Testing

/// A control plane on a fresh data directory, with a manual clock and a known operator token.
struct APIFixture {
    let dir: TemporaryDirectory
    let built: ControlPlane.Built
    /// Starts at ``epoch``; moves only when a test advances it (long polls wait until then).
    let clock = ManualClock(epoch: APIFixture.epoch)
    static let token = "op-secret"
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    /// Where a fixture's control plane keeps its state.
    enum Store: String, CaseIterable, Sendable {
        case sqlite, postgres

        /// Whether this run covers PostgreSQL (`EMP_TEST_STORES`, as for the store tests).
        static var postgresSelected: Bool {
            ProcessInfo.processInfo.environment["EMP_TEST_STORES"].map { $0.contains("postgres") } ?? true
        }
    }

    init(store: Store = .sqlite, kubeconfig: String? = nil) throws {
        dir = try TemporaryDirectory()
        var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"), operatorTokens: [Self.token])
        configuration.kubeconfigPath = kubeconfig
        if store == .postgres {
            configuration.postgres = try PostgresStore.Configuration.parse(url: try TestPostgres.freshDatabase())
        }
        built = try ControlPlane.build(
            configuration: configuration,
            logger: Logger(label: "test"),
            clock: clock
        )
    }

    var auth: HTTPFields { [.authorization: "Bearer \(Self.token)"] }

    func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

    func poolCount() async throws -> Int { try await built.store.read { try $0.pools().count } }

    /// Returns once this control plane leads (at once on SQLite; on PostgreSQL after its first election round).
    func leading() async throws {
        guard try await eventually(timeout: .seconds(60), { built.leadership?.isLeader ?? true }) else {
            throw TestSupportError("never became leader")
        }
    }
}

struct ErrorBody: Decodable, Equatable {
    let error: String
    let message: String
    let field: String?
}

func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
    try WireJSON.decoder().decode(T.self, from: Data(buffer: response.body))
}

@Suite struct PoolAPITests {
    let validPool = #"{"id":"pool-a","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"memoryOvercommit":1.5}}"#

    /// On PostgreSQL only live: the router setup runs no services, so no leader is elected to take the writes.
    @Test(
        arguments: [(TestingSetup.router, APIFixture.Store.sqlite), (.live, .sqlite)]
            + (APIFixture.Store.postgresSelected ? [(.live, .postgres)] : []))
    func createGetListDelete(setup: TestingSetup, store: APIFixture.Store) async throws {
        let fixture = try APIFixture(store: store)
        try await fixture.built.application.test(setup) { client in
            try await fixture.leading()
            try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(validPool)) {
                (response: TestResponse) async throws in
                #expect(response.status == .created)
                let pool = try JSONDecoder().decode(PoolWire.self, from: Data(buffer: response.body))
                #expect(pool.id == "pool-a")
                #expect(pool.shape.memoryBytes == 16 << 30)
                #expect(pool.policy.memoryOvercommit == 1.5)
                #expect(pool.policy.highWatermark == 0.8)
            }
            try await client.execute(uri: "/v1/pools/pool-a", method: .get, headers: fixture.auth) {
                (response: TestResponse) async throws in
                #expect(response.status == .ok)
                #expect(try decode(PoolWire.self, response).shape.vcpus == 4)
            }
            try await client.execute(uri: "/v1/pools", method: .get, headers: fixture.auth) { (response: TestResponse) async throws in
                #expect(try decode([PoolWire].self, response).map(\.id) == ["pool-a"])
            }
            try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(validPool)) {
                (response: TestResponse) async throws in
                #expect(response.status == .conflict)
                #expect(try decode(ErrorBody.self, response).error == "conflict")
            }
            try await client.execute(uri: "/v1/pools/pool-a", method: .delete, headers: fixture.auth) {
                (response: TestResponse) async throws in
                #expect(response.status == .noContent)
            }
            try await client.execute(uri: "/v1/pools/pool-a", method: .get, headers: fixture.auth) {
                (response: TestResponse) async throws in
                #expect(response.status == .notFound)
                #expect(try decode(ErrorBody.self, response) == ErrorBody(error: "not_found", message: "pool pool-a not found", field: nil))
            }
        }
    }

    @Test func poolWithHostsCannotBeDeleted() async throws {
        let fixture = try APIFixture()
        try await fixture.built.store.write { tx in
            try tx.save(Pool(id: "busy", shape: EVMShape(vcpus: 1, memoryBytes: 1 << 30), createdAt: APIFixture.epoch))
            try tx.save(Host(id: "h1", poolID: "busy", capacity: Resources(cpuMillis: 1000, memoryBytes: 1 << 30)))
        }
        try await fixture.built.application.test(.router) { client in
            try await client.execute(uri: "/v1/pools/busy", method: .delete, headers: fixture.auth) {
                (response: TestResponse) async throws in
                #expect(response.status == .conflict)
                #expect(try decode(ErrorBody.self, response).message.contains("1 hosts"))
            }
        }
        #expect(try await fixture.poolCount() == 1)
    }

    @Test(arguments: [
        ("{not json", nil as String?),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16Gi"},"color":"blue"}"#, "color"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16Gi","gpu":1}}"#, "shape.gpu"),
        (#"{"id":"p","shape":{"vcpus":"four","memory":"16Gi"}}"#, "shape.vcpus"),
        (#"{"id":"p","shape":{"vcpus":4}}"#, "shape.memory"),
        (#"{"shape":{"vcpus":4,"memory":"16Gi"}}"#, "id"),
        (#"{"id":"p","shape":{"vcpus":-4,"memory":"16Gi"}}"#, "shape.vcpus"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"-16Gi"}}"#, "shape.memory"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16 gigs"}}"#, "shape.memory"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"memoryOvercommit":0.5}}"#, "policy.memoryOvercommit"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"minEVMs":5,"maxEVMs":1}}"#, "policy.minEVMs"),
        (#"{"id":"p","shape":{"vcpus":4,"memory":"16Gi"},"policy":{"placement":"random"}}"#, "policy.placement"),
        (#"{"id":"Bad_Name","shape":{"vcpus":4,"memory":"16Gi"}}"#, "id"),
        (#"[1,2]"#, nil),
    ])
    func badInputIs400NamingTheFieldAndChangesNothing(body: String, field: String?) async throws {
        let fixture = try APIFixture()
        try await fixture.built.application.test(.router) { client in
            try await client.execute(uri: "/v1/pools", method: .post, headers: fixture.auth, body: fixture.body(body)) {
                (response: TestResponse) async throws in
                #expect(response.status == .badRequest)
                let error = try decode(ErrorBody.self, response)
                #expect(error.error == "invalid")
                #expect(error.field == field)
                #expect(!error.message.isEmpty)
            }
        }
        #expect(try await fixture.poolCount() == 0)
        #expect(try await fixture.built.store.read { try $0.events(EventFilter()) }.isEmpty)
    }

    @Test func operatorEndpointsRefuseMissingAndWrongTokens() async throws {
        let fixture = try APIFixture()
        let attempts: [HTTPFields] = [
            [:],
            [.authorization: "Bearer wrong"],
            [.authorization: "Bearer op-secre"],
            [.authorization: "Basic b3A6c2VjcmV0"],
            [.authorization: "op-secret"],
        ]
        try await fixture.built.application.test(.router) { client in
            for headers in attempts {
                for (uri, method) in [
                    ("/v1/pools", HTTPRequest.Method.get), ("/v1/pools", .post), ("/v1/pools/x", .delete), ("/v1/events", .get),
                ] {
                    try await client.execute(uri: uri, method: method, headers: headers, body: fixture.body(validPool)) {
                        (response: TestResponse) async throws in
                        #expect(response.status == .unauthorized, "\(method) \(uri) with \(headers)")
                        #expect(try decode(ErrorBody.self, response).error == "unauthorized")
                    }
                }
            }
            try await client.execute(uri: "/healthz", method: .get) { (response: TestResponse) async throws in
                #expect(response.status == .ok)
            }
        }
        #expect(try await fixture.poolCount() == 0)
    }

    @Test func generatedTokenIsStoredOnceWithMode0600() throws {
        let dir = try TemporaryDirectory()
        let configuration = ControlPlaneConfiguration(dataDirectory: dir.file("data"))
        let first = try ControlPlane.build(configuration: configuration, logger: Logger(label: "t"))
        let second = try ControlPlane.build(configuration: configuration, logger: Logger(label: "t"))
        #expect(first.tokenGenerated)
        #expect(!second.tokenGenerated)
        #expect(first.operatorToken == second.operatorToken)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("data/operator-token"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}

/// The pool as the API returns it (the model's JSON).
struct PoolWire: Decodable {
    struct Shape: Decodable {
        let vcpus: Int
        let memoryBytes: Int64
    }
    struct Policy: Decodable {
        let memoryOvercommit: Double
        let highWatermark: Double
    }
    let id: String
    let shape: Shape
    let policy: Policy
}
