import EMPModel

/// Replays a demand trace against cluster-autoscaler, Karpenter and EMP in simulated time, with the project's
/// own packer, placer, rebalancer and autoscaler decisions, and reports what each costs and how long pods waited.
/// Pure and deterministic: the same trace and settings give the same report.
///
/// ```swift
/// let report = try Simulation(trace: TraceGenerator.diurnal.trace(seed: 1)).run()
/// print(report.table())
/// ```
public struct Simulation: Sendable {
    public var trace: DemandTrace
    public var settings: SimulationSettings
    /// Simulated seconds to run (default: the trace's last sample, or a whole day for a built-in trace).
    public var duration: Int
    /// Seconds between the report's chart points.
    public var sampleEvery = 300

    public init(trace: DemandTrace, settings: SimulationSettings = SimulationSettings(), duration: Int? = nil) {
        self.trace = trace
        self.settings = settings
        self.duration = duration ?? trace.end
    }

    /// Runs every scenario; `progress` is told the share done (0…1) now and then.
    public func run(progress: (Double) -> Void = { _ in }) throws(TraceError) -> SimulationReport {
        guard settings.step > 0 else { throw TraceError(line: nil, column: nil, message: "the step must be at least 1 s") }
        guard duration > 0 else {
            throw TraceError(line: nil, column: "timestamp", message: "the trace lasts 0 s: give a later last sample")
        }
        var results: [ScenarioResult] = []
        var ca = try ClusterAutoscalerScenario(settings: settings)
        results.append(replay(&ca, progress: { progress(Double(0) / 3 + $0 / 3) }))
        var karpenter = KarpenterScenario(settings: settings)
        results.append(replay(&karpenter, progress: { progress(Double(1) / 3 + $0 / 3) }))
        var emp = try EMPScenario(settings: settings)
        var empResult = replay(&emp, progress: { progress(Double(2) / 3 + $0 / 3) })
        empResult.scaleUps = emp.decisions.map { ScaleUp(time: $0.time, evms: $0.evms) }
        empResult.scaleDowns = emp.removals.map { ScaleUp(time: $0.time, evms: $0.evms) }
        results.append(empResult)
        progress(1)
        return SimulationReport(
            durationSeconds: duration, stepSeconds: settings.step, peakPods: trace.peakPods, workloads: trace.workloads, scenarios: results)
    }

    func replay<S: Scenario>(_ scenario: inout S, progress: (Double) -> Void) -> ScenarioResult {
        var cluster = SimCluster(trace: trace, podStartSeconds: settings.podStartSeconds)
        var ledger = Ledger()
        var series: [SeriesPoint] = []
        let step = settings.step
        cluster.follow(to: 0)
        scenario.bootstrap(&cluster)
        var time = 0
        while time < duration {
            cluster.follow(to: time)
            cluster.schedule(at: time)
            if time > 0 { scenario.step(&cluster, at: time) }
            cluster.schedule(at: time)
            let held = scenario.held(cluster, at: time)
            let requested = cluster.requested
            let used = cluster.used
            ledger.add(held: held, requested: requested, used: used, seconds: step)
            if time % sampleEvery == 0 {
                series.append(
                    SeriesPoint(
                        time: time, demandCPU: Double(cluster.demand.cpuMillis) / 1000, capacityCPU: Double(held.capacity.cpuMillis) / 1000,
                        hourly: held.hourly, cost: ledger.cost, pending: cluster.pending.count, nodes: cluster.nodes.count,
                        machines: held.machines
                    ))
            }
            time += step
            if time % 3600 == 0 { progress(Double(time) / Double(duration)) }
        }
        let waits = cluster.waits.sorted()
        func percentile(_ p: Double) -> Int {
            waits.isEmpty ? 0 : waits[min(waits.count - 1, Int((Double(waits.count) * p).rounded(.up)) - 1)]
        }
        return ScenarioResult(
            name: scenario.name, cost: ledger.cost, hourlyCost: ledger.cost / (Double(duration) / 3600),
            machineHours: ledger.machineSeconds / 3600,
            requestedShare: ledger.share(\.requested), usedShare: ledger.share(\.used),
            usedShareMemory: ledger.memoryShare(\.used), requestedShareMemory: ledger.memoryShare(\.requested),
            pendingP50: percentile(0.5), pendingP99: percentile(0.99), pendingMax: waits.last ?? 0, podsRan: waits.count,
            neverRan: cluster.neverRan + cluster.pending.count, evictions: cluster.evictions,
            hotHostSeconds: scenario.extras.hotHostSeconds,
            migrations: scenario.extras.migrations, bytesMoved: scenario.extras.bytesMoved, warmClaims: scenario.extras.warmClaims,
            migrationSeconds: scenario.extras.migrationSeconds,
            series: series)
    }
}

/// Running totals over simulated time.
struct Ledger {
    var cost = 0.0
    var machineSeconds = 0.0
    var capacity = (cpu: 0.0, memory: 0.0)
    var requested = (cpu: 0.0, memory: 0.0)
    var used = (cpu: 0.0, memory: 0.0)

    mutating func add(held: (capacity: Resources, hourly: Double, machines: Int), requested r: Resources, used u: Resources, seconds: Int) {
        let s = Double(seconds)
        cost += held.hourly * s / 3600
        machineSeconds += Double(held.machines) * s
        capacity.cpu += Double(held.capacity.cpuMillis) * s
        capacity.memory += Double(held.capacity.memoryBytes) * s
        requested.cpu += Double(r.cpuMillis) * s
        requested.memory += Double(r.memoryBytes) * s
        used.cpu += Double(u.cpuMillis) * s
        used.memory += Double(u.memoryBytes) * s
    }

    func share(_ part: KeyPath<Ledger, (cpu: Double, memory: Double)>) -> Double {
        capacity.cpu > 0 ? self[keyPath: part].cpu / capacity.cpu : 0
    }

    func memoryShare(_ part: KeyPath<Ledger, (cpu: Double, memory: Double)>) -> Double {
        capacity.memory > 0 ? self[keyPath: part].memory / capacity.memory : 0
    }
}
