import EMPModel
import Foundation
public import Kube

/// The webhook's decision for one AdmissionReview request, pure: pods created in opted-in namespaces get the EMP
/// toleration and nodeSelector as an RFC 6902 JSON patch; everything else is allowed unchanged.
///
/// Rules: only `CREATE` of `v1 Pod` (no subresource); nothing present is ever replaced (an existing toleration
/// that already tolerates the taint, or any `emp.pf9.io/owned` nodeSelector value, is kept); DaemonSet pods and
/// pods already bound to a node (`spec.nodeName`, e.g. mirror pods) get the toleration only. dryRun gets the same
/// answer (the webhook has no side effects).
public enum PodMutator {
    /// `emp.pf9.io/EMPSchedulable=true:NoSchedule`, as a toleration.
    public static let toleration: JSONValue = .object([
        "key": .string(Profile.taintKey), "operator": .string("Equal"), "value": .string(Profile.taintValue),
        "effect": .string(Profile.taintEffect),
    ])
    static let taint = Taint(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)

    /// The response to `request` under `profile`; throws ``MalformedReview`` when a Pod CREATE has no usable pod.
    public static func respond(to request: AdmissionReview.Request, profile: WebhookProfile) throws(MalformedReview)
        -> AdmissionReview.Response
    {
        guard isPodCreate(request) else { return AdmissionReview.Response(uid: request.uid) }
        guard case .object(let pod)? = request.objectValue else {
            throw MalformedReview("request.object must be the Pod being created")
        }
        let operations = try patch(pod: pod, namespace: request.namespace, profile: profile)
        return AdmissionReview.Response(uid: request.uid, patch: operations)
    }

    /// True for `CREATE` of core `v1` `Pod` itself (not a subresource such as `pods/binding`).
    static func isPodCreate(_ request: AdmissionReview.Request) -> Bool {
        let kind = request.kind
        return request.operation == "CREATE" && kind["group"]?.stringValue ?? "" == "" && kind["version"]?.stringValue == "v1"
            && kind["kind"]?.stringValue == "Pod" && (request.object["subResource"]?.stringValue ?? "").isEmpty
    }

    /// The operations that make `pod` (in `namespace`, or its own `metadata.namespace`) run on EVMs; empty when
    /// the profile does not select it or it already has both.
    public static func patch(pod: JSONObject, namespace: String?, profile: WebhookProfile) throws(MalformedReview) -> [JSONPatchOperation] {
        let spec = pod["spec"]
        guard case .object(let specObject)? = spec else { throw MalformedReview("request.object.spec must be an object") }
        let view = Pod(object: pod)
        let namespace = namespace.flatMap { $0.isEmpty ? nil : $0 } ?? view.metadata.namespace ?? ""
        guard profile.selects(namespace: namespace, labels: view.metadata.labels) else { return [] }

        var operations: [JSONPatchOperation] = []
        switch specObject["tolerations"] {
        case nil, .null?:
            operations.append(.add("/spec/tolerations", .array([toleration])))
        case .array(let list)?:
            let tolerated = list.contains { item in item.objectValue.map { Toleration(object: $0).tolerates(taint) } ?? false }
            if !tolerated { operations.append(.add("/spec/tolerations/-", toleration)) }
        default:
            throw MalformedReview("request.object.spec.tolerations must be a list")
        }

        let daemonSet = view.metadata.ownerReferences.contains { $0.kind == "DaemonSet" }
        let bound = !(view.spec.nodeName ?? "").isEmpty
        guard !daemonSet, !bound else { return operations }
        switch specObject["nodeSelector"] {
        case nil, .null?:
            operations.append(.add("/spec/nodeSelector", .object([Profile.ownedLabel: .string(Profile.ownedValue)])))
        case .object(let selector)?:
            if selector[Profile.ownedLabel] == nil {
                operations.append(.add("/spec/nodeSelector/\(JSONPatchOperation.escape(Profile.ownedLabel))", .string(Profile.ownedValue)))
            }
        default:
            throw MalformedReview("request.object.spec.nodeSelector must be an object")
        }
        return operations
    }
}

/// An AdmissionReview the webhook cannot answer; the server returns HTTP 400 with this message.
public struct MalformedReview: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
