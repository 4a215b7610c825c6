import EMPModel
import Foundation
import NIOConcurrencyHelpers

/// Heartbeats and usage: the figures every agent report changes, and the only ones. At fleet scale writing
/// them durably per report costs a write transaction per host every few seconds; they are instead kept here,
/// laid over every host and EVM a transaction reads, and persisted in batches (``StateStore/flushSoftState(batch:evms:)``).
///
/// Why that is safe: nothing durable depends on them. Allocations, phases, migrations and desired state are
/// written per transaction as before. A crash loses the heartbeats and usage reported since the last flush; the
/// next report of each host (one report interval) brings them back, and after a restart every host gets a full
/// heartbeat timeout before it can be marked NotReady (see ``seed(_:at:)``).
///
/// - Note: Thread-safe; one lock, held for dictionary updates only.
final class SoftState: Sendable {
    struct HostEntry {
        var lastHeartbeat: Date?
        var used: Resources
        /// Mirrors the stored state, so the health check finds silent hosts without reading every host.
        var state: HostState
        /// When the store opened: silence counts from here at the earliest (see ``seed(_:at:)``).
        var seededAt: Date?
    }

    struct EVMEntry: Equatable {
        var used: Resources?
        var cpuSample: CPUSample?
        var contention: Contention?
    }

    private struct State {
        var hosts: [String: HostEntry] = [:]
        var evms: [String: EVMEntry] = [:]
        /// Changed in memory since they were last written.
        var dirtyHosts: Set<String> = []
        var dirtyEVMs: Set<String> = []
    }

    private let state = NIOLockedValueBox(State())

    // MARK: Reading

    /// `host` with its latest heartbeat and usage.
    func overlay(_ host: inout EMPModel.Host) {
        guard let entry = state.withLockedValue({ $0.hosts[host.id] }) else { return }
        Self.apply(entry, to: &host)
    }

    /// `hosts` with their latest heartbeats and usage (one lock for the list).
    func overlay(_ hosts: inout [EMPModel.Host]) {
        state.withLockedValue { state in
            for index in hosts.indices {
                if let entry = state.hosts[hosts[index].id] { Self.apply(entry, to: &hosts[index]) }
            }
        }
    }

    private static func apply(_ entry: HostEntry, to host: inout EMPModel.Host) {
        guard let heartbeat = entry.lastHeartbeat, heartbeat >= (host.lastHeartbeat ?? .distantPast) else { return }
        host.lastHeartbeat = heartbeat
        host.used = entry.used
    }

    /// `evms` with their latest usage.
    func overlay(_ evms: inout [EVM]) {
        state.withLockedValue { state in
            for index in evms.indices {
                guard let entry = state.evms[evms[index].id] else { continue }
                evms[index].used = entry.used
                evms[index].cpuSample = entry.cpuSample
                evms[index].contention = entry.contention
            }
        }
    }

    /// Hosts in `hostState` whose last heartbeat is at or before `cutoff`.
    func silentHosts(heartbeatAtOrBefore cutoff: Date, in hostState: HostState) -> [String] {
        state.withLockedValue { state in
            state.hosts.compactMap { id, entry in
                guard entry.state == hostState, let last = entry.lastHeartbeat, max(last, entry.seededAt ?? last) <= cutoff else {
                    return nil
                }
                return id
            }.sorted()
        }
    }

    /// How many hosts and EVMs have figures not yet written.
    var unflushed: (hosts: Int, evms: Int) { state.withLockedValue { ($0.dirtyHosts.count, $0.dirtyEVMs.count) } }

    // MARK: Writing

    /// The hosts found in the store when it opens. For the health check a ready host's silence counts from `time`
    /// at the earliest: its flushed heartbeat may be older than the timeout through no fault of the host (the
    /// control plane was down). Reads still show the heartbeat as stored.
    func seed(_ hosts: [EMPModel.Host], at time: Date) {
        state.withLockedValue { state in
            for host in hosts {
                state.hosts[host.id] = HostEntry(
                    lastHeartbeat: host.lastHeartbeat, used: host.used, state: host.state, seededAt: time)
            }
        }
    }

    /// A report's figures, in memory only (`persisted` false) or already written by the same report's transaction.
    func record(host: EMPModel.Host, evms: [EVM], persisted: Bool) {
        state.withLockedValue { state in
            let seeded = state.hosts[host.id]?.seededAt
            state.hosts[host.id] = HostEntry(
                lastHeartbeat: host.lastHeartbeat, used: host.used, state: host.state, seededAt: seeded)
            for evm in evms { state.evms[evm.id] = EVMEntry(used: evm.used, cpuSample: evm.cpuSample, contention: evm.contention) }
            if persisted {
                state.dirtyHosts.remove(host.id)
                for evm in evms { state.dirtyEVMs.remove(evm.id) }
            } else {
                state.dirtyHosts.insert(host.id)
                for evm in evms { state.dirtyEVMs.insert(evm.id) }
            }
        }
    }

    /// A committed save of `host`. Its state is the truth; its heartbeat and usage replace the entry's unless
    /// a report recorded newer ones meanwhile (a flush racing a report must not move a heartbeat back).
    func committed(_ host: EMPModel.Host) {
        state.withLockedValue { state in
            var entry = state.hosts[host.id] ?? HostEntry(lastHeartbeat: nil, used: host.used, state: host.state, seededAt: nil)
            entry.state = host.state
            if (host.lastHeartbeat ?? .distantPast) >= (entry.lastHeartbeat ?? .distantPast) {
                entry.lastHeartbeat = host.lastHeartbeat
                entry.used = host.used
                state.dirtyHosts.remove(host.id)
            }
            state.hosts[host.id] = entry
        }
    }

    /// A committed save of `evm`: its figures are written when they equal the entry's.
    func committed(_ evm: EVM) {
        state.withLockedValue { state in
            if state.evms[evm.id] == EVMEntry(used: evm.used, cpuSample: evm.cpuSample, contention: evm.contention) {
                state.dirtyEVMs.remove(evm.id)
            }
        }
    }

    func removed(host id: String) {
        state.withLockedValue { state in
            state.hosts[id] = nil
            state.dirtyHosts.remove(id)
        }
    }

    func removed(evm id: String) {
        state.withLockedValue { state in
            state.evms[id] = nil
            state.dirtyEVMs.remove(id)
        }
    }

    /// The hosts and EVMs with unwritten figures, sorted.
    func dirty() -> (hosts: [String], evms: [String]) {
        state.withLockedValue { ($0.dirtyHosts.sorted(), $0.dirtyEVMs.sorted()) }
    }
}
