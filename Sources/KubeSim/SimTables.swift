import Foundation
import Kube

/// Server-side printing (`meta.k8s.io/v1` Table), which `kubectl get` asks for: the same columns a real API server
/// returns for pods, nodes and deployments (`-o wide` shows the priority-1 columns), NAME and AGE for the rest.
enum SimTables {
    typealias Column = (name: String, type: String, priority: Int)

    static func table(_ resource: SimResource, _ items: [JSONObject], revision: Int64) -> JSONObject {
        let (columns, cells) = layout(resource)
        let rows: [JSONValue] = items.map { item in
            var metadata = item.metadata
            metadata["managedFields"] = nil
            return .object([
                "cells": .array(cells(item)),
                "object": .object([
                    "kind": .string("PartialObjectMetadata"), "apiVersion": .string("meta.k8s.io/v1"), "metadata": .object(metadata),
                ]),
            ])
        }
        return [
            "kind": .string("Table"), "apiVersion": .string("meta.k8s.io/v1"),
            "metadata": .object(["resourceVersion": .string(String(revision))]),
            "columnDefinitions": .array(
                columns.map {
                    .object([
                        "name": .string($0.name), "type": .string($0.type), "format": .string($0.name == "Name" ? "name" : ""),
                        "description": .string(""), "priority": .int(Int64($0.priority)),
                    ])
                }),
            "rows": .array(rows),
        ]
    }

    static func layout(_ resource: SimResource) -> ([Column], (JSONObject) -> [JSONValue]) {
        switch resource {
        case .pods:
            let columns: [Column] = [
                ("Name", "string", 0), ("Ready", "string", 0), ("Status", "string", 0), ("Restarts", "string", 0), ("Age", "string", 0),
                ("IP", "string", 1), ("Node", "string", 1), ("Nominated Node", "string", 1), ("Readiness Gates", "string", 1),
            ]
            return (
                columns,
                { object in
                    let pod = Pod(object: object)
                    let statuses = object["status"]?["containerStatuses"]?.arrayValue ?? []
                    let ready = statuses.filter { $0["ready"]?.boolValue == true }.count
                    let status = object.metadata["deletionTimestamp"] != nil ? "Terminating" : (pod.status.phase ?? "Pending")
                    return [
                        .string(pod.name), .string("\(ready)/\(pod.spec.containers.count)"), .string(status), .string("0"),
                        .string(age(object)), .string(pod.status.podIP ?? "<none>"), .string(pod.spec.nodeName ?? "<none>"),
                        .string("<none>"), .string("<none>"),
                    ]
                }
            )
        case .nodes:
            let columns: [Column] = [
                ("Name", "string", 0), ("Status", "string", 0), ("Roles", "string", 0), ("Age", "string", 0), ("Version", "string", 0),
                ("Internal-IP", "string", 1), ("External-IP", "string", 1), ("OS-Image", "string", 1), ("Kernel-Version", "string", 1),
                ("Container-Runtime", "string", 1),
            ]
            return (
                columns,
                { object in
                    let node = Node(object: object)
                    var status = node.isReady ? "Ready" : (node.status.conditions.contains { $0.type == "Ready" } ? "NotReady" : "Unknown")
                    if node.spec.unschedulable { status += ",SchedulingDisabled" }
                    let roles = node.metadata.labels.keys.filter { $0.hasPrefix("node-role.kubernetes.io/") }
                        .map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
                    let internalIP = node.status.addresses.first { $0.type == "InternalIP" }?.address
                    let external = node.status.addresses.first { $0.type == "ExternalIP" }?.address
                    let info = node.status.nodeInfo
                    return [
                        .string(node.name), .string(status), .string(roles.isEmpty ? "<none>" : roles.joined(separator: ",")),
                        .string(age(object)), .string(info.kubeletVersion ?? ""), .string(internalIP ?? "<none>"),
                        .string(external ?? "<none>"), .string(info.osImage ?? "<unknown>"), .string(info.kernelVersion ?? "<unknown>"),
                        .string(info.containerRuntimeVersion ?? "<unknown>"),
                    ]
                }
            )
        case .deployments:
            let columns: [Column] = [
                ("Name", "string", 0), ("Ready", "string", 0), ("Up-to-date", "string", 0), ("Available", "string", 0),
                ("Age", "string", 0), ("Containers", "string", 1), ("Images", "string", 1), ("Selector", "string", 1),
            ]
            return (
                columns,
                { object in
                    let deployment = Deployment(object: object)
                    let containers = deployment.spec.template.spec.containers
                    return [
                        .string(deployment.name), .string("\(deployment.status.readyReplicas)/\(deployment.spec.replicas)"),
                        .int(Int64(deployment.status.updatedReplicas)), .int(Int64(deployment.status.availableReplicas)),
                        .string(age(object)), .string(containers.map(\.name).joined(separator: ",")),
                        .string(containers.compactMap(\.image).joined(separator: ",")), .string(deployment.spec.selector.queryString),
                    ]
                }
            )
        case .namespaces:
            return (
                [("Name", "string", 0), ("Status", "string", 0), ("Age", "string", 0)],
                { object in
                    [.string(object.name), object["status"]?["phase"] ?? .string("Active"), .string(age(object))]
                }
            )
        default:
            guard !resource.printerColumns.isEmpty else {
                return ([("Name", "string", 0), ("Age", "string", 0)], { object in [.string(object.name), .string(age(object))] })
            }
            // A custom resource: NAME, then its additionalPrinterColumns (a date column shows as an age).
            let custom = resource.printerColumns
            return (
                [("Name", "string", 0)] + custom.map { ($0.name, $0.type == "date" ? "string" : $0.type, $0.priority) },
                { object in
                    [.string(object.name)]
                        + custom.map { column in
                            guard let value = evaluate(column.jsonPath, in: .object(object)) else { return .string("<none>") }
                            if column.type == "date", let text = value.stringValue, KubeTime.parse(text) != nil {
                                return .string(age(["metadata": .object(["creationTimestamp": .string(text)])]))
                            }
                            return value
                        }
                }
            )
        }
    }

