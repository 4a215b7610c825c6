import EMPModel
import EMPStore
import Foundation

extension StoreWriting {
    /// Marks EVM `id` deleting in this transaction: its host's revision moves, so the agent destroys the domain
    /// (and the record goes once it reports the domain gone), and `reason` is logged. An EVM already deleting is
    /// left as it is. Returns the EVM as stored, or nil when there is none.
    func markDeleting(_ id: String, at time: Date, reason: String, message: String) throws -> EVM? {
        guard var evm = try evm(id) else { return nil }
        guard evm.phase != .deleting else { return evm }
        evm.phase = .deleting
        try save(evm)
        if let host = evm.hostID { try bumpRevision(HostRevision.scope(host)) }
        try append(Event(time: time, object: ObjectRef(.evm, id), reason: reason, message: message))
        return evm
    }
}
