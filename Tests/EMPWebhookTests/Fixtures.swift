import EMPWebhook
import Foundation
import Kube

/// AdmissionReview bodies as the API server sends them.
enum Review {
    static func body(
        operation: String = "CREATE", kind: String = "Pod", group: String = "", namespace: String = "emp-test", dryRun: Bool = false,
        subResource: String? = nil, object: Any? = nil, uid: String = "0c2e5a6f-1111-4222-8333-944445555666"
    ) -> Data {
        var request: [String: Any] = [
            "uid": uid, "operation": operation, "namespace": namespace, "dryRun": dryRun,
            "kind": ["group": group, "version": "v1", "kind": kind],
            "resource": ["group": group, "version": "v1", "resource": kind.lowercased() + "s"],
            "userInfo": ["username": "system:serviceaccount:kube-system:replicaset-controller"],
        ]
        if let subResource { request["subResource"] = subResource }
        if let object { request["object"] = object }
        let review: [String: Any] = ["apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request]
        return try! JSONSerialization.data(withJSONObject: review, options: [.sortedKeys])
    }

    /// A pod of the seed's emp-test Deployment, as the ReplicaSet controller creates it.
    static func pod(labels: [String: String] = ["app": "emp-test"], spec extra: [String: Any] = [:], owner: String = "ReplicaSet")
        -> [String: Any]
    {
        var spec: [String: Any] = [
            "containers": [["name": "app", "image": "nginx", "resources": ["requests": ["memory": "3Gi", "cpu": "100m"]]]]
        ]
        spec.merge(extra) { $1 }
        return [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": [
                "generateName": "emp-test-deployment-7d9f-", "namespace": "emp-test", "labels": labels,
                "ownerReferences": [
                    ["apiVersion": "apps/v1", "kind": owner, "name": "emp-test-deployment-7d9f", "uid": "u-1", "controller": true]
                ],
            ],
            "spec": spec,
        ]
    }

    /// The response part of an answer.
    static func response(_ answer: Data) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: answer) as? [String: Any]
        guard object?["apiVersion"] as? String == "admission.k8s.io/v1", object?["kind"] as? String == "AdmissionReview",
            let response = object?["response"] as? [String: Any]
        else { throw PatchApplyError("not an AdmissionReview answer") }
        return response
    }

    /// The decoded JSON patch of an answer, as plain JSON (nil when there is none).
    static func patch(_ answer: Data) throws -> [[String: Any]]? {
        let response = try response(answer)
        guard let text = response["patch"] as? String else { return nil }
        guard response["patchType"] as? String == "JSONPatch", let data = Data(base64Encoded: text) else {
            throw PatchApplyError("patch without patchType JSONPatch or not base64")
        }
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    }
}

struct PatchApplyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An RFC 6902 applier written for these tests (independent of the webhook and of Kube's), over Foundation JSON:
/// `add`, `remove`, `replace`, `test`; RFC 6901 pointers with `~1`/`~0`; `-` appends; the parent must exist.
enum IndependentPatch {
    static func apply(_ operations: [[String: Any]], to document: Any) throws -> Any {
        var document = document
        for operation in operations {
            guard let op = operation["op"] as? String, let path = operation["path"] as? String else {
                throw PatchApplyError("operation without op or path")
            }
            let tokens = try pointer(path)
            switch op {
            case "add": document = try set(document, tokens[...], operation["value"] as Any, insert: true)
            case "replace": document = try set(document, tokens[...], operation["value"] as Any, insert: false)
            case "remove": document = try remove(document, tokens[...])
            case "test":
                guard NSDictionary(dictionary: ["v": try get(document, tokens[...])]).isEqual(to: ["v": operation["value"] as Any]) else {
                    throw PatchApplyError("test failed at \(path)")
                }
            default: throw PatchApplyError("unsupported op \(op)")
            }
        }
        return document
    }

    static func pointer(_ path: String) throws -> [String] {
        if path.isEmpty { return [] }
        guard path.hasPrefix("/") else { throw PatchApplyError("pointer must start with /: \(path)") }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    static func get(_ node: Any, _ tokens: ArraySlice<String>) throws -> Any {
        guard let token = tokens.first else { return node }
        if let object = node as? [String: Any], let child = object[token] { return try get(child, tokens.dropFirst()) }
        if let array = node as? [Any], let index = Int(token), array.indices.contains(index) {
            return try get(array[index], tokens.dropFirst())
        }
        throw PatchApplyError("no value at \(token)")
    }

    static func set(_ node: Any, _ tokens: ArraySlice<String>, _ value: Any, insert: Bool) throws -> Any {
        guard let token = tokens.first else { return value }
        let last = tokens.count == 1
        if var object = node as? [String: Any] {
            if last {
                if !insert && object[token] == nil { throw PatchApplyError("replace of missing member \(token)") }
                object[token] = value
            } else {
                guard let child = object[token] else { throw PatchApplyError("missing parent \(token)") }
                object[token] = try set(child, tokens.dropFirst(), value, insert: insert)
            }
            return object
        }
        if var array = node as? [Any] {
            if last && token == "-" && insert {
                array.append(value)
                return array
            }
            guard let index = Int(token), index >= 0, index <= array.count else { throw PatchApplyError("bad array index \(token)") }
            if last {
                if insert { array.insert(value, at: index) } else { array[index] = value }
            } else {
                array[index] = try set(array[index], tokens.dropFirst(), value, insert: insert)
            }
            return array
        }
        throw PatchApplyError("cannot descend into a scalar at \(token)")
    }

    static func remove(_ node: Any, _ tokens: ArraySlice<String>) throws -> Any {
        guard let token = tokens.first else { throw PatchApplyError("cannot remove the root") }
        if var object = node as? [String: Any] {
            guard let child = object[token] else { throw PatchApplyError("remove of missing \(token)") }
            object[token] = tokens.count == 1 ? nil : try remove(child, tokens.dropFirst())
            return object
        }
        throw PatchApplyError("remove below a non-object")
    }
}
