public import Foundation

// The operator API's request and response bodies, defined once: the control plane decodes them (strictly, with a
// schema of its own) and empctl encodes them, so the two cannot drift apart.

/// The body of `POST /v1/pools/{pool}/evms`.
public struct EVMCreateRequest: Codable, Sendable, Hashable {
    public var count: Int
    public init(count: Int) { self.count = count }
}

/// The body of `POST /v1/hosts/{id}/maintenance`.
public struct MaintenanceRequest: Codable, Sendable, Hashable {
    public var enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
}

/// The body of `POST /v1/pools/{pool}/tokens`.
public struct TokenCreateRequest: Codable, Sendable, Hashable {
    /// Lifetime in seconds; default 3600, at most ``maxTTL``.
    public var ttlSeconds: Int?
    /// Scope the token to one host id: it joins only as that host.
    public var hostID: String?
    /// Longest lifetime: 7 days.
    public static let maxTTL = 7 * 24 * 3600

    public init(ttlSeconds: Int? = nil, hostID: String? = nil) {
        self.ttlSeconds = ttlSeconds
        self.hostID = hostID
    }
}

/// A created join token: the secret is in `token` and is shown only here.
public struct TokenCreated: Codable, Sendable, Hashable {
    public let id: String
    public let poolID: String
    public let token: String
    public let expiresAt: Date

    public init(id: String, poolID: String, token: String, expiresAt: Date) {
        self.id = id
        self.poolID = poolID
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// A join token as listed: never the secret or its hash.
public struct TokenView: Codable, Sendable, Hashable {
    public let id: String
    public let poolID: String
    public let expiresAt: Date
    public let createdAt: Date
    public let usedByHost: String?
    public let revoked: Bool
    public let hostID: String?

    public init(_ token: JoinToken) {
        hostID = token.hostID
        id = token.id
        poolID = token.poolID
        expiresAt = token.expiresAt
        createdAt = token.createdAt
        usedByHost = token.usedByHost
        revoked = token.revoked
    }
}

/// The body of `POST /v1/evms/{id}/migrate`.
public struct MigrateRequest: Codable, Sendable, Hashable {
    public var to: String
    public init(to: String) { self.to = to }
}

/// The body of `POST /v1/hosts/{id}/interrupt`: a deadline in seconds from now, or `clear: true`.
public struct InterruptRequest: Codable, Sendable, Hashable {
    public var deadlineSeconds: Double?
    public var clear: Bool?

    public init(deadlineSeconds: Double? = nil, clear: Bool? = nil) {
        self.deadlineSeconds = deadlineSeconds
        self.clear = clear
    }
}
