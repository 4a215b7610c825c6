import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import Hummingbird
import ServerGuard

/// `GET /v1/cost` and `GET /v1/pools/{id}/cost`: each pool's hosts against what its running EVMs would cost as
/// on-demand instances, the saving and its running total; `?history=24h` adds the samples of that range.
struct CostRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let model: CostModel
    let now: @Sendable () -> Date

    func register(on group: RecordingRoutes<Context>) {
        group.get("cost") { _, _ in JSONResponse(try await overall()) }
        group.get("pools/{id}/cost") { request, context in
            let id = try context.parameters.require("id")
            guard let estimate = try await estimates(pool: id).first else { throw APIError.notFound("pool \(id)") }
            var answer = PoolCostReport(estimate: estimate)
            if let range = request.uri.queryParameters.get("history") {
                let seconds: Int64
                do {
                    seconds = try DurationText.seconds(range)
                } catch {
                    throw APIError.invalid("\(error)", field: "history")
                }
                guard seconds > 0 else { throw APIError.invalid("must be longer than 0 (got \(range))", field: "history") }
                answer.history = try await history(pool: id, seconds: TimeInterval(seconds), points: 288)
            }
            return JSONResponse(answer)
        }
    }

    /// The estimates of one pool (`pool`) or all of them.
    func estimates(pool only: String? = nil) async throws -> [CostEstimate] {
        let time = now()
        let model = model
        return try await store.read { tx in
            let pools = try only.map { id in try tx.pool(id).map { [$0] } ?? [] } ?? tx.pools()
            return try pools.map { pool in try tx.costEstimate(pool, hosts: try tx.hosts(pool: pool.id), model: model, at: time) }
        }
    }

    func overall() async throws -> CostOverview { CostOverview(pools: try await estimates()) }

    /// The pool's samples of the last `seconds`, at most `points` of them.
    func history(pool: String, seconds: TimeInterval, points: Int) async throws -> [PoolSample] {
        let since = now().addingTimeInterval(-seconds)
        return CostModel.downsample(try await store.read { try $0.poolSamples(pool: pool, since: since) }, points: points)
    }
}
