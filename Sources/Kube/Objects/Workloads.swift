/// The pod-owning workload kinds besides ``Deployment``, as far as EMP needs them: their owners (to walk from a
/// pod to what must be restarted) and their pod template's annotations (a rollout restart).
public protocol PodTemplateOwner: KubeResource {}

extension PodTemplateOwner {
    /// `spec.template.metadata.annotations`.
    public var templateAnnotations: [String: String] {
        object["spec"]?["template"]?["metadata"]?["annotations"].flatMap([String: String].init(json:)) ?? [:]
    }

    /// The merge patch `kubectl rollout restart` sends: a new `kubectl.kubernetes.io/restartedAt` annotation on
    /// the pod template, which makes the controller replace every pod.
    public static func restartPatch(at time: String) -> JSONValue {
        .object([
            "spec": .object([
                "template": .object([
                    "metadata": .object(["annotations": .object(["kubectl.kubernetes.io/restartedAt": .string(time)])])
                ])
            ])
        ])
    }
}

extension Deployment: PodTemplateOwner {}

/// An apps/v1 ReplicaSet: what a Deployment's pods are owned by.
public struct ReplicaSet: PodTemplateOwner {
    public static let resourceType = ResourceType(group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }
}

/// An apps/v1 StatefulSet.
public struct StatefulSet: PodTemplateOwner {
    public static let resourceType = ResourceType(
        group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }
}

/// An apps/v1 DaemonSet.
public struct DaemonSet: PodTemplateOwner {
    public static let resourceType = ResourceType(group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }
}
