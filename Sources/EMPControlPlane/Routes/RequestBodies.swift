public import EMPModel
import Foundation

// Request and response bodies of the HTTP API (top level: generic route types cannot hold static schemas).

// The operator bodies are EMPModel's (shared with empctl); here they get their strict schemas.

extension EVMCreateRequest: StrictDecodable {
    public static let schema = FieldSchema.object(["count": .value])
}

extension MaintenanceRequest: StrictDecodable {
    public static let schema = FieldSchema.object(["enabled": .value])
}

extension TokenCreateRequest: StrictDecodable {
    public static let schema = FieldSchema.object(["ttlSeconds": .value, "hostID": .value])
}

extension MigrateRequest: StrictDecodable {
    public static let schema = FieldSchema.object(["to": .value])
}

extension InterruptRequest: StrictDecodable {
    public static let schema = FieldSchema.object(["deadlineSeconds": .value, "clear": .value])
}

/// Strict wrapper so unknown fields in a join are refused like everywhere else.
struct JoinWire: StrictDecodable {
    let request: JoinRequest
    init(from decoder: any Decoder) throws { request = try JoinRequest(from: decoder) }
    static let schema = FieldSchema.object([
        "token": .value, "hostID": .value,
        "inventory": .object([
            "hostname": .value, "cores": .value, "memoryBytes": .value, "cpuModel": .value, "hostUUID": .value,
            "libvirtVersion": .value, "hypervisorVersion": .value, "migrationURI": .value, "migrationAddress": .value,
            "stateDirectory": .value,
        ]),
    ])
}

/// Strict wrapper for reports.
struct ReportWire: StrictDecodable {
    let report: HostReport
    init(from decoder: any Decoder) throws { report = try HostReport(from: decoder) }
    static let schema = FieldSchema.object([
        "used": .object(["cpuMillis": .value, "memoryBytes": .value]),
        "domains": .list(
            .object([
                "evmID": .value, "running": .value, "rssBytes": .value, "cpuTimeNanoseconds": .value, "stealNanoseconds": .value,
                "error": .value, "instance": .value,
                "swap": .object(["swapInBytes": .value, "swapOutBytes": .value, "unusedBytes": .value, "availableBytes": .value]),
                "provisioning": .object(["nodeRegisteredAt": .value, "seedWrittenAt": .value, "definedAt": .value, "bootedAt": .value]),
            ])),
        "interruptionDeadline": .value,
    ])
}

/// Strict wrapper for an agent's migration update.
struct MigrationUpdateWire: StrictDecodable {
    let update: MigrationUpdate
    init(from decoder: any Decoder) throws { update = try MigrationUpdate(from: decoder) }
    static let schema = FieldSchema.object(["step": .value, "progress": .value, "message": .value])
}
