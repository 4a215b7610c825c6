import EMPControlPlane
import EMPModel
import EMPScheduling
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Prometheus
import Testing

/// The savings estimate as an operator reads it from the API: list prices, the running total, its history.
@Suite struct CostTests {
    let dir: TemporaryDirectory
    let store: SQLiteStore
    let clock = ManualClock(epoch: APIFixture.epoch)

    init() throws {
        dir = try TemporaryDirectory()
        store = try SQLiteStore(directory: dir.file("data"), configuration: .init(clock: clock))
    }

    /// Two m5.metal hosts (96 vCPU, 384 GiB) and `evms` running EVMs of m5.4xlarge size (16 vCPU, 64 GiB).
    func seed(evms: Int) async throws {
        try await store.write { tx in
            try tx.save(
                Pool(
                    id: "trading", shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    policy: PoolPolicy(cpuOvercommit: 2, memoryOvercommit: 2), createdAt: APIFixture.epoch))
            for h in 0..<2 {
                try tx.save(Host(id: "metal-\(h)", poolID: "trading", capacity: Resources(cpuMillis: 96_000, memoryBytes: .gibibytes(384))))
            }
            for e in 0..<evms {
                var evm = EVM(
                    id: "trading-\(e)", poolID: "trading", hostID: "metal-\(e % 2)",
                    shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    phase: .running, nodeName: "trading-\(e)", createdAt: APIFixture.epoch)
                evm.used = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(8))
                try tx.save(evm)
            }
        }
    }

    func router(_ configuration: ControlPlaneConfiguration = ControlPlaneConfiguration()) -> Application<
        RouterResponder<BasicRequestContext>
    > {
        let clock = clock
        return Application(
            router: ControlPlane.makeRouter(
                store: store, tokens: [APIFixture.token], registry: PrometheusCollectorRegistry(), configuration: configuration,
                now: { clock.date }))
    }

    func sampler() -> CostSampler {
        CostSampler(store: store, settings: CostSampler.Settings(), clock: clock, logger: Logger(label: "test"))
    }

    func cost(_ client: some TestClientProtocol, _ path: String = "/v1/pools/trading/cost") async throws -> PoolCostReport {
        let response = try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(APIFixture.token)"])
        #expect(response.status == .ok)
        return try decode(PoolCostReport.self, response)
    }

    @Test func twelveEVMsOnTwoMetalHostsArePricedFromTheShippedTable() async throws {
        try await seed(evms: 12)
        await sampler().sampleOnce()
        try await router().test(.router) { client in
            let estimate = try await cost(client).estimate
            #expect(estimate.hosts == 2)
            #expect(abs(estimate.hostsHourly - 2 * 4.608) < 1e-9)
            #expect(estimate.runningEVMs == 12)
            #expect(estimate.evmInstanceType == "m5.4xlarge")
            #expect(abs(estimate.evmsHourly - 12 * 0.768) < 1e-9)
            // 192 vCPU of hosts against 192 vCPU of instances: without overcommit nothing is saved.
            #expect(abs(estimate.savingHourly) < 1e-9)
            #expect(estimate.note.contains("estimate from on-demand list prices"))
        }
    }

    @Test func theRunningTotalAfterAnHourIsTheHourlySaving() async throws {
        try await seed(evms: 20)  // overcommit 2: twenty 16-vCPU EVMs on 192 cores
        let sampler = sampler()
        await sampler.sampleOnce()
        clock.advance(by: .seconds(3600))
        await sampler.sampleOnce()
        try await router().test(.router) { client in
            let estimate = try await cost(client).estimate
            let hourly = 20 * 0.768 - 2 * 4.608
            #expect(abs(estimate.savingHourly - hourly) < 1e-9)
            #expect(abs(estimate.savingPercent! - hourly / (20 * 0.768) * 100) < 1e-9)
            #expect(abs(estimate.savedTotal - hourly) < 1e-9)
            #expect(estimate.since == APIFixture.epoch)
            #expect(abs(estimate.savingMonthly - hourly * 730) < 1e-6)

            let history = try await cost(client, "/v1/pools/trading/cost?history=2h").history
            #expect(history?.count == 2)
            #expect(history?.last?.allocated == .zero)  // hosts seeded without allocation
            #expect(history?.last?.limit == Resources(cpuMillis: 2 * 192_000, memoryBytes: .gibibytes(2 * 768)))

            let overall = try decode(
                CostOverview.self,
                try await client.execute(uri: "/v1/cost", method: .get, headers: [.authorization: "Bearer \(APIFixture.token)"]))
            #expect(overall.pools.count == 1)
            #expect(abs(overall.savedTotal - hourly) < 1e-9)

            let bad = try await client.execute(
                uri: "/v1/pools/trading/cost?history=yesterday", method: .get, headers: [.authorization: "Bearer \(APIFixture.token)"])
            #expect(bad.status == .badRequest)
            #expect(try decode(ErrorBody.self, bad).field == "history")
            let missing = try await client.execute(
                uri: "/v1/pools/nope/cost", method: .get, headers: [.authorization: "Bearer \(APIFixture.token)"])
            #expect(missing.status == .notFound)
        }
    }

    @Test func configuredPricesAndHostCostsReplaceTheShippedOnes() async throws {
        try await seed(evms: 4)
        let dir = try TemporaryDirectory()
        let file = dir.file("cp.yaml")
        try """
        cost:
          prices:
            - {name: c6i.4xlarge, vcpus: 16, memory: 32Gi, hourly: 0.68}
          pools:
            trading: {hostHourly: 2.5, evmInstanceType: c6i.4xlarge}
          hosts:
            metal-1: 1.0
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationFile.load(file).apply(to: ControlPlaneConfiguration())
        try await router(configuration).test(.router) { client in
            let estimate = try await cost(client).estimate
            #expect(abs(estimate.hostsHourly - 3.5) < 1e-9)
            #expect(estimate.evmInstanceType == "c6i.4xlarge")
            #expect(abs(estimate.evmsHourly - 4 * 0.68) < 1e-9)
        }
        try """
        cost:
          pools:
            trading: {evmInstanceType: z9.huge}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        #expect {
            try ConfigurationFile.load(file).apply(to: ControlPlaneConfiguration())
        } throws: { "\($0)".contains("cost.pools.trading.evmInstanceType: no price for instance type \"z9.huge\"") }
        try """
        cost:
          prices:
            - {name: x1, vcpus: 4, memory: lots, hourly: 1}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        #expect { try ConfigurationFile.load(file) } throws: { "\($0)".contains("memory") }
    }

    @Test func samplesOlderThanTheRetentionGoButTheTotalStays() async throws {
        try await seed(evms: 20)
        var settings = CostSampler.Settings()
        settings.retention = 86_400
        let sampler = CostSampler(store: store, settings: settings, clock: clock, logger: Logger(label: "test"))
        await sampler.sampleOnce()
        clock.advance(by: .seconds(2 * 86_400))
        await sampler.sampleOnce()
        let (samples, total) = try await store.read { tx in
            (try tx.poolSamples(pool: "trading", since: .distantPast), try tx.latestPoolSample(pool: "trading"))
        }
        #expect(samples.count == 1)
        #expect(abs(total!.latest.savedTotal - 48 * (20 * 0.768 - 2 * 4.608)) < 1e-6)
        #expect(total!.first == APIFixture.epoch)
    }

    @Test func aHostIsPricedAsTheCheapestInstanceTypeOfItsSizeUnlessConfigured() {
        let pool = Pool(id: "p", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)), createdAt: APIFixture.epoch)
        let small = Host(id: "small", poolID: "p", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)))
        let odd = Host(id: "odd", poolID: "p", capacity: Resources(cpuMillis: 40_000, memoryBytes: .gibibytes(300)))
        let model = CostModel()
        #expect(model.hostHourly(small, pool: pool) == 3.072)  // m5.16xlarge
        #expect(model.hostHourly(odd, pool: pool) == 4.608)  // 300 GiB needs the 384 GiB size
        #expect(model.evmInstance(for: pool)?.name == "m5.xlarge")
        let configured = CostModel(pools: ["p": PoolCostSettings(hostInstanceType: "m5.metal")], hosts: ["odd": 1.25])
        #expect(configured.hostHourly(small, pool: pool) == 4.608)
        #expect(configured.hostHourly(odd, pool: pool) == 1.25)
        // A host a provider launched is priced as what it launched, over the nearest size.
        var launched = small
        launched.provider = HostProviderInfo(
            provider: "ec2", launchID: "l-1", machineID: "i-1", machineState: "running", instanceType: "m5.24xlarge", lifecycle: .spot,
            zone: "us-east-1a")
        #expect(model.hostHourly(launched, pool: pool) == 4.608)
        #expect(CostModel(hosts: ["small": 2.0]).hostHourly(launched, pool: pool) == 2.0)
    }

    /// A stored host with absurd figures (an old store, a hand edit) is priced without trapping.
    @Test func absurdStoredFiguresDoNotStopTheSampler() async throws {
        try await seed(evms: 1)
        try await store.write { tx in
            try tx.save(
                Host(
                    id: "absurd", poolID: "trading", capacity: Resources(cpuMillis: .max, memoryBytes: .max),
                    allocated: Resources(cpuMillis: .max, memoryBytes: .max), used: Resources(cpuMillis: .max, memoryBytes: .max)))
        }
        let samples = await sampler().sampleOnce()
        #expect(samples.count == 1)
        #expect(samples.first?.limit.cpuMillis == .max)
    }

    @Test func moneyReadsLikeMoney() {
        #expect(Money.format(1234567.891) == "$1,234,567.89")
        #expect(Money.format(-3.2) == "-$3.20")
        #expect(Money.format(0.004) == "$0.00")
        #expect(Money.percent(40) == "40.0%")
        #expect(Money.percent(nil) == "-")
    }

    @Test func downsamplingKeepsTheRunningTotalAndAveragesTheRest() {
        let samples = (0..<10).map { i in
            PoolSample(
                poolID: "p", at: Date(timeIntervalSince1970: Double(i * 60)), hostsHourly: 1, evmsHourly: Double(i), savedTotal: Double(i),
                limit: .zero, allocated: Resources(cpuMillis: Int64(i) * 100, memoryBytes: 0), used: .zero, runningEVMs: i)
        }
        let points = CostModel.downsample(samples, points: 5)
        #expect(points.count == 5)
        #expect(points[0].savedTotal == 1)
        #expect(points[0].evmsHourly == 0.5)
        #expect(points[4].allocated.cpuMillis == 850)
        #expect(CostModel.downsample(samples, points: 20).count == 10)
    }
}
