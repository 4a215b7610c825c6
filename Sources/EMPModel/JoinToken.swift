public import Foundation

/// A one-time secret an agent trades for its host credential; only its hash is stored.
public struct JoinToken: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var poolID: String
    /// SHA-256 of the secret, hex.
    public var secretHash: String
    public var expiresAt: Date
    public var createdAt: Date
    /// Set when an agent used it; a used token is spent.
    public var usedByHost: String?
    public var revoked: Bool
    /// When set, the token joins only as this host id (`empctl host token --host bm-1`).
    public var hostID: String?

    public init(
        id: String,
        poolID: String,
        secretHash: String,
        expiresAt: Date,
        createdAt: Date,
        usedByHost: String? = nil,
        revoked: Bool = false,
        hostID: String? = nil
    ) {
        self.hostID = hostID
        self.id = id
        self.poolID = poolID
        self.secretHash = secretHash
        self.expiresAt = expiresAt
        self.createdAt = createdAt
        self.usedByHost = usedByHost
        self.revoked = revoked
    }

    /// True when the token can still be exchanged at `now`.
    public func isUsable(at now: Date) -> Bool {
        !revoked && usedByHost == nil && now < expiresAt
    }
}
