import Foundation
import NIOHTTP1

/// List and watch filters (`?labelSelector=…&fieldSelector=…&limit=…`).
public struct ListOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Page size; nil for the server's default (everything).
    public var limit: Int?
    public var continueToken: String?
    public var resourceVersion: String?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
    }

    var query: [(String, String)] {
        var query: [(String, String)] = []
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector, !fieldSelector.isEmpty { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken { query.append(("continue", continueToken)) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        return query
    }
}

/// `DeleteOptions`: preconditions make a delete conditional on the object being the one we saw.
public struct DeleteOptions: Sendable, Hashable {
    /// `Background` (default on the server), `Foreground` or `Orphan`.
    public var propagationPolicy: String?
    public var preconditionUID: String?
    public var preconditionResourceVersion: String?
    public var gracePeriodSeconds: Int?

    public init(
        propagationPolicy: String? = nil, preconditionUID: String? = nil, preconditionResourceVersion: String? = nil,
        gracePeriodSeconds: Int? = nil
    ) {
        self.propagationPolicy = propagationPolicy
        self.preconditionUID = preconditionUID
        self.preconditionResourceVersion = preconditionResourceVersion
        self.gracePeriodSeconds = gracePeriodSeconds
    }

    var body: JSONValue {
        var object: JSONObject = ["apiVersion": .string("v1"), "kind": .string("DeleteOptions")]
        if let propagationPolicy { object["propagationPolicy"] = .string(propagationPolicy) }
        if let gracePeriodSeconds { object["gracePeriodSeconds"] = .int(Int64(gracePeriodSeconds)) }
        var preconditions: JSONObject = [:]
        if let preconditionUID { preconditions["uid"] = .string(preconditionUID) }
        if let preconditionResourceVersion { preconditions["resourceVersion"] = .string(preconditionResourceVersion) }
        if !preconditions.isEmpty { object["preconditions"] = .object(preconditions) }
        return .object(object)
    }
}

/// The verbs on one kind, optionally scoped to a namespace (nil on a namespaced kind lists all namespaces;
/// single-object verbs then use the object's own namespace).
public struct Resources<T: KubeResource>: Sendable {
    public let client: KubeClient
    public let namespace: String?

    public init(client: KubeClient, namespace: String?) {
        self.client = client
        self.namespace = T.resourceType.namespaced ? namespace : nil
    }

    var type: ResourceType { T.resourceType }

    /// The namespace a single-object verb uses: the object's, else this scope's, else the kubeconfig's.
    func resolvedNamespace(_ objectNamespace: String?) -> String? {
        type.namespaced ? objectNamespace ?? namespace ?? client.config.namespace : nil
    }

    func objectPath(_ name: String, namespace objectNamespace: String? = nil, subresource: String? = nil) -> String {
        type.path(
            namespace: resolvedNamespace(objectNamespace), name: name,
            subresource: subresource)
    }

    public func get(_ name: String) async throws -> T {
        try await client.decode(T.self, .GET, objectPath(name))
    }

    /// The object, or nil on NotFound.
    public func getIfPresent(_ name: String) async throws -> T? {
        do {
            return try await get(name)
        } catch let error as KubeError where error.reason == .notFound {
            return nil
        }
    }

    /// One page.
    public func list(_ options: ListOptions = ListOptions()) async throws -> ObjectList<T> {
        let value = try await client.decode(JSONValue.self, .GET, type.path(namespace: namespace), query: options.query)
        // The API server leaves apiVersion and kind off list items; put them back so items can be written as they are.
        let items = (value["items"]?.arrayValue ?? []).compactMap { item -> T? in
            guard var object = T(json: item) else { return nil }
            object.object["apiVersion"] = object.object["apiVersion"] ?? .string(type.apiVersion)
            object.object["kind"] = object.object["kind"] ?? .string(type.kind)
            return object
        }
        let continueToken = value.value(atPath: "metadata.continue")?.stringValue
        return ObjectList(
            items: items, resourceVersion: value.value(atPath: "metadata.resourceVersion")?.stringValue ?? "",
            continueToken: continueToken?.isEmpty == false ? continueToken : nil)
    }

    /// Every page, following `continue` tokens; the resourceVersion is the first page's (a consistent snapshot).
    public func listAll(_ options: ListOptions = ListOptions(), pageSize: Int = 500) async throws -> ObjectList<T> {
        var options = options
        options.limit = options.limit ?? pageSize
        var first = try await list(options)
        var next = first.continueToken
        while let token = next {
            options.continueToken = token
            let page = try await list(options)
            first.items += page.items
            next = page.continueToken
        }
        first.continueToken = nil
        return first
    }

    public func create(_ object: T) async throws -> T {
        let path = type.path(namespace: resolvedNamespace(object.namespace))
        return try await client.decode(T.self, .POST, path, body: try KubeJSON.encode(object))
    }

    /// PUT: fails with ``KubeError/Reason/conflict`` when `metadata.resourceVersion` is stale.
    public func update(_ object: T) async throws -> T {
        try await client.decode(T.self, .PUT, objectPath(object.name, namespace: object.namespace), body: try KubeJSON.encode(object))
    }

    /// PUT on the `status` subresource (spec changes in `object` are ignored by the server).
    public func updateStatus(_ object: T) async throws -> T {
        try await client.decode(
            T.self, .PUT, objectPath(object.name, namespace: object.namespace, subresource: "status"), body: try KubeJSON.encode(object))
    }

    public func patch(_ name: String, _ patch: Patch, subresource: String? = nil) async throws -> T {
        try await client.decode(
            T.self, .PATCH, objectPath(name, subresource: subresource), body: try patch.body(), contentType: patch.contentType)
    }

    /// Deletes; the server answers with the object (or a Status), which is not needed here.
    public func delete(_ name: String, options: DeleteOptions = DeleteOptions()) async throws {
        let response = try await client.send(.DELETE, objectPath(name), body: try KubeJSON.encode(options.body))
        try KubeClient.check(response)
    }

    /// Deletes, treating NotFound as done.
    public func deleteIfPresent(_ name: String, options: DeleteOptions = DeleteOptions()) async throws {
        do {
            try await delete(name, options: options)
        } catch let error as KubeError where error.reason == .notFound {}
    }
}

extension KubeClient {
    /// The verbs on kind `T` in `namespace` (nil: all namespaces for lists; the object's own for writes).
    public func resources<T: KubeResource>(_ type: T.Type, namespace: String? = nil) -> Resources<T> {
        Resources(client: self, namespace: namespace)
    }
}

extension Resources where T == Pod {
    /// POST `pods/<name>/eviction`: 429 ``KubeError/Reason/tooManyRequests`` while a PodDisruptionBudget forbids it.
    public func evict(_ name: String, namespace podNamespace: String? = nil, gracePeriodSeconds: Int? = nil) async throws {
        let resolved = resolvedNamespace(podNamespace) ?? client.config.namespace
        let eviction = Eviction(pod: name, namespace: resolved, gracePeriodSeconds: gracePeriodSeconds)
        let response = try await client.send(
            .POST, objectPath(name, namespace: resolved, subresource: "eviction"), body: try KubeJSON.encode(eviction))
        try KubeClient.check(response)
    }
}

extension Resources where T == Node {
    /// `kubectl cordon` (`spec.unschedulable: true`) or, with `false`, `uncordon` (the field removed).
    @discardableResult
    public func cordon(_ name: String, _ cordoned: Bool = true) async throws -> Node {
        try await patch(name, .merge(.object(["spec": .object(["unschedulable": cordoned ? .bool(true) : .null])])))
    }
}

extension Resources where T == Deployment {
    /// The `scale` subresource.
    public func scale(_ name: String, replicas: Int) async throws -> Scale {
        try await client.decode(
            Scale.self, .PATCH, objectPath(name, subresource: "scale"),
            body: try Patch.merge(.object(["spec": .object(["replicas": .int(Int64(replicas))])])).body(),
            contentType: Patch.merge(.null).contentType)
    }
}
