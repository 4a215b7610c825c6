import EMPModel

/// Built-in days of demand, reproducible from a seed: `diurnal` (a trading day with a market-open spike, seed 002's
/// platform), `batch` (a night of jobs beside a small daytime service) and `flat`. Samples every 5 minutes.
public enum TraceGenerator: String, Sendable, CaseIterable {
    case diurnal, batch, flat

    /// Seconds between samples.
    public static let interval = 300

    public func trace(seed: UInt64) -> DemandTrace {
        var random = SimRandom(seed: seed)
        var samples: [DemandTrace.Sample] = []
        for workload in workloads {
            for time in stride(from: 0, through: 86_400 - Self.interval, by: Self.interval) {
                let hour = Double(time) / 3600
                let base = workload.replicas(hour)
                // ±5 % on replicas, ±15 % on usage: the same seed gives the same day.
                let replicas = base == 0 ? 0 : max(0, Int((Double(base) * (0.95 + 0.1 * random.unit())).rounded()))
                let usage = workload.usage.scaled(cpu: 0.85 + 0.3 * random.unit(), memory: 0.85 + 0.3 * random.unit())
                samples.append(
                    DemandTrace.Sample(time: time, workload: workload.name, replicas: replicas, request: workload.request, usage: usage))
            }
        }
        // A generator's day always has pods.
        return try! DemandTrace(samples)
    }

    struct Workload {
        var name: String
        var request: Resources
        var usage: Resources
        var replicas: (Double) -> Int
    }

    var workloads: [Workload] {
        func ramp(_ hour: Double, from start: Double, to end: Double, _ low: Int, _ high: Int) -> Int {
            if hour <= start { return low }
            if hour >= end { return high }
            return low + Int(Double(high - low) * (hour - start) / (end - start))
        }
        switch self {
        case .diurnal:
            return [
                Workload(
                    name: "web", request: Resources(cpuMillis: 500, memoryBytes: 1 << 30),
                    usage: Resources(cpuMillis: 150, memoryBytes: 600 << 20),
                    replicas: { hour in hour < 12 ? ramp(hour, from: 7, to: 9, 100, 600) : ramp(hour, from: 17, to: 20, 600, 100) }),
                Workload(
                    name: "pricing", request: Resources(cpuMillis: 2000, memoryBytes: 4 << 30),
                    usage: Resources(cpuMillis: 900, memoryBytes: 2560 << 20),
                    replicas: { hour in
                        switch hour {
                        case 9.5..<10: 900
                        case 10..<16: 300
                        case 8..<9.5: 60
                        default: 20
                        }
                    }),
                Workload(
                    name: "risk-batch", request: Resources(cpuMillis: 1000, memoryBytes: 2 << 30),
                    usage: Resources(cpuMillis: 800, memoryBytes: 1536 << 20),
                    replicas: { hour in (18..<22).contains(hour) ? 400 : 0 }),
            ]
        case .batch:
            return [
                Workload(
                    name: "api", request: Resources(cpuMillis: 500, memoryBytes: 1 << 30),
                    usage: Resources(cpuMillis: 200, memoryBytes: 700 << 20), replicas: { _ in 100 }),
                Workload(
                    name: "etl", request: Resources(cpuMillis: 1000, memoryBytes: 4 << 30),
                    usage: Resources(cpuMillis: 700, memoryBytes: 2560 << 20),
                    replicas: { hour in
                        // Waves of jobs from 22:00 to 05:00: 800 in the first hour of every two, 300 in the second.
                        let night = hour >= 22 ? hour - 22 : hour + 2
                        guard night < 7 else { return 0 }
                        return night.truncatingRemainder(dividingBy: 2) < 1 ? 800 : 300
                    }),
            ]
        case .flat:
            return [
                Workload(
                    name: "api", request: Resources(cpuMillis: 500, memoryBytes: 1 << 30),
                    usage: Resources(cpuMillis: 150, memoryBytes: 600 << 20), replicas: { _ in 300 })
            ]
        }
    }
}

/// SplitMix64: a small, fast generator whose sequence depends only on its seed (the simulator's determinism).
struct SimRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// In [0, 1).
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
