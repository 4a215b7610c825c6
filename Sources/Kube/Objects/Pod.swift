/// A Kubernetes Pod: what the autoscaler packs and the webhook mutates.
public struct Pod: KubeResource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true)
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

    /// `spec`.
    public struct Spec: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var containers: [Container] {
            get { self[list: "containers"] }
            set { self[list: "containers"] = newValue }
        }
        public var initContainers: [Container] {
            get { self[list: "initContainers"] }
            set { self[list: "initContainers"] = newValue }
        }
        public var nodeSelector: [String: String] {
            get { self[map: "nodeSelector"] }
            set { self[map: "nodeSelector"] = newValue }
        }
        public var tolerations: [Toleration] {
            get { self[list: "tolerations"] }
            set { self[list: "tolerations"] = newValue }
        }
        public var nodeName: String? {
            get { self["nodeName"] }
            set { self["nodeName"] = newValue }
        }
        public var priority: Int? {
            get { self["priority"] }
            set { self["priority"] = newValue }
        }
        public var priorityClassName: String? {
            get { self["priorityClassName"] }
            set { self["priorityClassName"] = newValue }
        }
        public var affinity: Affinity {
            get { self[object: "affinity"] }
            set { self[object: "affinity"] = newValue }
        }
    }

    /// `status`.
    public struct Status: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        /// `Pending`, `Running`, `Succeeded`, `Failed` or `Unknown`.
        public var phase: String? {
            get { self["phase"] }
            set { self["phase"] = newValue }
        }
        public var conditions: [Condition] {
            get { self[list: "conditions"] }
            set { self[list: "conditions"] = newValue }
        }
        public var podIP: String? {
            get { self["podIP"] }
            set { self["podIP"] = newValue }
        }
        public var hostIP: String? {
            get { self["hostIP"] }
            set { self["hostIP"] = newValue }
        }
    }

    /// True when the scheduler said it cannot place the pod (`PodScheduled=False`, reason `Unschedulable`).
    public var isUnschedulable: Bool {
        status.conditions.contains { $0.type == "PodScheduled" && $0.status == "False" && $0.reason == "Unschedulable" }
    }

    /// Succeeded or Failed pods no longer hold resources.
    public var isTerminated: Bool { status.phase == "Succeeded" || status.phase == "Failed" }

    /// The controlling owner, if any.
    public var controller: OwnerReference? { metadata.ownerReferences.first { $0.controller } }
}

/// A container's name and resource requests (init and regular containers).
public struct Container: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(name: String, image: String, requests: [String: String] = [:]) {
        self.object = ["name": .string(name), "image": .string(image)]
        self.requests = requests
    }

    public var name: String { self["name"] ?? "" }
    public var image: String? { self["image"] }
    /// `resources.requests` as quantity strings (`cpu: 500m`, `memory: 1Gi`).
    public var requests: [String: String] {
        get { (self["resources"] as JSONValue?)?["requests"].flatMap([String: String].init(json:)) ?? [:] }
        set {
            var resources = object["resources"]?.objectValue ?? [:]
            resources["requests"] = newValue.isEmpty ? nil : newValue.json
            object["resources"] = resources.isEmpty ? nil : .object(resources)
        }
    }
}

/// A pod toleration.
public struct Toleration: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(key: String?, operator op: String = "Equal", value: String? = nil, effect: String? = nil) {
        self.object = ["operator": .string(op)]
        self["key"] = key
        self["value"] = value
        self["effect"] = effect
    }

    public var key: String? { self["key"] }
    /// `Equal` (default) or `Exists`.
    public var `operator`: String { self["operator"] ?? "Equal" }
    public var value: String? { self["value"] }
    public var effect: String? { self["effect"] }

    /// The scheduler's rule: empty key with Exists tolerates everything; empty effect matches every effect.
    public func tolerates(_ taint: Taint) -> Bool {
        if let effect, !effect.isEmpty, effect != taint.effect { return false }
        if key == nil || key == "" { return self.operator == "Exists" }
        guard key == taint.key else { return false }
        return self.operator == "Exists" || (value ?? "") == (taint.value ?? "")
    }
}

/// `spec.affinity`: the parts the scheduler and the autoscaler honour.
public struct Affinity: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    /// `nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` (ORed).
    public var requiredNodeSelectorTerms: [NodeSelectorTerm] {
        json.value(atPath: "nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms")
            .flatMap([NodeSelectorTerm].init(json:)) ?? []
    }

    /// `podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution`.
    public var requiredPodAntiAffinity: [PodAffinityTerm] {
        json.value(atPath: "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution")
            .flatMap([PodAffinityTerm].init(json:)) ?? []
    }
}

/// One ORed term of required node affinity: its expressions are ANDed.
public struct NodeSelectorTerm: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var matchExpressions: [LabelSelectorRequirement] { self[list: "matchExpressions"] }
    public var matchFields: [LabelSelectorRequirement] { self[list: "matchFields"] }

    /// Whether a node with these labels and name satisfies the term (an empty term matches nothing).
    public func matches(labels: [String: String], name: String) -> Bool {
        if matchExpressions.isEmpty && matchFields.isEmpty { return false }
        return matchExpressions.allSatisfy { $0.matches(labels) }
            && matchFields.allSatisfy { $0.key != "metadata.name" || $0.matches(["metadata.name": name]) }
    }
}

/// A required pod anti-affinity term: no pod matching `labelSelector` in the same `topologyKey` domain.
public struct PodAffinityTerm: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var topologyKey: String { self["topologyKey"] ?? "" }
    public var labelSelector: LabelSelector { self[object: "labelSelector"] }
    public var namespaces: [String] { self[list: "namespaces"] }
}
