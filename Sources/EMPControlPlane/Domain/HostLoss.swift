import EMPModel
import EMPStore
import Foundation

extension StoreWriting {
    /// Writes off host `id` in this transaction: the host becomes `lost` and cordoned (it returns to service only
    /// when an operator uncordons it), its migrations fail, its EVMs become `lost` with their allocation released
    /// (the autoscaler deletes their Nodes and places replacements), and EVMs it was deleting are forgotten.
    /// Returns the EVMs written off; nothing when the host is not NotReady any more.
    func markHostLost(_ id: String, silentFor seconds: Int, at time: Date) throws -> [EVM] {
        guard var host = try host(id), host.state == .notReady else { return [] }
        for migration in try migrations(MigrationFilter(hostID: id, states: [.preparing, .running])) {
            _ = try failMigration(migration.id, message: "host \(id) was lost", at: time)
        }
        var lost: [EVM] = []
        for var evm in try evms(EVMFilter(hostID: id)) where evm.phase != .lost {
            host.allocated -= evm.shape.resources
            if evm.phase == .deleting {
                try deleteEVM(evm.id)
                continue
            }
            evm.phase = .lost
            evm.message = "host \(id) was lost"
            try save(evm)
            try append(
                Event(
                    time: time, object: ObjectRef(.evm, evm.id), reason: "EVMLost",
                    message: "host \(id) lost; the EVM is written off and replaced elsewhere", type: .warning))
            lost.append(evm)
        }
        host.allocated = host.allocated.componentMax(.zero)
        host.state = .lost
        host.cordoned = true
        try save(host)
        try append(
            Event(
                time: time, object: ObjectRef(.host, id), reason: "HostLost",
                message:
                    "no heartbeat for \(seconds) s: \(lost.count) EVMs written off; if it returns its agent destroys them and the host stays cordoned until `empctl host uncordon \(id)`",
                type: .warning))
        try bumpRevision(HostRevision.scope(id))
        try bumpRevision(RebalanceRevision.scope)
        return lost
    }
}
