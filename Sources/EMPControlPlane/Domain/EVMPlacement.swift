import EMPModel
import EMPScheduling
import EMPStore
import Foundation

/// Creates EVMs and places them in one store transaction with their hosts' allocations, so concurrent
/// requests can never push a host past capacity × overcommit (the store serializes write transactions).
struct EVMPlacement: Sendable {
    let store: any StateStore
    /// Share of an EVM's size counted against the host's usage watermark at placement.
    let expectedUseFraction: Double

    /// Places `count` new EVMs of the pool's shape, all or none.
    /// - Throws: ``DomainError`` `notFound` for an unknown pool, `conflict` past the pool's max EVMs, and
    ///   `insufficientCapacity` (with how many would fit) when the hosts lack room.
    /// `warm` creates warm capacity (see ``WarmMode``).
    func create(count: Int, poolID: String, at time: Date, warm: WarmMode? = nil) async throws -> [EVM] {
        let fraction = expectedUseFraction
        return try await store.write { tx in
            guard let pool = try tx.pool(poolID) else { throw DomainError.notFound("pool \(poolID)") }
            // Counted and named by index: no EVM of the pool is read inside this write.
            let existing = try tx.evmCount(EVMFilter(poolID: poolID, phases: Set(EVMPhase.allCases).subtracting([.deleting, .lost])))
            guard existing + count <= pool.policy.maxEVMs else {
                throw DomainError.conflict("pool \(poolID) has \(existing) EVMs; \(count) more would exceed maxEVMs \(pool.policy.maxEVMs)")
            }
            let hosts = try tx.hosts(pool: poolID)
            let size = pool.shape.resources
            let expected = size.scaled(cpu: fraction, memory: fraction)
            var ids = Set<String>()
            let requests = try (0..<count).map { _ in
                PlacementRequest(
                    id: try EVMName.unique(pool: poolID, avoiding: &ids, taken: tx.evmExists), size: size, expectedUse: expected)
            }
            // EVMs migrating in have their room reserved on their target until they land.
            let incoming = try tx.incomingAllocations()
            let snapshots = hosts.map { host in
                var snapshot = HostSnapshot(host, policy: pool.policy, now: time)
                snapshot.allocated += incoming[host.id] ?? .zero
                return snapshot
            }
            let result = Placer(policy: pool.policy.placement).place(requests, on: snapshots)
            if let miss = result.unplaced.first {
                throw DomainError.insufficientCapacity(
                    "cannot place \(count) EVMs in pool \(poolID): \(miss.reason)", evmsThatFit: result.placements.count)
            }
            var byID = Dictionary(uniqueKeysWithValues: hosts.map { ($0.id, $0) })
            var created: [EVM] = []
            for placement in result.placements {
                guard var host = byID[placement.hostID] else { continue }
                host.allocated += size
                host.used += expected
                byID[host.id] = host
                var evm = EVM(
                    id: placement.evmID, poolID: poolID, hostID: host.id, shape: pool.shape, phase: .creating,
                    nodeName: placement.evmID, createdAt: time
                )
                evm.warm = warm
                try tx.save(evm)
                let kind = warm.map { " as warm capacity (\($0.rawValue))" } ?? ""
                try tx.append(
                    Event(time: time, object: ObjectRef(.evm, evm.id), reason: "Placed", message: "placed on host \(host.id)\(kind)"))
                created.append(evm)
            }
            for host in Set(result.placements.map(\.hostID)).sorted() {
                if let updated = byID[host] { try tx.save(updated) }
                try tx.bumpRevision(HostRevision.scope(host))
            }
            return created
        }
    }
}

extension StoreWriting {
    /// Hands up to `count` of pool `poolID`'s warm EVMs whose kubelet has joined to pods: each becomes an ordinary
    /// running EVM (its agent resumes or restores a held domain, the warm taint goes). Running ones first (instant),
    /// then paused, then saved (a restore reads the memory back), the oldest first within a mode. Returns the claimed
    /// EVMs.
    func claimWarm(count: Int, poolID: String, at time: Date) throws -> [EVM] {
        guard count > 0 else { return [] }
        let ready = try evms(EVMFilter(poolID: poolID, phases: [.warm])).filter { $0.nodeReadyAt != nil }
        let order: [WarmMode: Int] = [.running: 0, .paused: 1, .saved: 2]
        let chosen = ready.sorted { a, b in
            (order[a.warm ?? .running] ?? 0, a.createdAt, a.id) < (order[b.warm ?? .running] ?? 0, b.createdAt, b.id)
        }.prefix(count)
        var claimed: [EVM] = []
        for var evm in chosen {
            let mode = evm.warm?.rawValue ?? "running"
            evm.phase = .running
            evm.warm = nil
            evm.claimedAt = time
            try save(evm)
            if let host = evm.hostID { try bumpRevision(HostRevision.scope(host)) }
            try append(
                Event(
                    time: time, object: ObjectRef(.evm, evm.id), reason: "WarmEVMClaimed",
                    message:
                        "warm EVM (\(mode)) handed to pending pods\(mode == "paused" ? "; resuming its domain" : mode == "saved" ? "; restoring its domain" : "")"
                ))
            claimed.append(evm)
        }
        return claimed
    }
}

/// EVM names in the seed's style: `<pool>-<6 lowercase letters and digits>` (`pf9-demo-ehmd82`).
enum EVMName {
    static let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")

    /// A name not in `chosen` (this request's) and not `taken` (stored).
    static func unique(pool: String, avoiding chosen: inout Set<String>, taken: (String) throws -> Bool) rethrows -> String {
        var generator = SystemRandomNumberGenerator()
        while true {
            let suffix = String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
            let name = "\(pool)-\(suffix)"
            if try !taken(name), chosen.insert(name).inserted { return name }
        }
    }
}
