import Foundation

/// An elastic VM: one libvirt domain on one host that becomes one Kubernetes Node.
public struct EVM: Sendable, Hashable, Codable, Identifiable {
    /// Also the libvirt domain name.
    public var id: String
    public var poolID: String
    /// Where it is placed; nil until placement.
    public var hostID: String?
    public var shape: EVMShape
    public var phase: EVMPhase
    /// The Kubernetes Node name the EVM registers as.
    public var nodeName: String
    public var createdAt: Date
    /// Why the EVM is `failed`, or the last problem seen.
    public var message: String?
    /// When it last finished a live migration (for the cooldown).
    public var lastMigratedAt: Date?

    public init(
        id: String,
        poolID: String,
        hostID: String? = nil,
        shape: EVMShape,
        phase: EVMPhase = .pending,
        nodeName: String,
        createdAt: Date,
        message: String? = nil,
        lastMigratedAt: Date? = nil
    ) {
        self.id = id
        self.poolID = poolID
        self.hostID = hostID
        self.shape = shape
        self.phase = phase
        self.nodeName = nodeName
        self.createdAt = createdAt
        self.message = message
        self.lastMigratedAt = lastMigratedAt
    }
}

/// Lifecycle of an EVM.
public enum EVMPhase: String, Sendable, Hashable, Codable, CaseIterable {
    case pending
    case creating
    case running
    case migrating
    case deleting
    case failed
}
