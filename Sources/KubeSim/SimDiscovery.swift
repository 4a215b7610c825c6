import Foundation
import Hummingbird
import Kube
import NIOConcurrencyHelpers

extension SimAPI {
    /// `/version`, `/api`, `/apis`, the group/version resource lists kubectl reads, and health endpoints.
    func discovery(path: String, request: Request) throws(SimError) -> Response? {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        switch trimmed {
        case "/healthz", "/readyz", "/livez":
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok")))
        case "/version":
            return Self.json([
                "major": .string("1"), "minor": .string("32"), "gitVersion": .string("v1.32.0-kubesim"),
                "gitCommit": .string("0000000000000000000000000000000000000000"), "gitTreeState": .string("clean"),
                "buildDate": .string("2026-01-01T00:00:00Z"), "goVersion": .string("go1.23"), "compiler": .string("gc"),
                "platform": .string("linux/amd64"),
            ])
        case "/api":
            return Self.json([
                "kind": .string("APIVersions"), "versions": .array([.string("v1")]),
                "serverAddressByClientCIDRs": .array([
                    .object(["clientCIDR": .string("0.0.0.0/0"), "serverAddress": .string("127.0.0.1:\(port.withLockedValue { $0 })")])
                ]),
            ])
        case "/apis":
            let groups = Dictionary(grouping: resources.filter { !$0.type.group.isEmpty }, by: \.type.group)
            return Self.json([
                "kind": .string("APIGroupList"), "apiVersion": .string("v1"),
                "groups": .array(
                    groups.keys.sorted().map { group in
                        let version = JSONValue.object([
                            "groupVersion": .string("\(group)/\(groups[group]![0].type.version)"),
                            "version": .string(groups[group]![0].type.version),
                        ])
                        return .object(["name": .string(group), "versions": .array([version]), "preferredVersion": version])
                    }),
            ])
        default:
            break
        }
        if trimmed.hasPrefix("/openapi/") { return try SimOpenAPI.response(trimmed, resources: resources) }
        let parts = trimmed.split(separator: "/").map(String.init)
        let groupVersion: (group: String, version: String)?
        if parts.count == 2, parts[0] == "api" {
            groupVersion = ("", parts[1])
        } else if parts.count == 3, parts[0] == "apis" {
            groupVersion = (parts[1], parts[2])
        } else if parts.count == 2, parts[0] == "apis" {
            let resources = resources.filter { $0.type.group == parts[1] }
            guard let first = resources.first else { throw SimError(code: 404, reason: "NotFound", message: "not found") }
            let version = JSONValue.object(["groupVersion": .string(first.type.apiVersion), "version": .string(first.type.version)])
            return Self.json([
                "kind": .string("APIGroup"), "apiVersion": .string("v1"), "name": .string(parts[1]),
                "versions": .array([version]), "preferredVersion": version,
            ])
        } else {
            groupVersion = nil
        }
        guard let groupVersion else { return nil }
        let resources = resources.filter { $0.type.group == groupVersion.group && $0.type.version == groupVersion.version }
        guard !resources.isEmpty else {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        return Self.json([
            "kind": .string("APIResourceList"), "apiVersion": .string("v1"), "groupVersion": .string(resources[0].type.apiVersion),
            "resources": .array(resources.flatMap(Self.discoveryEntries)),
        ])
    }

    static func discoveryEntries(_ resource: SimResource) -> [JSONValue] {
        var main: JSONObject = [
            "name": .string(resource.type.plural), "singularName": .string(resource.singular),
            "namespaced": .bool(resource.type.namespaced), "kind": .string(resource.type.kind),
            "verbs": .array(resource.verbs.map(JSONValue.string)),
        ]
        if !resource.shortNames.isEmpty { main["shortNames"] = .array(resource.shortNames.map(JSONValue.string)) }
        if [.pods, .deployments].contains(resource) { main["categories"] = .array([.string("all")]) }
        var entries: [JSONValue] = [.object(main)]
        for subresource in resource.subresources {
            var entry: JSONObject = [
                "name": .string("\(resource.type.plural)/\(subresource)"), "singularName": .string(""),
                "namespaced": .bool(resource.type.namespaced), "kind": .string(resource.type.kind),
                "verbs": .array(["get", "patch", "update"].map(JSONValue.string)),
            ]
            switch subresource {
            case "scale":
                entry["group"] = .string("autoscaling")
                entry["version"] = .string("v1")
                entry["kind"] = .string("Scale")
            case "eviction":
                entry["group"] = .string("policy")
                entry["version"] = .string("v1")
                entry["kind"] = .string("Eviction")
                entry["verbs"] = .array([.string("create")])
            case "binding":
                entry["kind"] = .string("Binding")
                entry["verbs"] = .array([.string("create")])
            default:
                break
            }
            entries.append(.object(entry))
        }
        return entries
    }
}
