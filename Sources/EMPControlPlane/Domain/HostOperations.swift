import EMPModel
import EMPStore
import Foundation

/// What an operator does to a host (API and console alike): cordon, uncordon, maintenance on or off.
enum HostOperation: Sendable {
    case cordon
    case uncordon
    case maintenance(Bool)

    var reason: String {
        switch self {
        case .cordon: "Cordoned"
        case .uncordon: "Uncordoned"
        case .maintenance(let on): on ? "MaintenanceOn" : "MaintenanceOff"
        }
    }

    var message: String {
        switch self {
        case .cordon: "no new EVMs will be placed here"
        case .uncordon: "accepting EVMs again"
        case .maintenance(let on): on ? "maintenance on: the host will be evacuated" : "maintenance off"
        }
    }

    func change(_ host: inout EMPModel.Host) throws {
        switch self {
        case .cordon:
            host.cordoned = true
        case .uncordon:
            guard host.state != .lost else {
                throw DomainError.conflict("host \(host.id) is lost and its agent has not reported since; uncordon it once it is back")
            }
            host.cordoned = false
        case .maintenance(let on):
            host.maintenance = on
        }
    }
}

extension StoreWriting {
    /// Changes host `id` and records why; an unchanged host records nothing. The rebalancer plans at once, in case the
    /// host must now be emptied.
    func changeHost(
        _ id: String, reason: String, message: String, at time: Date, _ change: (inout EMPModel.Host) throws -> Void
    ) throws -> EMPModel.Host {
        guard var host = try self.host(id) else { throw DomainError.notFound("host \(id)") }
        let before = host
        try change(&host)
        guard host != before else { return host }
        try save(host)
        try append(Event(time: time, object: ObjectRef(.host, id), reason: reason, message: message))
        try bumpRevision(RebalanceRevision.scope)
        return host
    }

    func apply(_ operation: HostOperation, toHost id: String, at time: Date) throws -> EMPModel.Host {
        try changeHost(id, reason: operation.reason, message: operation.message, at: time, operation.change)
    }
}
