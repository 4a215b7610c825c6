import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EMPControlPlane

/// The domain layer refuses with typed errors (matched by code, carrying what the caller needs), and the routes
/// turn them into the API's statuses in one place.
@Suite struct DomainTests {
    static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    static func store(hostMemoryGiB: Int64) async throws -> (SQLiteStore, TemporaryDirectory) {
        let dir = try TemporaryDirectory()
        let store = try SQLiteStore(directory: dir.path)
        try await store.write { tx in
            try tx.save(Pool(id: "p", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), createdAt: epoch))
            try tx.save(EMPModel.Host(id: "h", poolID: "p", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(hostMemoryGiB))))
        }
        return (store, dir)
    }

    @Test func aShortageSaysHowManyEVMsFit() async throws {
        let (store, dir) = try await Self.store(hostMemoryGiB: 32)  // room for two 16Gi EVMs
        _ = dir
        let placement = EVMPlacement(store: store, expectedUseFraction: 0.25)
        do {
            _ = try await placement.create(count: 5, poolID: "p", at: Self.epoch)
            Issue.record("five EVMs placed on a host with room for two")
        } catch let error as DomainError {
            #expect(error.code == .insufficientCapacity)
            #expect(error.evmsThatFit == 2)
            #expect(APIError(error).status == .conflict)
            #expect(APIError(error).code == "insufficient_capacity")
        }
        #expect(try await placement.create(count: 2, poolID: "p", at: Self.epoch).count == 2, "all or none: nothing was kept")
        await #expect { _ = try await placement.create(count: 1, poolID: "nope", at: Self.epoch) } throws: {
            ($0 as? DomainError)?.code == .notFound
        }
    }

    @Test func routesRenderDomainErrorsWithTheirStatusAndField() async throws {
        let fixture = try APIFixture()
        try await fixture.built.store.write { tx in
            try tx.save(Pool(id: "p", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), createdAt: Self.epoch))
            try tx.save(
                EMPModel.Host(
                    id: "h", poolID: "p", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(16)),
                    allocated: Resources(cpuMillis: 2000, memoryBytes: .gibibytes(16))))
            try tx.save(
                EVM(
                    id: "e", poolID: "p", hostID: "h", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(16)), phase: .running,
                    nodeName: "e", createdAt: Self.epoch))
        }
        try await fixture.built.application.test(.router) { client in
            let full = try await client.execute(
                uri: "/v1/pools/p/evms", method: .post, headers: fixture.auth, body: fixture.body(#"{"count": 1}"#))
            #expect(full.status == .conflict)
            #expect(try decode(ErrorBody.self, full).error == "insufficient_capacity")
            let same = try await client.execute(
                uri: "/v1/evms/e/migrate", method: .post, headers: fixture.auth, body: fixture.body(#"{"to": "h"}"#))
            #expect(same.status == .badRequest)
            #expect(try decode(ErrorBody.self, same) == ErrorBody(error: "invalid", message: "EVM e is already on h", field: "to"))
            let missing = try await client.execute(uri: "/v1/migrations/m-1/cancel", method: .post, headers: fixture.auth)
            #expect(missing.status == .notFound)
        }
    }
}
