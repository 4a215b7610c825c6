import EMPModel
public import Foundation
import Hummingbird

/// The control plane's decoders of untrusted bodies, reachable from outside the module so the fuzz targets
/// (Tests/Fuzz, `make fuzz`) drive exactly the code the HTTP routes run: strict JSON, field checks, and the
/// validation each route applies before it touches the store. Each returns normally or throws; it must never trap.
public enum UntrustedInput {
    /// Every operator request body, as its route decodes and validates it.
    public static func operatorBody(_ data: Data) {
        let created = Date(timeIntervalSince1970: 1_700_000_000)
        let pool = try? StrictJSON.decode(PoolRequest.self, from: data).pool(createdAt: created)
        if let update = try? StrictJSON.decode(PoolUpdateRequest.self, from: data).update {
            let base = pool ?? Pool(id: "fuzz", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)), createdAt: created)
            _ = try? update.applied(to: base)
        }
        _ = try? StrictJSON.decode(EVMCreateRequest.self, from: data)
        _ = try? StrictJSON.decode(MaintenanceRequest.self, from: data)
        _ = try? StrictJSON.decode(TokenCreateRequest.self, from: data)
        _ = try? StrictJSON.decode(MigrateRequest.self, from: data)
        _ = try? StrictJSON.decode(InterruptRequest.self, from: data)
    }

    /// Agent joins, reports (checked against a host and an EVM, then recorded as the report route does) and
    /// migration updates.
    public static func agentBody(_ data: Data) {
        if let join = try? StrictJSON.decode(JoinWire.self, from: data).request {
            _ = try? HostName.validate(join.hostID ?? HostName.sanitize(join.inventory.hostname))
            if (try? join.inventory.validate()) != nil { _ = join.inventory.capacity }
        }
        if let report = try? StrictJSON.decode(ReportWire.self, from: data).report {
            let time = Date(timeIntervalSince1970: 1_700_000_000)
            var evm = EVM(
                id: report.domains.first?.evmID ?? "evm", poolID: "p", hostID: "h", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)),
                phase: .running, nodeName: "evm", createdAt: time)
            evm.cpuSample = CPUSample(cpuTimeNanoseconds: 1_000, at: time - 10, instance: report.domains.first?.instance)
            let capacity = Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256))
            if (try? report.validate(capacity: capacity, evms: [evm.id: evm])) != nil {
                for domain in report.domains where domain.evmID == evm.id {
                    AgentReports.recordUsage(domain, into: &evm, at: time)
                }
                _ = evm.implausibility
            }
        }
        _ = try? StrictJSON.decode(MigrationUpdateWire.self, from: data)
    }
}