    /// The JSONPath subset printer columns use: `.a.b`, `.list[0]` and `.list[?(@.key=="value")].field`.
    static func evaluate(_ path: String, in root: JSONValue) -> JSONValue? {
        var current: JSONValue? = root
        var rest = Substring(path.hasPrefix("$") ? String(path.dropFirst()) : path)
        while !rest.isEmpty, let value = current {
            if rest.hasPrefix(".") {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                current = value[String(name)]
            } else if rest.hasPrefix("[?(@."), let close = rest.range(of: ")]") {
                let condition = rest[rest.index(rest.startIndex, offsetBy: 5)..<close.lowerBound]
                rest = rest[close.upperBound...]
                let parts = condition.components(separatedBy: "==")
                guard parts.count == 2 else { return nil }
                let key = parts[0].trimmingCharacters(in: .whitespaces)
                let wanted = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " \"'"))
                current = value.arrayValue?.first { $0[key]?.stringValue == wanted }
            } else if rest.hasPrefix("["), let close = rest.firstIndex(of: "]"),
                let index = Int(rest[rest.index(after: rest.startIndex)..<close])
            {
                rest = rest[rest.index(after: close)...]
                current = value.arrayValue.flatMap { index < $0.count ? $0[index] : nil }
            } else {
                return nil
            }
        }
        return current
    }

    /// kubectl's short human duration: `42s`, `5m12s`, `3h`, `2d`.
    static func age(_ object: JSONObject) -> String {
        guard let text = object.metadata["creationTimestamp"]?.stringValue, let created = KubeTime.parse(text) else { return "<unknown>" }
        let seconds = max(0, Int(Date().timeIntervalSince(created)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<600: return "\(seconds / 60)m\(seconds % 60 == 0 ? "" : "\(seconds % 60)s")"
        case ..<(3 * 3600): return "\(seconds / 60)m"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }
}
