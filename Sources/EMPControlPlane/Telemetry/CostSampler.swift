public import EMPModel
public import EMPScheduling
public import EMPStore
public import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Records each pool's cost and usage, and each host's limit, allocation and use, once a minute: the running total
/// of the saving lives in these samples, and the console's charts read them. Samples older than the retention are pruned (each pool's newest is kept).
public struct CostSampler: Service {
    /// How often pools are sampled, and how long samples are kept.
    public struct Settings: Sendable {
        /// Default 60 s.
        public var interval: Duration = .seconds(60)
        /// Default 30 days.
        public var retention: TimeInterval = 30 * 86_400
        /// How long each host's samples are kept (they are many: one per host a minute). Default 1 day.
        public var hostRetention: TimeInterval = 86_400
        public var model = CostModel()
        public init() {}
    }

    let store: any StateStore
    let settings: Settings
    let clock: any EMPClock
    let logger: Logger

    public init(store: any StateStore, settings: Settings, clock: any EMPClock = SystemClock(), logger: Logger) {
        self.store = store
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sampleOnce()
                try await clock.sleep(for: settings.interval)
            }
        }
    }

    /// One sample of every pool, in one write transaction; failures are logged and the next pass tries again.
    @discardableResult
    public func sampleOnce() async -> [PoolSample] {
        let time = clock.date
        let model = settings.model
        let retention = settings.retention
        let hostRetention = settings.hostRetention
        do {
            let samples = try await store.write { tx -> [PoolSample] in
                var samples: [PoolSample] = []
                for pool in try tx.pools() {
                    let running = try tx.instanceEVMCount(pool: pool.id)
                    let hosts = try tx.hosts(pool: pool.id)
                    let sample = model.sample(
                        pool: pool, hosts: hosts, runningEVMs: running, at: time, previous: try tx.latestPoolSample(pool: pool.id)?.latest)
                    try tx.save(sample)
                    samples.append(sample)
                    FleetMetrics.record(pool: pool, hosts: hosts)
                    for host in hosts {
                        try tx.save(
                            HostSample(
                                hostID: host.id, at: time,
                                limit: pool.limit(of: host.capacity),
                                allocated: host.allocated, used: host.used))
                    }
                    for phase in EVMPhase.allCases {
                        Gauge(label: "emp_evms", dimensions: [("pool", pool.id), ("phase", phase.rawValue)])
                            .record(try tx.evmCount(EVMFilter(poolID: pool.id, phases: [phase])))
                    }
                }
                try tx.deletePoolSamples(before: time.addingTimeInterval(-retention))
                try tx.deleteHostSamples(before: time.addingTimeInterval(-hostRetention))
                return samples
            }
            for sample in samples {
                let pool = [("pool", sample.poolID)]
                Gauge(label: "emp_pool_hosts_cost_dollars_per_hour", dimensions: pool).record(sample.hostsHourly)
                Gauge(label: "emp_pool_instances_cost_dollars_per_hour", dimensions: pool).record(sample.evmsHourly)
                Gauge(label: "emp_pool_savings_dollars_per_hour", dimensions: pool).record(sample.savingHourly)
                Gauge(label: "emp_pool_savings_dollars", dimensions: pool).record(sample.savedTotal)
            }
            return samples
        } catch {
            logger.error("sampling pool cost failed; tried again next pass", metadata: ["error": "\(error)"])
            return []
        }
    }
}
