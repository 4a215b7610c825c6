public import EMPModel
public import EMPScheduling
public import EMPStore
public import Foundation
public import Kube
public import Logging
import Metrics
public import ServiceLifecycle

/// The rebalancer loop: plans every pool (``EMPScheduling/Rebalancer``) each interval, or at once when a host
/// must be emptied, and starts the plan's startable moves; an EVM that cannot leave a host before its deadline has
/// its Node cordoned and drained instead. Migrations stuck preparing fail after a timeout.
public struct RebalancerService: Service {
    /// Loop timings and the planner's settings.
    public struct Settings: Sendable {
        /// Off leaves migrations to operators (`empctl migrate`). Default on.
        public var enabled = true
        /// Plan at least this often. Default 10 s.
        public var interval: Duration = .seconds(10)
        /// Passes woken early (maintenance, a deadline, an operator's request) are at least this far apart, so a
        /// burst of such events costs one pass, not one each. Default 2 s.
        public var minimumGap: Duration = .seconds(2)
        /// A destination that has not prepared within this fails the migration. Default 120 s.
        public var preparingTimeout: TimeInterval = 120
        /// An EVM whose migration failed is not tried again for this long. Default 60 s.
        public var retryAfter: TimeInterval = 60
        public var planner = RebalanceSettings()
        public init() {}
    }

    let store: any StateStore
    let settings: Settings
    /// For the drain fallback; nil logs the event only.
    let kube: KubeClient?
    let clock: any EMPClock
    let logger: Logger
    private let drained = DrainedSet()
    private let reported = DrainedSet()

    /// Where the latest plan is shown (the console's pool dashboard).
    let plans: PlanBoard
    /// Asked for a host when the plan leaves a host hot or an EVM that must leave without a target; nil asks no one.
    let provider: (any HostProvider)?

