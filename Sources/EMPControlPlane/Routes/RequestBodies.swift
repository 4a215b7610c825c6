import EMPModel
import Foundation

// Request and response bodies of the HTTP API (top level: generic route types cannot hold static schemas).

/// The body of `POST /v1/pools/{pool}/evms`.
struct EVMCreateRequest: StrictDecodable {
    var count: Int
    static let schema = FieldSchema.object(["count": .value])
}

/// The body of `POST /v1/hosts/{id}/maintenance`.
struct MaintenanceRequest: StrictDecodable {
    var enabled: Bool
    static let schema = FieldSchema.object(["enabled": .value])
}

/// The body of `POST /v1/pools/{pool}/tokens`.
struct TokenCreateRequest: StrictDecodable {
    /// Lifetime in seconds; default 3600, at most 7 days.
    var ttlSeconds: Int?
    /// Scope the token to one host id: it joins only as that host.
    var hostID: String?
    static let schema = FieldSchema.object(["ttlSeconds": .value, "hostID": .value])
    /// Longest lifetime: 7 days.
    static let maxTTL = 7 * 24 * 3600
}

/// A created token: the secret is in `token` and is shown only here.
struct TokenCreated: Encodable, Sendable {
    let id: String
    let poolID: String
    let token: String
    let expiresAt: Date
}

/// A token as listed: never the hash.
struct TokenView: Encodable, Sendable {
    let id: String
    let poolID: String
    let expiresAt: Date
    let createdAt: Date
    let usedByHost: String?
    let revoked: Bool
    let hostID: String?

    init(_ token: JoinToken) {
        hostID = token.hostID
        id = token.id
        poolID = token.poolID
        expiresAt = token.expiresAt
        createdAt = token.createdAt
        usedByHost = token.usedByHost
        revoked = token.revoked
    }
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

/// The body of `POST /v1/evms/{id}/migrate`.
struct MigrateRequest: StrictDecodable {
    var to: String
    static let schema = FieldSchema.object(["to": .value])
}

/// The body of `POST /v1/hosts/{id}/interrupt`: a deadline in seconds from now, or `clear: true`.
struct InterruptRequest: StrictDecodable {
    var deadlineSeconds: Double?
    var clear: Bool?
    static let schema = FieldSchema.object(["deadlineSeconds": .value, "clear": .value])
}
