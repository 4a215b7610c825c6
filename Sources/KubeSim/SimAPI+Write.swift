import Foundation
import Hummingbird
import HummingbirdCore
import Kube
import NIOFoundationCompat

extension SimAPI {
    func create(_ target: SimTarget, body: JSONObject, user: SimUser, dryRun: Bool) async throws -> Response {
        var object = body
        if let namespace = target.namespace {
            if let given = object.namespace, given != namespace {
                throw SimError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
            }
            object.metadata["namespace"] = .string(namespace)
        }
        let created = try await createObject(target.resource, object, user: user, dryRun: dryRun)
        return Self.json(created, status: .created)
    }

    /// Create as every writer (HTTP, controllers) does it: defaults, validation, admission webhooks, store.
    func createObject(_ resource: SimResource, _ body: JSONObject, user: SimUser, dryRun: Bool = false) async throws -> JSONObject {
        var object = body
        try SimObjects.prepareForCreate(resource, &object)
        if resource.type.namespaced {
            let namespace = object.namespace ?? "default"
            guard store.get(SimResource.namespaces.key, namespace: nil, name: namespace) != nil else {
                throw SimError(code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found")
            }
            if store.get(SimResource.namespaces.key, namespace: nil, name: namespace)?.metadata["deletionTimestamp"] != nil {
                throw SimError(
                    code: 403, reason: "Forbidden",
                    message: "unable to create new content in namespace \(namespace) because it is being terminated")
            }
        }
        object = try await admission.admit(resource, operation: "CREATE", object: object, old: nil, user: user, api: self)
        try SimObjects.validate(resource, object)
        if dryRun { return object }
        let name = object.name
        let stored = try store.write(resource.key, namespace: object.namespace, name: name) { current throws(SimError) in
            if current != nil { throw SimError.alreadyExists(resource, name) }
            return .put(object)
        }
        controllers.kick()
        return stored ?? object
    }

    func update(_ target: SimTarget, _ name: String, body: JSONObject, subresource: String?) async throws -> Response {
        if subresource == "scale" {
            let replicas = body["spec"]?["replicas"]?.intValue ?? 0
            return Self.json(try scale(of: try setReplicas(target, name, Int(replicas), expectedVersion: body.resourceVersion)))
        }
        guard body.name == name else {
            throw SimError.badRequest("the name of the object (\(body.name)) does not match the name on the URL (\(name))")
        }
        return Self.json(try replace(target, name, with: body, subresource: subresource))
    }

    /// The PUT semantics shared by update and patch: optimistic concurrency, status/spec split, no-op detection.
    func replace(_ target: SimTarget, _ name: String, with body: JSONObject, subresource: String?) throws(SimError) -> JSONObject {
        let resource = target.resource
        let stored = try store.write(resource.key, namespace: target.namespace, name: name) { current throws(SimError) in
            guard let current else { throw SimError.notFound(resource, name) }
            if let version = body.resourceVersion, !version.isEmpty, version != current.resourceVersion {
                throw SimError.stale(resource, name)
            }
            var next = SimObjects.merge(resource, current: current, incoming: body, statusOnly: subresource == "status")
            try SimObjects.validate(resource, next)
            next.resourceVersion = current.resourceVersion
            if next == current { return .unchanged }
            if current.metadata["deletionTimestamp"] != nil, next.metadata["finalizers"]?.arrayValue?.isEmpty ?? true {
                return .delete
            }
            return .put(next)
        }
        controllers.kick()
        return stored ?? body
    }

    func patch(_ target: SimTarget, _ name: String, _ data: Data, contentType: String, subresource: String?) async throws -> Response {
        let current = try object(target, name)
        let base: JSONValue = subresource == "scale" ? .object(try scale(of: current)) : .object(current)
        guard let patch = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw SimError.badRequest("the patch is not valid JSON")
        }
        let media = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        var patched: JSONValue
        switch media {
        case "application/merge-patch+json":
            patched = base.mergePatched(with: patch)
        case "application/strategic-merge-patch+json":
            patched = StrategicMerge.apply(patch, to: base)
        case "application/json-patch+json":
            guard let operations = try? patch.decode([JSONPatchOperation].self) else {
                throw SimError.badRequest("the JSON patch is not a list of operations")
            }
            do {
                patched = try base.jsonPatched(with: operations)
            } catch {
                if error.testFailed { throw SimError.conflict(target.resource, name, error.description) }
                throw SimError(code: 422, reason: "Invalid", message: "the JSON patch cannot be applied: \(error)")
            }
        default:
            throw SimError(
                code: 415, reason: "UnsupportedMediaType",
                message: "the body of the request was in an unknown format - accepted media types include: "
                    + "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json")
        }
        guard var object = patched.objectValue else { throw SimError.badRequest("the patched object is not an object") }
        if subresource == "scale" {
            let replicas = object["spec"]?["replicas"]?.intValue ?? 0
            return Self.json(try scale(of: try setReplicas(target, name, Int(replicas), expectedVersion: object.resourceVersion)))
        }
        // A patch that does not name a resourceVersion applies to whatever is current.
        if patch["metadata"]?["resourceVersion"] == nil { object.resourceVersion = nil }
        return Self.json(try replace(target, name, with: object, subresource: subresource))
    }