    public init(
        store: any StateStore, settings: Settings, kube: KubeClient?, plans: PlanBoard = PlanBoard(), provider: (any HostProvider)? = nil,
        clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.plans = plans
        self.provider = provider
        self.store = store
        self.settings = settings
        self.kube = kube
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var revision: Int64 = -1
            while !Task.isCancelled {
                let began = clock.uptime
                do {
                    try await tick()
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("rebalance pass failed", metadata: ["error": "\(error)"])
                }
                // Coalesce: events during the gap are seen by the next pass (their revision differs) without
                // waking a pass each.
                // A pass costs in proportion to the fleet (every host and EVM is read and planned): at most
                // 1/`PassPacing.busyShare` of the time goes to passes, so a fleet large enough to make a pass slow is planned
                // less often instead of keeping a core busy.
                let passed = clock.uptime
                let interval = PassPacing.gap(after: passed - began, atLeast: settings.interval)
                try await clock.sleep(for: min(settings.minimumGap, interval))
                let remaining = interval - (clock.uptime - passed)
                revision = try await store.waitForRevision(
                    RebalanceRevision.scope, differentFrom: revision, timeout: max(.zero, remaining))
            }
        }
    }

    /// One pass over every pool: returns the migrations it started.
    @discardableResult
    public func tick() async throws -> [Migration] {
        let time = clock.date
        try await expireStuck(at: time)
        let planner = settings.planner
        let retryAfter = settings.retryAfter
        let (snapshot, recentFailures, skipped) = try await store.read { tx in
            let failed = try tx.migrations(MigrationFilter(states: [.failed])).filter {
                ($0.finishedAt.map { time.timeIntervalSince($0) } ?? .infinity) < retryAfter
            }
            var skipped: [ObjectRef: String] = [:]
            let snapshot = try tx.snapshot(pool: nil, at: time, settings: planner, skipped: &skipped)
            return (snapshot, Set(failed.map(\.evmID)), skipped)
        }
        try await reportSkipped(skipped, at: time)
        let plan = Rebalancer(settings: planner).plan(snapshot)
        plans.publish(plan, at: time)
        Gauge(label: "emp_rebalancer_planned_moves").record(plan.moves.count)
        var started: [Migration] = []
        for move in plan.startable where !recentFailures.contains(move.evmID) {
            let request = MigrationRequest(
                evmID: move.evmID, to: move.to, reason: move.reason, explanation: move.explanation, bytes: move.bytes,
                postCopy: move.postCopy)
            do {
                started.append(try await store.write { tx in try tx.beginMigration(request, limits: planner.limits, at: time) })
                Counter(label: "emp_migrations_started_total", dimensions: [("reason", move.reason.rawValue)]).increment()
                logger.info(
                    "migration started",
                    metadata: ["evm": "\(move.evmID)", "from": "\(move.from)", "to": "\(move.to)", "reason": "\(move.reason)"])
            } catch let error as DomainError {
                // The plan was made from a snapshot; the start check sees the state now.
                logger.debug("move not started", metadata: ["evm": "\(move.evmID)", "why": "\(error.message)"])
            }
        }
        for miss in plan.unresolved where miss.kind == .deadline {
            guard let evmID = miss.evmID, await drained.insert(evmID) else { continue }
            await drain(evmID, because: miss.message, at: time)
        }
        try await requestRoom(for: plan, snapshot: snapshot, at: time)
        return started
    }

    /// Lacking room (a host left hot, an EVM that must leave with nowhere to go): one more host per such pool from
    /// its provider, which launches nothing while a launch is already in flight.
    func requestRoom(for plan: RebalancePlan, snapshot: Snapshot, at time: Date) async throws {
        guard let provider else { return }
        let poolOf = Dictionary(snapshot.hosts.map { ($0.id, $0.poolID) }, uniquingKeysWith: { a, _ in a })
        let short = Set(plan.unresolved.filter { $0.kind == .hot || $0.kind == .noTarget }.compactMap { poolOf[$0.hostID] ?? nil })
        for poolID in short.sorted() {
            guard let pool = try await store.read({ try $0.pool(poolID) }) else { continue }
            let asked = try await provider.request(1, for: pool, store: store, at: time)
            if asked > 0 { logger.info("asked for a host: the plan lacks room", metadata: ["pool": "\(poolID)"]) }
        }
    }

    /// Logs and records (once per record and problem while this process runs) each record the planner left out.
    func reportSkipped(_ skipped: [ObjectRef: String], at time: Date) async throws {
        var fresh: [(ObjectRef, String)] = []
        for (object, problem) in skipped.sorted(by: { $0.key.id < $1.key.id })
        where await reported.insert("\(object.kind)/\(object.id): \(problem)") {
            logger.error(
                "record skipped by the planner", metadata: ["object": "\(object.kind.rawValue)/\(object.id)", "problem": "\(problem)"])
            fresh.append((object, problem))
        }
        guard !fresh.isEmpty else { return }
        let records = fresh
        try await store.write { tx in
            for (object, problem) in records {
                // Once per record and problem across restarts too: a crash-looping process must not flood the log.
                let message = "left out of planning until corrected: \(problem)"
                let last = try tx.events(EventFilter(object: object)).last { $0.reason == "RecordSkipped" }
                guard last?.message != message else { continue }
                try tx.append(
                    Event(
                        time: time, object: object, reason: "RecordSkipped", message: message, type: .warning))
            }
        }
    }

    /// Fails migrations whose destination never prepared.
    func expireStuck(at time: Date) async throws {
        let timeout = settings.preparingTimeout
        try await store.write { tx in
            for migration in try tx.migrations(MigrationFilter(states: [.preparing]))
            where time.timeIntervalSince(migration.createdAt) >= timeout {
                _ = try tx.failMigration(migration.id, message: "the destination did not prepare within \(Int(timeout)) s", at: time)
            }
        }
    }

    /// The fallback for an EVM that cannot make its host's deadline: cordon its Node and evict its pods, so they
    /// reschedule before the host goes away; an event says why.
    func drain(_ evmID: String, because reason: String, at time: Date) async {
        guard let evm = try? await store.read({ try $0.evm(evmID) }) else { return }
        var outcome = "no Kubernetes client configured: not drained"
        if let kube {
            do {
                switch try await NodeDrainer(client: kube, logger: logger).drain(evm.nodeName, whenBlocked: .continueDraining) {
                case .drained(let evicted, let failed):
                    outcome =
                        "node \(evm.nodeName) cordoned, \(evicted) pod(s) evicted\(failed > 0 ? ", \(failed) eviction(s) failed" : "")"
                case .blocked(let pod):
                    outcome = "node \(evm.nodeName): eviction of \(pod) blocked"
                }
            } catch {
                outcome = "drain of node \(evm.nodeName) failed: \(error)"
            }
        }
        let message = "\(reason); \(outcome)"
        logger.warning("deadline drain", metadata: ["evm": "\(evmID)", "outcome": "\(outcome)"])
        _ = try? await store.write { tx in
            try tx.append(Event(time: time, object: ObjectRef(.evm, evmID), reason: "DeadlineDrain", message: message, type: .warning))
        }
    }
}

/// EVMs already drained for a deadline (and records already reported as skipped), so each is handled once.
actor DrainedSet {
    private var ids: Set<String> = []
    func insert(_ id: String) -> Bool { ids.insert(id).inserted }
}

/// How far apart a loop whose pass reads the whole fleet runs its passes: at least its own interval, and at least
/// ``busyShare`` times the last pass's duration, so a fleet large enough to make a pass slow is gone over less often
/// instead of keeping a core busy. The rebalancer and the Kubernetes projection both pace themselves by it.
enum PassPacing {
    static let busyShare = 20

    static func gap(after pass: Duration, atLeast interval: Duration) -> Duration {
        max(interval, pass * busyShare)
    }
}
