import ArgumentParser
import EMPModel
import Foundation

/// `empctl cost [POOL]`: what the pools' hosts cost against the on-demand instances their EVMs replace.
struct CostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cost",
        abstract: "Show the estimated saving: hosts against the running EVMs priced as on-demand instances.")
    @OptionGroup var server: ServerOptions
    @Argument(help: "Only this pool.") var pool: String?

    func run() async throws {
        let client = try server.client()
        let overview: CostOverview
        if let pool {
            let report: PoolCostReport = try await client.get("/v1/pools/\(pool)/cost")
            overview = CostOverview(pools: [report.estimate])
        } else {
            overview = try await client.get("/v1/cost")
        }
        if server.output == .json {
            if pool == nil { return try printJSON(overview) }
            return try printJSON(overview.pools[0])
        }
        var rows = [
            ["POOL", "HOSTS", "HOSTS $/H", "EVMS", "AS INSTANCES", "INSTANCES $/H", "SAVING $/H", "SAVING", "PER MONTH", "SAVED SO FAR"]
        ]
        for estimate in overview.pools {
            rows.append([
                estimate.poolID, "\(estimate.hosts)", Money.format(estimate.hostsHourly), "\(estimate.runningEVMs)",
                estimate.evmInstanceType.map { "\($0) at \(Money.format(estimate.evmInstanceHourly))" } ?? "-",
                Money.format(estimate.evmsHourly), Money.format(estimate.savingHourly), Money.percent(estimate.savingPercent),
                Money.format(estimate.savingMonthly), Money.format(estimate.savedTotal),
            ])
        }
        if pool == nil, overview.pools.count > 1 {
            rows.append([
                "total", "", Money.format(overview.hostsHourly), "", "", Money.format(overview.evmsHourly),
                Money.format(overview.savingHourly), Money.percent(overview.savingPercent), Money.format(overview.savingMonthly),
                Money.format(overview.savedTotal),
            ])
        }
        print(Table.render(rows))
        print("Note: \(CostEstimate.note).")
    }
}
