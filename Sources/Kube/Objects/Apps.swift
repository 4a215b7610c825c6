/// An apps/v1 Deployment: the seed's `emp-test` workload; only replicas, selector and template are modelled.
public struct Deployment: KubeResource {
    public static let resourceType = ResourceType(
        group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true)
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

        /// Defaults to 1, as the API server does.
        public var replicas: Int {
            get { self["replicas"] ?? 1 }
            set { self["replicas"] = newValue }
        }
        public var selector: LabelSelector {
            get { self[object: "selector"] }
            set { self[object: "selector"] = newValue }
        }
        /// `template`: the pod's metadata and spec.
        public var template: PodTemplate {
            get { self[object: "template"] }
            set { self[object: "template"] = newValue }
        }
    }

    /// `status`.
    public struct Status: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var replicas: Int {
            get { self["replicas"] ?? 0 }
            set { self["replicas"] = newValue }
        }
        public var readyReplicas: Int {
            get { self["readyReplicas"] ?? 0 }
            set { self["readyReplicas"] = newValue }
        }
        public var availableReplicas: Int {
            get { self["availableReplicas"] ?? 0 }
            set { self["availableReplicas"] = newValue }
        }
        public var updatedReplicas: Int {
            get { self["updatedReplicas"] ?? 0 }
            set { self["updatedReplicas"] = newValue }
        }
        public var observedGeneration: Int64? {
            get { self["observedGeneration"] }
            set { self["observedGeneration"] = newValue }
        }
        public var conditions: [Condition] {
            get { self[list: "conditions"] }
            set { self[list: "conditions"] = newValue }
        }
    }
}

/// A pod template (Deployment, DaemonSet).
public struct PodTemplate: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var metadata: ObjectMeta {
        get { self[object: "metadata"] }
        set { self[object: "metadata"] = newValue }
    }
    public var spec: Pod.Spec {
        get { self[object: "spec"] }
        set { self[object: "spec"] = newValue }
    }
}

/// An autoscaling/v1 Scale: the `/scale` subresource of Deployments.
public struct Scale: KubeResource {
    public static let resourceType = ResourceType(
        group: "autoscaling", version: "v1", kind: "Scale", plural: "scales", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var replicas: Int {
        get { object["spec"]?["replicas"].flatMap { Int(json: $0) } ?? 0 }
        set { object["spec"] = .object(["replicas": .int(Int64(newValue))]) }
    }
}
