public import Foundation

/// What happened and why, attached to an object; operators read these with `empctl events`.
public struct Event: Sendable, Hashable, Codable {
    /// Assigned by the store, increasing.
    public var id: Int64
    public var time: Date
    public var object: ObjectRef
    /// A CamelCase reason, e.g. `HostNotReady`, `TriggeredScaleUp`.
    public var reason: String
    public var message: String
    public var type: EventType

    public init(id: Int64 = 0, time: Date, object: ObjectRef, reason: String, message: String, type: EventType = .normal) {
        self.id = id
        self.time = time
        self.object = object
        self.reason = reason
        self.message = message
        self.type = type
    }
}

/// The object an event is about.
public struct ObjectRef: Sendable, Hashable, Codable, CustomStringConvertible {
    public var kind: ObjectKind
    public var id: String

    public init(_ kind: ObjectKind, _ id: String) {
        self.kind = kind
        self.id = id
    }

    public var description: String { "\(kind.rawValue)/\(id)" }
}

/// Kinds of objects events refer to.
public enum ObjectKind: String, Sendable, Hashable, Codable, CaseIterable {
    case pool
    case host
    case evm
    case migration
    /// A control-plane replica (leadership changes).
    case controlPlane = "control-plane"
}

/// Kubernetes-style event severity.
public enum EventType: String, Sendable, Hashable, Codable {
    case normal = "Normal"
    case warning = "Warning"
}
