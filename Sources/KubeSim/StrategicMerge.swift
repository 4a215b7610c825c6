import Kube

/// Kubernetes strategic merge patch for the fields KubeSim's clients touch: like a JSON merge patch, except that
/// lists with a patch merge key merge element by element (conditions by `type`, containers by `name`, …) and
/// honour `$patch: delete`; other lists (tolerations, taints, finalizers) are replaced, as their API types declare.
enum StrategicMerge {
    /// Merge keys of the lists that have one in the built-in types.
    static let mergeKeys: [String: String] = [
        "conditions": "type", "containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
        "volumeMounts": "mountPath", "ports": "containerPort", "ownerReferences": "uid", "addresses": "type",
        "imagePullSecrets": "name", "containerStatuses": "name",
    ]

    static func apply(_ patch: JSONValue, to base: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        if members["$patch"]?.stringValue == "replace" {
            var replaced = members
            replaced["$patch"] = nil
            return .object(replaced)
        }
        var result = base.objectValue ?? [:]
        for (key, value) in members {
            if key.hasPrefix("$") { continue }
            if value == .null {
                result[key] = nil
            } else if case .array(let items) = value, let mergeKey = mergeKeys[key], case .array(let current)? = result[key] {
                result[key] = .array(mergeList(current, items, key: mergeKey))
            } else if case .array(let items) = value {
                result[key] = .array(items.filter { $0["$patch"] == nil })
            } else {
                result[key] = apply(value, to: result[key] ?? .null)
            }
        }
        return .object(result)
    }

    static func mergeList(_ current: [JSONValue], _ patch: [JSONValue], key: String) -> [JSONValue] {
        var result = current
        for item in patch {
            guard let id = item[key] else {
                result.append(item)
                continue
            }
            let index = result.firstIndex { $0[key] == id }
            if item["$patch"]?.stringValue == "delete" {
                if let index { result.remove(at: index) }
            } else if let index {
                result[index] = apply(item, to: result[index])
            } else {
                result.append(apply(item, to: .object([:])))
            }
        }
        return result
    }
}
