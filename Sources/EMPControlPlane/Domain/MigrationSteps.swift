import EMPModel
import EMPScheduling
import EMPStore
import Foundation

/// A migration to start: what the planner or an operator asks for.
struct MigrationRequest: Sendable {
    var evmID: String
    var to: String
    var reason: MigrationReason
    var explanation: String
    var bytes: Int64 = 0
    var postCopy = false
}

extension StoreWriting {
    /// Starts a migration in this transaction: checks the EVM, the target and the concurrency limits, marks the EVM
    /// `migrating`, stores the record `preparing` and wakes both agents (the destination prepares, then the source
    /// runs it). Throws a ``DomainError`` naming what stands in the way.
    func beginMigration(_ request: MigrationRequest, limits: MigrationLimits, at time: Date) throws -> Migration {
        guard var evm = try evm(request.evmID) else { throw DomainError.notFound("EVM \(request.evmID)") }
        guard evm.phase == .running || (evm.phase == .warm && evm.hold != .saved), let from = evm.hostID else {
            let saved = evm.hold == .saved ? " (this warm EVM is saved to disk, not running)" : ""
            throw DomainError.conflict("EVM \(evm.id) is \(evm.phase.rawValue); only running and warm EVMs migrate\(saved)")
        }
        guard let target = try host(request.to) else { throw DomainError.notFound("host \(request.to)") }
        guard let pool = try pool(evm.poolID) else { throw DomainError.notFound("pool \(evm.poolID)") }
        guard target.id != from else { throw DomainError.invalid("EVM \(evm.id) is already on \(from)", field: "to") }
        guard target.poolID == evm.poolID else {
            throw DomainError.invalid("host \(target.id) is in pool \(target.poolID), EVM \(evm.id) in pool \(evm.poolID)", field: "to")
        }
        guard target.acceptsPlacements else {
            throw DomainError.conflict(
                "host \(target.id) does not receive EVMs (\(target.effectiveState.rawValue)\(target.deadline == nil ? "" : ", going away"))"
            )
        }
        let limit = pool.limit(of: target.capacity)
        let reserved = target.allocated + (try incomingAllocations()[target.id] ?? .zero)
        guard (reserved + evm.shape.resources).fits(in: limit) else {
            throw DomainError.conflict(
                "host \(target.id) has no room for \(evm.shape.resources): \(reserved) of \(limit) allocated or arriving")
        }
        let active = try migrations(MigrationFilter(states: [.preparing, .running])).map {
            MigrationLimits.Active(from: $0.from, to: $0.to)
        }
        let poolHosts = Set(try hosts(pool: pool.id).map(\.id))
        if let refusal = limits.refusal(from: from, to: target.id, pool: pool.id, poolHosts: poolHosts, active: active) {
            throw DomainError.conflict(refusal)
        }
        var migration = Migration(
            id: "mig-" + UUID().uuidString.lowercased().prefix(8), evmID: evm.id, from: from, to: target.id, reason: request.reason,
            bytes: request.bytes, state: .preparing, createdAt: time)
        migration.explanation = request.explanation
        migration.postCopy = request.postCopy
        evm.phase = .migrating
        try save(evm)
        try save(migration)
        try bumpRevision(HostRevision.scope(from))
        try bumpRevision(HostRevision.scope(target.id))
        try append(
            Event(
                time: time, object: ObjectRef(.evm, evm.id), reason: "MigrationStarted",
                message: "\(migration.id): \(from) → \(target.id) (\(request.reason.rawValue): \(request.explanation))"))
        return migration
    }

    /// Ends a migration that libvirt completed: the EVM's record and both hosts' allocations move together.
    func completeMigration(_ id: String, progress: MigrationProgress?, at time: Date) throws -> Migration {
        guard var migration = try migration(id) else { throw DomainError.notFound("migration \(id)") }
        guard migration.state.isActive else { return migration }
        if var evm = try evm(migration.evmID) {
            if var source = try host(migration.from) {
                source.allocated -= evm.shape.resources
                source.used = (source.used - (evm.used ?? .zero)).componentMax(.zero)
                try save(source)
            }
            if var target = try host(migration.to) {
                target.allocated += evm.shape.resources
                target.used += evm.used ?? .zero
                try save(target)
            }
            evm.hostID = migration.to
            evm.previousHostID = migration.from
            evm.lastMigratedAt = time
            if evm.phase == .migrating { evm.phase = evm.warm != nil ? .warm : .running }
            try save(evm)
        }
        migration.state = .completed
        migration.finishedAt = time
        if let progress {
            migration.progress = progress
            if let sent = progress.dataProcessedBytes { migration.bytes = sent }
        }
        try save(migration)
        try bumpRevision(HostRevision.scope(migration.from))
        try bumpRevision(HostRevision.scope(migration.to))
        let downtime = migration.progress?.downtimeMilliseconds.map { ", downtime \($0) ms" } ?? ""
        try append(
            Event(
                time: time, object: ObjectRef(.evm, migration.evmID), reason: "Migrated",
                message:
                    "\(migration.id): now on \(migration.to) (was \(migration.from)), \(Resources.formatBytes(migration.bytes)) sent\(downtime)"
            ))
        return migration
    }

    /// Ends a migration that failed or was cancelled: the EVM stays where it was.
    func failMigration(_ id: String, message: String, at time: Date) throws -> Migration {
        guard var migration = try migration(id) else { throw DomainError.notFound("migration \(id)") }
        guard migration.state.isActive else { return migration }
        if var evm = try evm(migration.evmID), evm.phase == .migrating {
            evm.phase = evm.warm != nil ? .warm : .running
            try save(evm)
        }
        migration.state = .failed
        migration.message = message
        migration.finishedAt = time
        try save(migration)
        try bumpRevision(HostRevision.scope(migration.from))
        try bumpRevision(HostRevision.scope(migration.to))
        try append(
            Event(
                time: time, object: ObjectRef(.evm, migration.evmID), reason: "MigrationFailed",
                message: "\(migration.id) to \(migration.to): \(message); the EVM stays on \(migration.from)", type: .warning))
        return migration
    }

    /// Cancels a migration: one still preparing fails at once; a running one is aborted by the source agent,
    /// which then reports it failed.
    func cancelMigration(_ id: String, at time: Date) throws -> Migration {
        guard var migration = try migration(id) else { throw DomainError.notFound("migration \(id)") }
        switch migration.state {
        case .preparing:
            return try failMigration(id, message: "cancelled by an operator", at: time)
        case .running:
            migration.cancelRequested = true
            try save(migration)
            try bumpRevision(HostRevision.scope(migration.from))
            try append(
                Event(time: time, object: ObjectRef(.migration, id), reason: "CancelRequested", message: "the source agent aborts the job"))
            return migration
        default:
            throw DomainError.conflict(
                "migration \(id) is \(migration.state.rawValue); only preparing or running migrations can be cancelled")
        }
    }
}
