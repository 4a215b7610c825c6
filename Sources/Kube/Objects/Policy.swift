/// A policy/v1 Eviction: the polite way to remove a pod, refused (429) while a PodDisruptionBudget forbids it.
public struct Eviction: KubeResource {
    public static let resourceType = ResourceType(
        group: "policy", version: "v1", kind: "Eviction", plural: "evictions", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    /// The eviction of pod `name` in `namespace`, optionally with a grace period.
    public init(pod name: String, namespace: String, gracePeriodSeconds: Int? = nil) {
        self.init(name: name, namespace: namespace)
        if let gracePeriodSeconds { object["deleteOptions"] = .object(["gracePeriodSeconds": .int(Int64(gracePeriodSeconds))]) }
    }
}

/// A policy/v1 PodDisruptionBudget.
public struct PodDisruptionBudget: KubeResource {
    public static let resourceType = ResourceType(
        group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var spec: Spec {
        get { self[object: "spec"] }
        set { self[object: "spec"] = newValue }
    }
    public var status: Status {
        get { self[object: "status"] }
        set { self[object: "status"] = newValue }
    }

    /// `spec`: `minAvailable` or `maxUnavailable` (an integer or a percentage), and the pod selector.
    public struct Spec: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var selector: LabelSelector {
            get { self[object: "selector"] }
            set { self[object: "selector"] = newValue }
        }
        public var minAvailable: IntOrString? {
            get { self["minAvailable"] }
            set { self["minAvailable"] = newValue }
        }
        public var maxUnavailable: IntOrString? {
            get { self["maxUnavailable"] }
            set { self["maxUnavailable"] = newValue }
        }
    }

    /// `status`.
    public struct Status: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var disruptionsAllowed: Int {
            get { self["disruptionsAllowed"] ?? 0 }
            set { self["disruptionsAllowed"] = newValue }
        }
        public var currentHealthy: Int {
            get { self["currentHealthy"] ?? 0 }
            set { self["currentHealthy"] = newValue }
        }
        public var desiredHealthy: Int {
            get { self["desiredHealthy"] ?? 0 }
            set { self["desiredHealthy"] = newValue }
        }
        public var expectedPods: Int {
            get { self["expectedPods"] ?? 0 }
            set { self["expectedPods"] = newValue }
        }
    }
}

/// `3` or `"50%"`.
public enum IntOrString: JSONRepresentable, Sendable, Hashable {
    case int(Int)
    case string(String)

    public init?(json: JSONValue) {
        if let value = Int(json: json) {
            self = .int(value)
        } else if let value = json.stringValue {
            self = .string(value)
        } else {
            return nil
        }
    }

    public var json: JSONValue {
        switch self {
        case .int(let value): .int(Int64(value))
        case .string(let value): .string(value)
        }
    }

    /// The absolute value against `total`; percentages round up when `roundUp`, as the disruption controller does.
    public func value(total: Int, roundUp: Bool) -> Int? {
        switch self {
        case .int(let value): return value
        case .string(let text):
            guard text.hasSuffix("%"), let percent = Int(text.dropLast()) else { return Int(text) }
            let exact = Double(total * percent) / 100
            return Int(roundUp ? exact.rounded(.up) : exact.rounded(.down))
        }
    }
}
