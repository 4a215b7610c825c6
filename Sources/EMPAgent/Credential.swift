import EMPModel
import Foundation

/// The agent's identity after joining, kept on disk (mode 0600) so restarts need no new join token.
public struct Credential: Sendable, Hashable, Codable {
    public var hostID: String
    public var poolID: String
    public var secret: String

    public init(hostID: String, poolID: String, secret: String) {
        self.hostID = hostID
        self.poolID = poolID
        self.secret = secret
    }

    static func path(in directory: String) -> String { "\(directory)/credential.json" }

    /// The stored credential, or nil when the agent has not joined yet.
    public static func load(from directory: String) throws -> Credential? {
        guard let data = FileManager.default.contents(atPath: path(in: directory)) else { return nil }
        do {
            return try JSONDecoder().decode(Credential.self, from: data)
        } catch {
            throw AgentError("\(path(in: directory)) is unreadable (\(error)); remove it and join again with a new token")
        }
    }

    /// Writes atomically with mode 0600.
    public func save(to directory: String) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let target = Credential.path(in: directory)
        let temporary = target + ".tmp"
        let data = try JSONEncoder().encode(self)
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw AgentError("cannot write \(temporary)")
        }
        if rename(temporary, target) != 0 { throw AgentError("cannot move \(temporary) to \(target)") }
    }
}

/// An agent failure with a message for the operator.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