    func delete(_ target: SimTarget, _ name: String, options: JSONObject, query: Query) throws(SimError) -> Response {
        let resource = target.resource
        let preconditions = options["preconditions"]?.objectValue ?? [:]
        let policy = options["propagationPolicy"]?.stringValue ?? query.values["propagationPolicy"] ?? "Background"
        var pending = false
        let removed = try store.write(resource.key, namespace: target.namespace, name: name) { current throws(SimError) in
            guard var current else { throw SimError.notFound(resource, name) }
            if let uid = preconditions["uid"]?.stringValue, uid != current.uid {
                throw SimError.conflict(
                    resource, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(current.uid ?? "")")
            }
            if let version = preconditions["resourceVersion"]?.stringValue, version != current.resourceVersion {
                throw SimError.conflict(
                    resource, name,
                    "Precondition failed: ResourceVersion in precondition: \(version), ResourceVersion in object meta: \(current.resourceVersion ?? "")"
                )
            }
            if !(current.metadata["finalizers"]?.arrayValue?.isEmpty ?? true) || resource == .namespaces {
                pending = true
                if current.metadata["deletionTimestamp"] != nil { return .unchanged }
                current.metadata["deletionTimestamp"] = .string(KubeTime.format(Date()))
                if resource == .namespaces { current["status"] = .object(["phase": .string("Terminating")]) }
                return .put(current)
            }
            return .delete
        }
        guard let removed else { throw SimError.notFound(resource, name) }
        controllers.deleted(resource, removed, propagation: policy)
        controllers.kick()
        return Self.json(removed, status: pending ? .accepted : .ok)
    }

    func deleteCollection(_ target: SimTarget, query: Query) throws(SimError) -> Response {
        let filter = try SimFilter(target.resource, query: query)
        for item in store.list(target.resource.key, namespace: target.namespace).items where filter.matches(item.object) {
            _ = try? delete(
                SimTarget(resource: target.resource, namespace: item.object.namespace), item.object.name, options: [:], query: query)
        }
        return Self.json(Self.successStatus())
    }

    // MARK: subresources

    func scale(of deployment: JSONObject) throws(SimError) -> JSONObject {
        let value = Deployment(object: deployment)
        return [
            "kind": .string("Scale"), "apiVersion": .string("autoscaling/v1"),
            "metadata": .object([
                "name": .string(value.name), "namespace": .string(value.namespace ?? ""), "uid": .string(value.metadata.uid ?? ""),
                "resourceVersion": .string(value.metadata.resourceVersion ?? ""),
                "creationTimestamp": deployment.metadata["creationTimestamp"] ?? .null,
            ]),
            "spec": .object(["replicas": .int(Int64(value.spec.replicas))]),
            "status": .object([
                "replicas": .int(Int64(value.status.replicas)), "selector": .string(value.spec.selector.queryString),
            ]),
        ]
    }

    func setReplicas(_ target: SimTarget, _ name: String, _ replicas: Int, expectedVersion: String?) throws(SimError) -> JSONObject {
        guard replicas >= 0 else {
            throw SimError.invalid(target.resource, name, [("spec.replicas", "must be greater than or equal to 0")])
        }
        var current = try object(target, name)
        current["spec"] = JSONValue.object(current["spec"]?.objectValue ?? [:]).mergePatched(
            with: .object(["replicas": .int(Int64(replicas))]))
        current.resourceVersion = expectedVersion?.isEmpty == false ? expectedVersion : nil
        return try replace(target, name, with: current, subresource: nil)
    }

    func bind(_ target: SimTarget, _ name: String, body: JSONObject) throws(SimError) -> Response {
        guard let node = body["target"]?["name"]?.stringValue else {
            throw SimError.invalid(target.resource, name, [("target.name", "Required value")])
        }
        try controllers.bind(namespace: target.namespace ?? "default", pod: name, node: node)
        return Self.json(Self.successStatus(), status: .created)
    }

    func evict(_ target: SimTarget, _ name: String, body: JSONObject) async throws -> Response {
        let pod = try object(target, name)
        let namespace = target.namespace ?? "default"
        if let blocking = controllers.blockingBudget(for: pod, namespace: namespace) {
            throw SimError(
                code: 429, reason: "TooManyRequests", message: "Cannot evict pod as it would violate the pod's disruption budget.",
                details: [
                    "causes": .array([
                        .object([
                            "reason": .string("DisruptionBudget"),
                            "message": .string(
                                "The disruption budget \(blocking.name) needs \(blocking.needed) healthy pods and has \(blocking.healthy) currently"
                            ),
                        ])
                    ])
                ])
        }
        _ = try delete(SimTarget(resource: .pods, namespace: namespace), name, options: [:], query: Query(URI("/")))
        return Self.json(Self.successStatus(), status: .created)
    }
}
