import EMPModel
import Foundation
import Kube

/// Per-kind defaulting and validation, following the API server's strategies for the kinds KubeSim serves.
enum SimObjects {
    static func prepareForCreate(_ resource: SimResource, _ object: inout JSONObject) throws(SimError) {
        object["apiVersion"] = .string(resource.type.apiVersion)
        object["kind"] = .string(resource.type.kind)
        var metadata = object.metadata
        if metadata["name"]?.stringValue?.isEmpty ?? true {
            guard let prefix = metadata["generateName"]?.stringValue, !prefix.isEmpty else {
                throw SimError.invalid(resource, "", [("metadata.name", "Required value: name or generateName is required")])
            }
            metadata["name"] = .string(prefix + randomSuffix())
        }
        if resource.type.namespaced, metadata["namespace"] == nil { metadata["namespace"] = .string("default") }
        metadata["uid"] = .string(UUID().uuidString.lowercased())
        metadata["creationTimestamp"] = .string(KubeTime.format(Date()))
        metadata["generation"] = .int(1)
        metadata["deletionTimestamp"] = nil
        object.metadata = metadata
        switch resource {
        case .pods:
            object["status"] = .object([
                "phase": .string("Pending"), "qosClass": .string(qosClass(Pod(object: object))),
            ])
            var spec = object["spec"]?.objectValue ?? [:]
            spec["schedulerName"] = spec["schedulerName"] ?? .string("default-scheduler")
            spec["restartPolicy"] = spec["restartPolicy"] ?? .string("Always")
            spec["priority"] = spec["priority"] ?? .int(0)
            object["spec"] = .object(spec)
        case .deployments:
            var spec = object["spec"]?.objectValue ?? [:]
            spec["replicas"] = spec["replicas"] ?? .int(1)
            object["spec"] = .object(spec)
            object["status"] = nil
        case .namespaces:
            object["status"] = .object(["phase": .string("Active")])
            var labels = object.labels
            labels["kubernetes.io/metadata.name"] = object.name
            object.metadata["labels"] = labels.json
        default:
            break
        }
    }

    static func randomSuffix(_ count: Int = 5) -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<count).map { _ in alphabet.randomElement()! })
    }

    static func qosClass(_ pod: Pod) -> String {
        pod.spec.containers.allSatisfy { $0.requests.isEmpty } ? "BestEffort" : "Burstable"
    }

    static func validate(_ resource: SimResource, _ object: JSONObject) throws(SimError) {
        let name = object.name
        var causes: [(field: String, message: String)] = []
        if !isSubdomain(name) {
            causes.append(
                (
                    "metadata.name",
                    "Invalid value: \"\(name)\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ))
        } else if resource == .namespaces, name.contains(".") || name.count > 63 {
            causes.append(
                (
                    "metadata.name",
                    "Invalid value: \"\(name)\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
                ))
        }
        switch resource {
        case .pods:
            let pod = Pod(object: object)
            if pod.spec.containers.isEmpty { causes.append(("spec.containers", "Required value")) }
            for (index, container) in pod.spec.containers.enumerated() {
                if container.name.isEmpty { causes.append(("spec.containers[\(index)].name", "Required value")) }
                if container.image?.isEmpty ?? true { causes.append(("spec.containers[\(index)].image", "Required value")) }
                for (key, value) in container.requests where (try? Quantity(value)) == nil {
                    causes.append(
                        ("spec.containers[\(index)].resources.requests[\(key)]", "Invalid value: \"\(value)\": must be a quantity"))
                }
            }
        case .deployments:
            let deployment = Deployment(object: object)
            let selector = deployment.spec.selector
            if selector.matchLabels.isEmpty && selector.matchExpressions.isEmpty {
                causes.append(("spec.selector", "Required value"))
            } else if !selector.matches(deployment.spec.template.metadata.labels) {
                causes.append(("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"))
            }
            if deployment.spec.replicas < 0 { causes.append(("spec.replicas", "Invalid value: must be greater than or equal to 0")) }
            if deployment.spec.template.spec.containers.isEmpty { causes.append(("spec.template.spec.containers", "Required value")) }
        default:
            break
        }
        if !causes.isEmpty { throw SimError.invalid(resource, name, causes) }
    }

    static func isSubdomain(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-.")
        guard let first = name.first, let last = name.last, name.count <= 253, name.allSatisfy(allowed.contains) else { return false }
        return first != "-" && first != "." && last != "-" && last != "."
    }

    /// The object a PUT stores: immutable metadata kept; with a status subresource, a main update keeps the old
    /// status and a status update keeps everything but the status. Spec changes bump `generation`.
    static func merge(_ resource: SimResource, current: JSONObject, incoming: JSONObject, statusOnly: Bool) -> JSONObject {
        var next = incoming
        if statusOnly {
            next = current
            next["status"] = incoming["status"]
        } else if resource.hasStatus, resource != .nodes || current["status"] != nil {
            next["status"] = current["status"]
        }
        next["apiVersion"] = current["apiVersion"]
        next["kind"] = current["kind"]
        var metadata = next.metadata
        for key in ["uid", "creationTimestamp", "namespace", "name", "deletionTimestamp", "generation"] {
            metadata[key] = current.metadata[key]
        }
        if !statusOnly, current["spec"] != next["spec"] {
            metadata["generation"] = .int((current.metadata["generation"]?.intValue ?? 1) + 1)
        }
        next.metadata = metadata
        return next
    }
}
