public import Foundation

/// Where a kind lives in the API (group, version, plural) so one generic client serves every kind.
public struct ResourceType: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var kind: String
    public var plural: String
    public var namespaced: Bool

    public init(group: String, version: String, kind: String, plural: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.kind = kind
        self.plural = plural
        self.namespaced = namespaced
    }

    /// `v1` for the core group, else `group/version`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `/api/v1` or `/apis/group/version`.
    public var prefix: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// The collection or object path; `namespace` nil on a namespaced kind means all namespaces.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = prefix
        if namespaced, let namespace { path += "/namespaces/\(Self.escape(namespace))" }
        path += "/\(plural)"
        if let name { path += "/\(Self.escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    public var description: String { group.isEmpty ? plural : "\(plural).\(group)" }

    static func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"])) ?? segment
    }
}

/// A Kubernetes kind with a fixed place in the API.
public protocol KubeResource: JSONBacked {
    static var resourceType: ResourceType { get }
}

extension KubeResource {
    /// An empty object with `apiVersion` and `kind` set.
    public init() {
        self.init(object: [
            "apiVersion": .string(Self.resourceType.apiVersion), "kind": .string(Self.resourceType.kind),
        ])
    }

    /// A new object named `name` (in `namespace` for namespaced kinds).
    public init(name: String, namespace: String? = nil) {
        self.init()
        metadata.name = name
        metadata.namespace = namespace
    }

    public var metadata: ObjectMeta {
        get { self[object: "metadata"] }
        set { self[object: "metadata"] = newValue }
    }

    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
    /// `namespace/name` or `name`: the cache key informers use.
    public var key: String { metadata.namespace.map { "\($0)/\(name)" } ?? name }
}

/// Standard object metadata.
public struct ObjectMeta: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var name: String? {
        get { self["name"] }
        set { self["name"] = newValue }
    }
    public var generateName: String? {
        get { self["generateName"] }
        set { self["generateName"] = newValue }
    }
    public var namespace: String? {
        get { self["namespace"] }
        set { self["namespace"] = newValue }
    }
    public var uid: String? {
        get { self["uid"] }
        set { self["uid"] = newValue }
    }
    public var resourceVersion: String? {
        get { self["resourceVersion"] }
        set { self["resourceVersion"] = newValue }
    }
    public var generation: Int64? {
        get { self["generation"] }
        set { self["generation"] = newValue }
    }
    public var labels: [String: String] {
        get { self[map: "labels"] }
        set { self[map: "labels"] = newValue }
    }
    public var annotations: [String: String] {
        get { self[map: "annotations"] }
        set { self[map: "annotations"] = newValue }
    }
    public var finalizers: [String] {
        get { self[list: "finalizers"] }
        set { self[list: "finalizers"] = newValue }
    }
    public var ownerReferences: [OwnerReference] {
        get { self[list: "ownerReferences"] }
        set { self[list: "ownerReferences"] = newValue }
    }
    public var creationTimestamp: Date? {
        get { self["creationTimestamp"].flatMap(KubeTime.parse) }
        set { self["creationTimestamp"] = newValue.map(KubeTime.format) }
    }
    public var deletionTimestamp: Date? {
        get { self["deletionTimestamp"].flatMap(KubeTime.parse) }
        set { self["deletionTimestamp"] = newValue.map(KubeTime.format) }
    }
}

/// Who owns an object (a Pod's ReplicaSet, DaemonSet or Deployment).
public struct OwnerReference: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool = true) {
        self.object = [
            "apiVersion": .string(apiVersion), "kind": .string(kind), "name": .string(name), "uid": .string(uid),
            "controller": .bool(controller), "blockOwnerDeletion": .bool(true),
        ]
    }

    public var apiVersion: String { self["apiVersion"] ?? "" }
    public var kind: String { self["kind"] ?? "" }
    public var name: String { self["name"] ?? "" }
    public var uid: String { self["uid"] ?? "" }
    public var controller: Bool { self["controller"] ?? false }
}

/// RFC 3339 times as the API writes them (seconds; fractional seconds accepted on input).
public enum KubeTime {
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    public static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    /// MicroTime (`2024-01-02T03:04:05.000000Z`), used by Lease and events.k8s.io Event.
    public static func formatMicro(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"
        return formatter.string(from: date)
    }
}

/// A page of a list: the items, the collection's resourceVersion (where a watch resumes) and the continue token.
public struct ObjectList<T: KubeResource>: Sendable {
    public var items: [T]
    public var resourceVersion: String
    public var continueToken: String?
}
