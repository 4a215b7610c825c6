import Foundation

/// One move of a running EVM between hosts: a planned step and, once issued, its record.
public struct Migration: Sendable, Hashable, Codable, Identifiable {
    public var id: String
    public var evmID: String
    public var from: String
    public var to: String
    public var reason: MigrationReason
    /// Estimated (planned) or transferred (completed) bytes.
    public var bytes: Int64
    public var state: MigrationState
    /// libvirt's message when the move failed.
    public var message: String?
    public var createdAt: Date
    public var finishedAt: Date?

    public init(
        id: String,
        evmID: String,
        from: String,
        to: String,
        reason: MigrationReason,
        bytes: Int64,
        state: MigrationState = .planned,
        message: String? = nil,
        createdAt: Date,
        finishedAt: Date? = nil
    ) {
        self.id = id
        self.evmID = evmID
        self.from = from
        self.to = to
        self.reason = reason
        self.bytes = bytes
        self.state = state
        self.message = message
        self.createdAt = createdAt
        self.finishedAt = finishedAt
    }
}

/// Why the planner moves an EVM, in priority order.
public enum MigrationReason: String, Sendable, Hashable, Codable, CaseIterable {
    case evacuate
    case relieve
    case balance
    case consolidate
    case manual
}

/// Progress of a migration record.
public enum MigrationState: String, Sendable, Hashable, Codable, CaseIterable {
    case planned
    case running
    case completed
    case failed
}

/// An ordered list of migrations: what the rebalancer proposes.
public struct Plan: Sendable, Hashable, Codable {
    public var migrations: [Migration]

    public init(migrations: [Migration] = []) {
        self.migrations = migrations
    }

    public var totalBytes: Int64 { migrations.reduce(0) { $0 + $1.bytes } }
}
