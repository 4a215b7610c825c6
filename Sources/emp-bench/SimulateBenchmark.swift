import EMPSimulation
import Foundation

/// `empctl simulate` on the built-in trading day (issue 21: a day in under a minute on 2 cores): the default 10 s
/// step beside a 1 s step (ten times the decisions, the finer baseline), wall time for the three scenarios.
func simulateBenchmark() throws {
    let trace = TraceGenerator.diurnal.trace(seed: 1)
    print("simulate: the built-in diurnal day (seed 1, peak \(trace.peakPods) pods), three scenarios")
    for step in [10, 1] {
        var settings = SimulationSettings()
        settings.step = step
        let start = ContinuousClock.now
        let result = try Simulation(trace: trace, settings: settings, duration: 86_400).run()
        let elapsed = seconds(ContinuousClock.now - start)
        report("\(step) s steps: wall time for the day", elapsed, "s")
        let emp = result.scenarios.first { $0.name == "emp" }
        report("\(step) s steps: EMP saving against cluster-autoscaler", (result.savings["cluster-autoscaler"] ?? 0) * 100, "%")
        report("\(step) s steps: EMP EVMs at the peak", Double(emp?.series.map(\.nodes).max() ?? 0), "")
    }
}
