public import Foundation

/// A Kubernetes Node: each EVM registers as one.
public struct Node: KubeResource {
    public static let resourceType = ResourceType(group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false)
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

    /// `spec`: taints and cordon state.
    public struct Spec: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var taints: [Taint] {
            get { self[list: "taints"] }
            set { self[list: "taints"] = newValue }
        }
        public var unschedulable: Bool {
            get { self["unschedulable"] ?? false }
            set { self["unschedulable"] = newValue ? true : nil }
        }
        public var providerID: String? {
            get { self["providerID"] }
            set { self["providerID"] = newValue }
        }
    }

    /// `status`: what the kubelet reports.
    public struct Status: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var capacity: [String: String] {
            get { self[map: "capacity"] }
            set { self[map: "capacity"] = newValue }
        }
        public var allocatable: [String: String] {
            get { self[map: "allocatable"] }
            set { self[map: "allocatable"] = newValue }
        }
        public var conditions: [Condition] {
            get { self[list: "conditions"] }
            set { self[list: "conditions"] = newValue }
        }
        public var nodeInfo: NodeInfo {
            get { self[object: "nodeInfo"] }
            set { self[object: "nodeInfo"] = newValue }
        }
        public var addresses: [Address] {
            get { self[list: "addresses"] }
            set { self[list: "addresses"] = newValue }
        }
    }

    /// `status.nodeInfo`.
    public struct NodeInfo: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var kubeletVersion: String? {
            get { self["kubeletVersion"] }
            set { self["kubeletVersion"] = newValue }
        }
        public var osImage: String? {
            get { self["osImage"] }
            set { self["osImage"] = newValue }
        }
        public var kernelVersion: String? {
            get { self["kernelVersion"] }
            set { self["kernelVersion"] = newValue }
        }
        public var containerRuntimeVersion: String? {
            get { self["containerRuntimeVersion"] }
            set { self["containerRuntimeVersion"] = newValue }
        }
        public var architecture: String? {
            get { self["architecture"] }
            set { self["architecture"] = newValue }
        }
        public var systemUUID: String? {
            get { self["systemUUID"] }
            set { self["systemUUID"] = newValue }
        }
    }

    /// One of `status.addresses`.
    public struct Address: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }
        public init(type: String, address: String) { self.object = ["type": .string(type), "address": .string(address)] }
        public var type: String { self["type"] ?? "" }
        public var address: String { self["address"] ?? "" }
    }

    /// True when the `Ready` condition is `True`.
    public var isReady: Bool { status.conditions.first { $0.type == "Ready" }?.status == "True" }
}

/// A node taint.
public struct Taint: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(key: String, value: String? = nil, effect: String) {
        self.object = ["key": .string(key), "effect": .string(effect)]
        if let value { object["value"] = .string(value) }
    }

    public var key: String { self["key"] ?? "" }
    public var value: String? { self["value"] }
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    public var effect: String { self["effect"] ?? "" }
}

/// A status condition (Node, Pod, Deployment).
public struct Condition: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(type: String, status: String, reason: String? = nil, message: String? = nil, at time: Date = Date()) {
        self.object = ["type": .string(type), "status": .string(status)]
        self["reason"] = reason
        self["message"] = message
        self["lastTransitionTime"] = KubeTime.format(time)
    }

    public var type: String { self["type"] ?? "" }
    /// `True`, `False` or `Unknown`.
    public var status: String { self["status"] ?? "" }
    public var reason: String? { self["reason"] }
    public var message: String? { self["message"] }
}

extension [Condition] {
    /// Sets the condition of `condition.type`, keeping `lastTransitionTime` when the status does not change.
    public mutating func set(_ condition: Condition) {
        guard let index = firstIndex(where: { $0.type == condition.type }) else {
            append(condition)
            return
        }
        var updated = condition
        if self[index].status == condition.status, let since: String = self[index]["lastTransitionTime"] {
            updated["lastTransitionTime"] = since
        }
        self[index] = updated
    }
}
