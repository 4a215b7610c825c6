public import Foundation

/// An admission.k8s.io/v1 AdmissionReview: the API server's question to a webhook and the webhook's answer.
public struct AdmissionReview: JSONBacked {
    public static let apiVersion = "admission.k8s.io/v1"
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var request: Request? {
        get { self["request"] }
        set { self["request"] = newValue }
    }
    public var response: Response? {
        get { self["response"] }
        set { self["response"] = newValue }
    }

    /// A review carrying only `response` (what a webhook returns).
    public init(response: Response) {
        self.object = ["apiVersion": .string(Self.apiVersion), "kind": .string("AdmissionReview"), "response": response.json]
    }

    /// `request`.
    public struct Request: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var uid: String { self["uid"] ?? "" }
        /// `CREATE`, `UPDATE`, `DELETE` or `CONNECT`.
        public var operation: String { self["operation"] ?? "" }
        public var namespace: String? { self["namespace"] }
        public var name: String? { self["name"] }
        public var kind: JSONObject { self["kind"] ?? [:] }
        public var resource: JSONObject { self["resource"] ?? [:] }
        public var dryRun: Bool { self["dryRun"] ?? false }
        /// The object being admitted, as sent.
        public var objectValue: JSONValue? { object["object"] }
    }

    /// `response`.
    public struct Response: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        /// Allows the request, with an optional JSON patch (RFC 6902) applied to the object.
        public init(uid: String, allowed: Bool = true, patch: [JSONPatchOperation]? = nil, message: String? = nil) {
            self.object = ["uid": .string(uid), "allowed": .bool(allowed)]
            if let patch, !patch.isEmpty, let data = try? JSONValue.array(patch.map(\.json)).serialized() {
                object["patchType"] = .string("JSONPatch")
                object["patch"] = .string(data.base64EncodedString())
            }
            if let message { object["status"] = .object(["message": .string(message), "code": .int(allowed ? 200 : 403)]) }
        }

        public var uid: String { self["uid"] ?? "" }
        public var allowed: Bool { self["allowed"] ?? false }
        public var patchType: String? { self["patchType"] }
        /// The decoded JSON patch, if any.
        public var patch: [JSONPatchOperation]? {
            guard let text: String = self["patch"], let data = Data(base64Encoded: text) else { return nil }
            return try? JSONDecoder().decode([JSONPatchOperation].self, from: data)
        }
        public var message: String? { object["status"]?["message"]?.stringValue }
    }
}

/// An admissionregistration.k8s.io/v1 MutatingWebhookConfiguration (KubeSim calls the webhooks it lists).
public struct MutatingWebhookConfiguration: KubeResource {
    public static let resourceType = ResourceType(
        group: "admissionregistration.k8s.io", version: "v1", kind: "MutatingWebhookConfiguration",
        plural: "mutatingwebhookconfigurations", namespaced: false)
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public var webhooks: [Webhook] {
        get { self[list: "webhooks"] }
        set { self[list: "webhooks"] = newValue }
    }

    /// One webhook entry.
    public struct Webhook: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var name: String { self["name"] ?? "" }
        public var url: String? { object["clientConfig"]?["url"]?.stringValue }
        public var service: JSONObject? { object["clientConfig"]?["service"]?.objectValue }
        /// PEM bundle from `clientConfig.caBundle` (base64 in the object).
        public var caBundle: Data? { object["clientConfig"]?["caBundle"]?.stringValue.flatMap { Data(base64Encoded: $0) } }
        /// `Fail` (default) or `Ignore`.
        public var failurePolicy: String { self["failurePolicy"] ?? "Fail" }
        /// 1–30 s, default 10.
        public var timeoutSeconds: Int { self["timeoutSeconds"] ?? 10 }
        public var rules: [Rule] { self[list: "rules"] }
        public var namespaceSelector: LabelSelector { self[object: "namespaceSelector"] }
        public var objectSelector: LabelSelector { self[object: "objectSelector"] }
    }

    /// Which operations on which resources a webhook sees.
    public struct Rule: JSONBacked {
        public var object: JSONObject
        public init(object: JSONObject) { self.object = object }

        public var operations: [String] { self[list: "operations"] }
        public var apiGroups: [String] { self[list: "apiGroups"] }
        public var apiVersions: [String] { self[list: "apiVersions"] }
        public var resources: [String] { self[list: "resources"] }

        public func matches(operation: String, group: String, version: String, resource: String) -> Bool {
            func has(_ list: [String], _ value: String) -> Bool { list.contains("*") || list.contains(value) }
            return has(operations, operation) && has(apiGroups, group) && has(apiVersions, version) && has(resources, resource)
        }
    }
}
