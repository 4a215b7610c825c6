import Hummingbird
import Kube

/// The sliver of OpenAPI v3 kubectl reads before `apply`: per group/version, the object paths with their
/// `x-kubernetes-group-version-kind` and (on each operation) the `fieldValidation` query parameter, which tells kubectl to let the
/// server validate fields (so it needs no schemas). `/openapi/v2` stays 404, as kubectl then does not need it.
enum SimOpenAPI {
    static func response(_ path: String, resources: [SimResource]) throws(SimError) -> Response {
        let groupVersions = Set(resources.map { $0.type.prefix.dropFirst() }).sorted()
        if path == "/openapi/v3" {
            var paths: JSONObject = [:]
            for groupVersion in groupVersions {
                paths[String(groupVersion)] = .object(["serverRelativeURL": .string("/openapi/v3/\(groupVersion)?hash=kubesim")])
            }
            return SimAPI.json(["paths": .object(paths)])
        }
        let requested = path.dropFirst("/openapi/v3/".count)
        guard path.hasPrefix("/openapi/v3/"), groupVersions.contains(requested) else {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        var paths: JSONObject = [:]
        for resource in resources where resource.type.prefix.dropFirst() == requested {
            let type = resource.type
            let kind = JSONValue.object(["group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind)])
            let parameters = JSONValue.array([
                .object(["name": .string("fieldValidation"), "in": .string("query"), "schema": .object(["type": .string("string")])])
            ])
            let operation = JSONValue.object([
                "x-kubernetes-group-version-kind": kind, "parameters": parameters, "responses": .object([:]),
            ])
            let objectPath =
                type.namespaced ? "\(type.prefix)/namespaces/{namespace}/\(type.plural)/{name}" : "\(type.prefix)/\(type.plural)/{name}"
            let collectionPath = type.namespaced ? "\(type.prefix)/namespaces/{namespace}/\(type.plural)" : "\(type.prefix)/\(type.plural)"
            paths[objectPath] = .object([
                "get": operation, "put": operation, "patch": operation, "delete": operation, "parameters": parameters,
            ])
            paths[collectionPath] = .object(["get": operation, "post": operation, "parameters": parameters])
        }
        return SimAPI.json([
            "openapi": .string("3.0.0"), "info": .object(["title": .string("Kubernetes"), "version": .string("v1.32.0")]),
            "paths": .object(paths), "components": .object(["schemas": .object([:])]),
        ])
    }
}
