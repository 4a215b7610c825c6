import EMPModel
import EMPScheduling
import EMPStore
import Foundation

extension StoreReading {
    /// What active migrations will add to each target host: counted against its room before they complete.
    func incomingAllocations() throws -> [String: Resources] {
        var incoming: [String: Resources] = [:]
        for migration in try migrations(MigrationFilter(states: [.preparing, .running])) {
            guard let evm = try evm(migration.evmID) else { continue }
            incoming[migration.to, default: .zero] += evm.shape.resources
        }
        return incoming
    }

    /// The scheduling snapshot of one pool (or all): hosts under their pools' policies, running and migrating EVMs
    /// with their cooldown and previous host, and the migrations in flight with their remaining time.
    func snapshot(pool poolFilter: String?, at time: Date, settings: RebalanceSettings) throws -> Snapshot {
        var skipped: [ObjectRef: String] = [:]
        return try snapshot(pool: poolFilter, at: time, settings: settings, skipped: &skipped)
    }

    /// The same, adding to `skipped` each host or EVM left out because its stored figures are implausible
    /// (``Host/implausibility``): one bad record must not stop the planning of the rest, nor crash it.
    func snapshot(pool poolFilter: String?, at time: Date, settings: RebalanceSettings, skipped: inout [ObjectRef: String]) throws
        -> Snapshot
    {
        let pools = try pools().filter { poolFilter == nil || $0.id == poolFilter }
        if let poolFilter, pools.isEmpty { throw DomainError.notFound("pool \(poolFilter)") }
        var snapshot = Snapshot(hosts: [])
        let active = try migrations(MigrationFilter(states: [.preparing, .running]))
        for pool in pools {
            snapshot.pools.append(PoolSnapshot(id: pool.id, minHosts: pool.policy.minHosts))
            var hosts: [EMPModel.Host] = []
            for host in try self.hosts(pool: pool.id) {
                if let problem = host.implausibility {
                    skipped[ObjectRef(.host, host.id)] = problem
                } else {
                    hosts.append(host)
                }
            }
            snapshot.hosts += hosts.map { HostSnapshot($0, policy: pool.policy, now: time) }
            let planned = Set(hosts.map(\.id))
            for evm in try evms(EVMFilter(poolID: pool.id, phases: [.running, .warm, .migrating])) {
                // A warm EVM saved to disk has no running domain to move; its allocation stays in its host's.
                guard let host = evm.hostID, planned.contains(host), evm.hold != .saved else { continue }
                if let problem = evm.implausibility {
                    skipped[ObjectRef(.evm, evm.id)] = problem
                    continue
                }
                snapshot.evms.append(
                    EVMSnapshot(
                        id: evm.id, hostID: host, size: evm.shape.resources, used: evm.used ?? .zero,
                        secondsSinceMigration: evm.lastMigratedAt.map { time.timeIntervalSince($0) }, previousHostID: evm.previousHostID,
                        warm: evm.warm != nil ? true : nil))
            }
            let ids = Set(hosts.map(\.id))
            for migration in active where ids.contains(migration.from) {
                let remaining = migration.progress?.dataRemainingBytes.map { Double($0) / settings.bandwidthBytesPerSecond }
                snapshot.inFlight.append(
                    InFlightMigration(evmID: migration.evmID, from: migration.from, to: migration.to, remainingSeconds: remaining))
                // Plan as if it had landed: the target's room is spoken for, the source's is about to free up.
                guard let e = snapshot.evms.firstIndex(where: { $0.id == migration.evmID }),
                    let from = snapshot.hosts.firstIndex(where: { $0.id == migration.from }),
                    let to = snapshot.hosts.firstIndex(where: { $0.id == migration.to })
                else { continue }
                let evm = snapshot.evms[e]
                snapshot.evms[e].hostID = migration.to
                snapshot.hosts[from].allocated -= evm.size
                snapshot.hosts[from].used = (snapshot.hosts[from].used - evm.used).componentMax(.zero)
                snapshot.hosts[to].allocated += evm.size
                snapshot.hosts[to].used += evm.used
            }
        }
        return snapshot
    }
}
