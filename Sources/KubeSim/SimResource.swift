import Kube

/// One kind KubeSim serves, with what discovery says about it.
struct SimResource: Sendable, Hashable {
    var type: ResourceType
    var singular: String
    var shortNames: [String] = []
    var subresources: [String] = []
    /// Field selectors the real API server accepts for this kind (beyond metadata.name/namespace).
    var fields: [String] = []
    var verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    /// A custom resource's `additionalPrinterColumns` (server-side printing).
    var printerColumns: [PrinterColumn] = []

    /// One `additionalPrinterColumns` entry: a column name, its type and the JSONPath of its value.
    struct PrinterColumn: Sendable, Hashable {
        var name: String
        var type: String
        var jsonPath: String
        var priority: Int
    }

    /// Storage key: `plural.group`.
    var key: String { type.description }
    var hasStatus: Bool { subresources.contains("status") }

    static let all: [SimResource] = [
        SimResource(
            type: Namespace.resourceType, singular: "namespace", shortNames: ["ns"], subresources: ["status"],
            fields: ["status.phase"]),
        SimResource(
            type: Node.resourceType, singular: "node", shortNames: ["no"], subresources: ["status"], fields: ["spec.unschedulable"]),
        SimResource(
            type: Pod.resourceType, singular: "pod", shortNames: ["po"], subresources: ["status", "eviction", "binding"],
            fields: ["spec.nodeName", "spec.schedulerName", "status.phase", "status.podIP", "spec.serviceAccountName"]),
        SimResource(type: ConfigMap.resourceType, singular: "configmap", shortNames: ["cm"]),
        SimResource(
            type: CoreEvent.resourceType, singular: "event", shortNames: ["ev"],
            fields: [
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid", "reason", "type",
                "source",
            ]),
        SimResource(type: Lease.resourceType, singular: "lease"),
        SimResource(type: Event.resourceType, singular: "event", shortNames: ["ev"], fields: ["regarding.name", "reason", "type"]),
        SimResource(
            type: Deployment.resourceType, singular: "deployment", shortNames: ["deploy"], subresources: ["status", "scale"]),
        SimResource(type: PodDisruptionBudget.resourceType, singular: "poddisruptionbudget", shortNames: ["pdb"], subresources: ["status"]),
        SimResource(type: MutatingWebhookConfiguration.resourceType, singular: "mutatingwebhookconfiguration"),
        SimResource(type: ReplicaSet.resourceType, singular: "replicaset", shortNames: ["rs"], subresources: ["status"]),
        SimResource(type: StatefulSet.resourceType, singular: "statefulset", shortNames: ["sts"], subresources: ["status"]),
        SimResource(type: DaemonSet.resourceType, singular: "daemonset", shortNames: ["ds"], subresources: ["status"]),
        // Stored and served only (no controller): enough for `kubectl apply` of EMP's manifests.
        SimResource(type: .core("ServiceAccount", "serviceaccounts"), singular: "serviceaccount", shortNames: ["sa"]),
        SimResource(type: .core("Service", "services"), singular: "service", shortNames: ["svc"], subresources: ["status"]),
        SimResource(type: .core("Secret", "secrets"), singular: "secret"),
        SimResource(type: .rbac("Role", "roles", namespaced: true), singular: "role"),
        SimResource(type: .rbac("RoleBinding", "rolebindings", namespaced: true), singular: "rolebinding"),
        SimResource(type: .rbac("ClusterRole", "clusterroles", namespaced: false), singular: "clusterrole"),
        SimResource(type: .rbac("ClusterRoleBinding", "clusterrolebindings", namespaced: false), singular: "clusterrolebinding"),
        SimResource(
            type: ResourceType(
                group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions",
                namespaced: false), singular: "customresourcedefinition", shortNames: ["crd", "crds"], subresources: ["status"]),
    ]

    static let crds = all.first { $0.type.plural == "customresourcedefinitions" }!

    /// The kinds a stored CustomResourceDefinition adds: one per served version, with its scope, names, status
    /// subresource and printer columns.
    static func custom(from crd: JSONObject) -> [SimResource] {
        guard let spec = crd["spec"]?.objectValue, let group = spec["group"]?.stringValue,
            let names = spec["names"]?.objectValue, let kind = names["kind"]?.stringValue, let plural = names["plural"]?.stringValue
        else { return [] }
        let namespaced = spec["scope"]?.stringValue != "Cluster"
        return (spec["versions"]?.arrayValue ?? []).compactMap { version -> SimResource? in
            guard let name = version["name"]?.stringValue, version["served"]?.boolValue != false else { return nil }
            let columns = (version["additionalPrinterColumns"]?.arrayValue ?? []).compactMap { column -> PrinterColumn? in
                guard let title = column["name"]?.stringValue, let path = column["jsonPath"]?.stringValue else { return nil }
                return PrinterColumn(
                    name: title, type: column["type"]?.stringValue ?? "string", jsonPath: path,
                    priority: Int(column["priority"]?.intValue ?? 0))
            }
            return SimResource(
                type: ResourceType(group: group, version: name, kind: kind, plural: plural, namespaced: namespaced),
                singular: names["singular"]?.stringValue ?? kind.lowercased(),
                shortNames: names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                subresources: version["subresources"]?["status"] != nil ? ["status"] : [], printerColumns: columns)
        }
    }

    static func find(group: String, version: String, plural: String) -> SimResource? {
        all.first { $0.type.group == group && $0.type.version == version && $0.type.plural == plural }
    }

    static let namespaces = all[0]
    static let nodes = all[1]
    static let pods = all[2]
    static let deployments = all.first { $0.type == Deployment.resourceType }!
    static let pdbs = all.first { $0.type == PodDisruptionBudget.resourceType }!
    static let webhooks = all.first { $0.type == MutatingWebhookConfiguration.resourceType }!
}

extension ResourceType {
    static func core(_ kind: String, _ plural: String) -> ResourceType {
        ResourceType(group: "", version: "v1", kind: kind, plural: plural, namespaced: true)
    }

    static func rbac(_ kind: String, _ plural: String, namespaced: Bool) -> ResourceType {
        ResourceType(group: "rbac.authorization.k8s.io", version: "v1", kind: kind, plural: plural, namespaced: namespaced)
    }
}
