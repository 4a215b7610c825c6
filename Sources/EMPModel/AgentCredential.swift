public import Foundation

/// The secret an agent presents on its host's endpoints, issued once at join; only its hash is stored.
public struct AgentCredential: Sendable, Hashable, Codable {
    public var hostID: String
    /// SHA-256 of the secret, hex.
    public var secretHash: String
    public var issuedAt: Date

    public init(hostID: String, secretHash: String, issuedAt: Date) {
        self.hostID = hostID
        self.secretHash = secretHash
        self.issuedAt = issuedAt
    }
}
