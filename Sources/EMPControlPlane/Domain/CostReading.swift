import EMPModel
import EMPScheduling
import EMPStore
import Foundation

extension StoreReading {
    /// How many of the pool's EVMs stand in for on-demand instances (``CostModel/instancePhases``), counted unread.
    func instanceEVMCount(pool: String) throws -> Int {
        try evmCount(EVMFilter(poolID: pool, phases: CostModel.instancePhases))
    }

    /// The pool's savings estimate at `time`, its running total carried on from the pool's latest sample.
    func costEstimate(_ pool: Pool, hosts: [EMPModel.Host], model: CostModel, at time: Date) throws -> CostEstimate {
        let total = try latestPoolSample(pool: pool.id)
        return model.estimate(
            pool: pool, hosts: hosts, runningEVMs: try instanceEVMCount(pool: pool.id), at: time, latest: total?.latest,
            first: total?.first)
    }
}
