public import Foundation

/// A ConfigMap: the webhook's profile `default/emp-profile-cm` is one.
public struct ConfigMap: KubeResource {
    public static let resourceType = ResourceType(
        group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var data: [String: String] {
        get { self[map: "data"] }
        set { self[map: "data"] = newValue }
    }
}

/// A Namespace (its labels feed webhook namespaceSelectors).
public struct Namespace: KubeResource {
    public static let resourceType = ResourceType(
        group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }
}

/// A coordination.k8s.io/v1 Lease: leader election and agent heartbeats.
public struct Lease: KubeResource {
    public static let resourceType = ResourceType(
        group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var spec: Spec {
        get { self[object: "spec"] }
        set { self[object: "spec"] = newValue }
    }

    /// `spec`.
    public struct Spec: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var holderIdentity: String? {
            get { self["holderIdentity"] }
            set { self["holderIdentity"] = newValue }
        }
        public var leaseDurationSeconds: Int? {
            get { self["leaseDurationSeconds"] }
            set { self["leaseDurationSeconds"] = newValue }
        }
        /// MicroTime.
        public var renewTime: Date? {
            get { self["renewTime"].flatMap(KubeTime.parse) }
            set { self["renewTime"] = newValue.map(KubeTime.formatMicro) }
        }
        public var acquireTime: Date? {
            get { self["acquireTime"].flatMap(KubeTime.parse) }
            set { self["acquireTime"] = newValue.map(KubeTime.formatMicro) }
        }
    }
}

/// A core/v1 Event: what `kubectl describe` shows under Events.
public struct CoreEvent: KubeResource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Event", plural: "events", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    /// An event about `regarding`, named the way client-go names them (`<object>.<unique suffix>`).
    public init(regarding: ObjectReference, type: String, reason: String, message: String, component: String, at time: Date = Date()) {
        self.init(
            name: "\(regarding.name).\(String(UInt64(time.timeIntervalSince1970 * 1e9), radix: 16))",
            namespace: regarding.namespace ?? "default")
        object["involvedObject"] = regarding.json
        object["type"] = .string(type)
        object["reason"] = .string(reason)
        object["message"] = .string(message)
        object["source"] = .object(["component": .string(component)])
        object["firstTimestamp"] = .string(KubeTime.format(time))
        object["lastTimestamp"] = .string(KubeTime.format(time))
        object["count"] = .int(1)
    }

    public var involvedObject: ObjectReference { self[object: "involvedObject"] }
    /// `Normal` or `Warning`.
    public var type: String? { self["type"] }
    public var reason: String? { self["reason"] }
    public var message: String? { self["message"] }
}

/// An events.k8s.io/v1 Event (the newer API; same meaning as ``CoreEvent``).
public struct Event: KubeResource {
    public static let resourceType = ResourceType(
        group: "events.k8s.io", version: "v1", kind: "Event", plural: "events", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(
        regarding: ObjectReference, type: String, reason: String, note: String, controller: String, instance: String, at time: Date = Date()
    ) {
        self.init(
            name: "\(regarding.name).\(String(UInt64(time.timeIntervalSince1970 * 1e9), radix: 16))",
            namespace: regarding.namespace ?? "default")
        object["regarding"] = regarding.json
        object["type"] = .string(type)
        object["reason"] = .string(reason)
        object["note"] = .string(note)
        object["action"] = .string(reason)
        object["reportingController"] = .string(controller)
        object["reportingInstance"] = .string(instance)
        object["eventTime"] = .string(KubeTime.formatMicro(time))
    }

    public var regarding: ObjectReference { self[object: "regarding"] }
    public var type: String? { self["type"] }
    public var reason: String? { self["reason"] }
    public var note: String? { self["note"] }
}

/// A reference to an object (events' `regarding` / `involvedObject`).
public struct ObjectReference: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(of resource: some KubeResource) {
        self.object = [
            "apiVersion": .string(type(of: resource).resourceType.apiVersion),
            "kind": .string(type(of: resource).resourceType.kind),
            "name": .string(resource.name),
        ]
        self["namespace"] = resource.namespace
        self["uid"] = resource.metadata.uid
        self["resourceVersion"] = resource.metadata.resourceVersion
    }

    public var kind: String? { self["kind"] }
    public var name: String { self["name"] ?? "" }
    public var namespace: String? { self["namespace"] }
    public var uid: String? { self["uid"] }
}

/// A core/v1 Service (named apart from ServiceLifecycle's `Service`): the control plane reads `kube-system/kube-dns`'s clusterIP as the EVMs' kubelet `clusterDNS`.
public struct CoreService: KubeResource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Service", plural: "services", namespaced: true)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(name: String, namespace: String, clusterIP: String) {
        self.init(name: name, namespace: namespace)
        spec = Spec(object: ["clusterIP": .string(clusterIP)])
    }

    public var spec: Spec {
        get { self[object: "spec"] }
        set { self[object: "spec"] = newValue }
    }

    /// `spec`: what EMP reads of it.
    public struct Spec: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        /// The Service's virtual IP; `None` for a headless Service.
        public var clusterIP: String? {
            get { self["clusterIP"] }
            set { self["clusterIP"] = newValue }
        }
    }
}
