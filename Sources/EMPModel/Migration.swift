public import Foundation

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
    /// Why the planner (or an operator) moves it, in words.
    public var explanation: String?
    /// Switch to post-copy after the first pass (a deadline requires it).
    public var postCopy: Bool?
    /// The operator asked to cancel it; the source agent aborts the libvirt job.
    public var cancelRequested: Bool?
    /// When the source agent was told to start.
    public var startedAt: Date?
    /// The latest job statistics from the source agent.
    public var progress: MigrationProgress?

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

/// Progress of a migration record: `preparing` (the destination writes the EVM's files) → `running` (the source
/// migrates) → `completed` or `failed`. `planned` is a dry-run plan's move, never stored.
public enum MigrationState: String, Sendable, Hashable, Codable, CaseIterable {
    case planned
    case preparing
    case running
    case completed
    case failed

    /// Still holding its lanes and its EVM.
    public var isActive: Bool { self == .preparing || self == .running }
}

/// Job statistics of a migration, from libvirt's `virDomainGetJobStats`.
public struct MigrationProgress: Sendable, Hashable, Codable {
    public var elapsedMilliseconds: Int64?
    public var dataTotalBytes: Int64?
    public var dataProcessedBytes: Int64?
    public var dataRemainingBytes: Int64?
    public var memoryDirtyRateBytesPerSecond: Int64?
    public var iteration: Int64?
    /// Guest pause at switch-over, once completed.
    public var downtimeMilliseconds: Int64?
    /// True once switched to post-copy.
    public var postCopyActive: Bool?

    public init(
        elapsedMilliseconds: Int64? = nil, dataTotalBytes: Int64? = nil, dataProcessedBytes: Int64? = nil, dataRemainingBytes: Int64? = nil,
        memoryDirtyRateBytesPerSecond: Int64? = nil, iteration: Int64? = nil, downtimeMilliseconds: Int64? = nil,
        postCopyActive: Bool? = nil
    ) {
        self.elapsedMilliseconds = elapsedMilliseconds
        self.dataTotalBytes = dataTotalBytes
        self.dataProcessedBytes = dataProcessedBytes
        self.dataRemainingBytes = dataRemainingBytes
        self.memoryDirtyRateBytesPerSecond = memoryDirtyRateBytesPerSecond
        self.iteration = iteration
        self.downtimeMilliseconds = downtimeMilliseconds
        self.postCopyActive = postCopyActive
    }
}

/// An ordered list of migrations: what the rebalancer proposes.
public struct Plan: Sendable, Hashable, Codable {
    public var migrations: [Migration]

    public init(migrations: [Migration] = []) {
        self.migrations = migrations
    }

    public var totalBytes: Int64 { migrations.reduce(0) { $0 + $1.bytes } }
}
