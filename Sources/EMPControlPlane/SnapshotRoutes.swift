import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Hummingbird

/// `GET /v1/snapshot[?pool=P]`: the state the scheduling algorithms see, in the format `empctl whatif` reads.
struct SnapshotRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date

    func register(on group: RouterGroup<Context>) {
        group.get("snapshot") { request, _ in
            let poolFilter = request.uri.queryParameters.get("pool")
            let time = now()
            let snapshot = try await store.read { tx -> Snapshot in
                let pools = try tx.pools().filter { poolFilter == nil || $0.id == poolFilter }
                if let poolFilter, pools.isEmpty { throw APIError.notFound("pool \(poolFilter)") }
                var hosts: [HostSnapshot] = []
                var evms: [EVMSnapshot] = []
                for pool in pools {
                    hosts += try tx.hosts(pool: pool.id).map { HostSnapshot($0, policy: pool.policy) }
                    for evm in try tx.evms(EVMFilter(poolID: pool.id)) {
                        guard let host = evm.hostID, evm.phase != .deleting else { continue }
                        evms.append(
                            EVMSnapshot(
                                id: evm.id,
                                hostID: host,
                                size: evm.shape.resources,
                                used: evm.used ?? .zero,
                                secondsSinceMigration: evm.lastMigratedAt.map { time.timeIntervalSince($0) }
                            )
                        )
                    }
                }
                return Snapshot(hosts: hosts, evms: evms)
            }
            return JSONResponse(snapshot)
        }
    }
}
