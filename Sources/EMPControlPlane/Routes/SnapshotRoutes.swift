import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `GET /v1/snapshot[?pool=P]`: the state the scheduling algorithms see, in the format `empctl whatif` reads.
struct SnapshotRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let now: @Sendable () -> Date
    let settings: RebalanceSettings

    func register(on group: RecordingRoutes<Context>) {
        group.get("snapshot") { request, _ in
            let poolFilter = request.uri.queryParameters.get("pool")
            let time = now()
            let settings = settings
            return JSONResponse(try await store.read { try $0.snapshot(pool: poolFilter, at: time, settings: settings) })
        }
    }
}
