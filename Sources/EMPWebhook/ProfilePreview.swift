import EMPModel
public import Foundation
public import Kube

/// What the profile means for a namespace's running pods: which ones the webhook would change if they were created
/// now, and the workloads to restart so their pods come back through the webhook (and onto EVMs).
/// `empctl profile preview|apply` print and act on it.
public struct ProfilePreview: Sendable {
    /// A workload whose pods a rollout restart replaces.
    public struct Workload: Sendable, Hashable, Comparable {
        /// `Deployment`, `StatefulSet` or `DaemonSet`.
        public var kind: String
        public var name: String
        public static func < (a: Workload, b: Workload) -> Bool { (a.kind, a.name) < (b.kind, b.name) }
        public var description: String { "\(kind.lowercased())/\(name)" }
    }

    /// One pod the webhook would change.
    public struct Entry: Sendable, Hashable {
        public var pod: String
        /// What it would get: `toleration`, `nodeSelector`.
        public var adds: [String]
        /// The workload to restart, or nil when the pod must be recreated by hand (bare pods, Jobs).
        public var workload: Workload?
        /// The pod's controller as found (`Job/x`), for pods without a restartable workload.
        public var owner: String?
    }

    public var namespace: String
    public var profile: WebhookProfile
    public var entries: [Entry]

    /// The distinct workloads to restart.
    public var workloads: [Workload] { Array(Set(entries.compactMap(\.workload))).sorted() }

    /// Reads the namespace's pods (and the ReplicaSets between pods and Deployments) under `profile`.
    public static func make(client: KubeClient, namespace: String, profile: WebhookProfile) async throws -> ProfilePreview {
        let pods = try await client.resources(Pod.self, namespace: namespace).listAll().items
        var replicaSetOwners: [String: Workload?] = [:]
        var entries: [Entry] = []
        for pod in pods.sorted(by: { $0.name < $1.name }) where !pod.isTerminated && pod.metadata.deletionTimestamp == nil {
            let operations = try PodMutator.patch(pod: pod.object, namespace: namespace, profile: profile)
            guard !operations.isEmpty else { continue }
            let adds = operations.map { $0.path.hasPrefix("/spec/tolerations") ? "toleration" : "nodeSelector" }
            var workload: Workload?
            var owner: String?
            if let controller = pod.controller {
                owner = "\(controller.kind)/\(controller.name)"
                switch controller.kind {
                case "Deployment", "StatefulSet", "DaemonSet":
                    workload = Workload(kind: controller.kind, name: controller.name)
                case "ReplicaSet":
                    if replicaSetOwners[controller.name] == nil {
                        let set = try await client.resources(ReplicaSet.self, namespace: namespace).getIfPresent(controller.name)
                        let top = set?.metadata.ownerReferences.first { $0.controller && $0.kind == "Deployment" }
                        replicaSetOwners[controller.name] = top.map { Workload(kind: "Deployment", name: $0.name) }
                    }
                    workload = replicaSetOwners[controller.name] ?? nil
                default:
                    break
                }
            }
            entries.append(Entry(pod: pod.name, adds: adds, workload: workload, owner: owner))
        }
        return ProfilePreview(namespace: namespace, profile: profile, entries: entries)
    }

    /// Rollout-restarts `workload` the way `kubectl rollout restart` does.
    public static func restart(_ workload: Workload, namespace: String, client: KubeClient, at time: Date = Date()) async throws {
        let patch = Deployment.restartPatch(at: KubeTime.format(time))
        switch workload.kind {
        case "Deployment": _ = try await client.resources(Deployment.self, namespace: namespace).patch(workload.name, .merge(patch))
        case "StatefulSet": _ = try await client.resources(StatefulSet.self, namespace: namespace).patch(workload.name, .merge(patch))
        case "DaemonSet": _ = try await client.resources(DaemonSet.self, namespace: namespace).patch(workload.name, .merge(patch))
        default: throw WebhookError("\(workload.kind) cannot be restarted")
        }
    }
}
