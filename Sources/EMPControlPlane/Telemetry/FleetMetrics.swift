import EMPModel
import Foundation
import Metrics
import Synchronization

/// The fleet's figures at `/metrics`, in base units (cores, bytes, seconds, dollars): per host from each minute's
/// pool sample, per EVM from each agent report, migrations as they end. Names follow Prometheus conventions.
enum FleetMetrics {
    /// When each host's EVM figures were last recorded: at most every ``evmInterval`` per host, so a thousand
    /// reports a second do not each look up fifty series (scrapes come every 15–60 s anyway).
    private static let lastRecorded = Mutex<[String: ContinuousClock.Instant]>([:])
    static let evmInterval: Duration = .seconds(10)

    /// Usage and contention of the EVMs one report covers; the series of EVMs that are gone are removed.
    static func record(_ outcome: ReportOutcome) {
        for evm in outcome.deleted + outcome.forgotten { forget(evm) }
        let now = ContinuousClock.now
        let due = lastRecorded.withLock { last -> Bool in
            if let previous = last[outcome.host.id], now - previous < evmInterval, outcome.deleted.isEmpty { return false }
            last[outcome.host.id] = now
            return true
        }
        guard due else { return }
        for evm in outcome.evms {
            let labels = [("pool", evm.poolID), ("evm", evm.id)]
            if let used = evm.used {
                Gauge(label: "emp_evm_memory_rss_bytes", dimensions: labels).record(used.memoryBytes)
                Gauge(label: "emp_evm_cpu_used_cores", dimensions: labels).record(Double(used.cpuMillis) / 1000)
            }
            if let steal = evm.contention?.stealMillis {
                Gauge(label: "emp_evm_cpu_steal_cores", dimensions: labels).record(Double(steal) / 1000)
            }
            if let memory = evm.contention?.memory {
                for (name, value) in guestMemory(memory) {
                    if let value { Gauge(label: name, dimensions: labels).record(value) }
                }
            }
        }
    }

    static let evmGauges = [
        "emp_evm_memory_rss_bytes", "emp_evm_cpu_used_cores", "emp_evm_cpu_steal_cores", "emp_evm_guest_swap_in_bytes",
        "emp_evm_guest_swap_out_bytes", "emp_evm_guest_memory_unused_bytes", "emp_evm_guest_memory_available_bytes",
    ]

    private static func guestMemory(_ memory: GuestMemory) -> [(String, Int64?)] {
        [
            ("emp_evm_guest_swap_in_bytes", memory.swapInBytes), ("emp_evm_guest_swap_out_bytes", memory.swapOutBytes),
            ("emp_evm_guest_memory_unused_bytes", memory.unusedBytes), ("emp_evm_guest_memory_available_bytes", memory.availableBytes),
        ]
    }

    static func forget(_ evm: EVM) {
        for name in evmGauges { Gauge(label: name, dimensions: [("pool", evm.poolID), ("evm", evm.id)]).destroy() }
    }

    /// Each host's limit (capacity × overcommit), allocation and use, and the pool's hosts by state.
    static func record(pool: Pool, hosts: [EMPModel.Host]) {
        for host in hosts {
            let labels = [("pool", pool.id), ("host", host.id)]
            let limit = pool.limit(of: host.capacity)
            for (kind, figures) in [("limit", limit), ("allocated", host.allocated), ("used", host.used)] {
                Gauge(label: "emp_host_cpu_\(kind)_cores", dimensions: labels).record(Double(figures.cpuMillis) / 1000)
                Gauge(label: "emp_host_memory_\(kind)_bytes", dimensions: labels).record(figures.memoryBytes)
            }
        }
        for state in HostState.allCases {
            Gauge(label: "emp_hosts", dimensions: [("pool", pool.id), ("state", state.rawValue)])
                .record(hosts.filter { $0.effectiveState == state }.count)
        }
    }

    /// A migration that just ended: counted by outcome, its duration and the bytes it moved.
    static func ended(_ migration: Migration) {
        switch migration.state {
        case .completed:
            Counter(label: "emp_migrations_completed_total", dimensions: [("reason", migration.reason.rawValue)]).increment()
            if let started = migration.startedAt, let finished = migration.finishedAt, finished >= started {
                Metrics.Timer(label: "emp_migration_duration_seconds").recordSeconds(finished.timeIntervalSince(started))
            }
            if let bytes = migration.progress?.dataProcessedBytes, bytes > 0 {
                Counter(label: "emp_migration_transferred_bytes_total").increment(by: bytes)
            }
        case .failed:
            Counter(label: "emp_migrations_failed_total", dimensions: [("reason", migration.reason.rawValue)]).increment()
        default:
            break
        }
    }
}
