import Foundation
import Kube
import Logging
import NIOConcurrencyHelpers

extension SimControllers {
    /// Deployments own their pods directly (no ReplicaSet level): missing replicas are created from the template
    /// (through admission, like any pod), surplus ones deleted: unscheduled first, then the newest.
    func reconcileDeployments() async {
        guard let api = api.withLockedValue({ $0 }) else { return }
        for object in objects(.deployments) {
            let deployment = Deployment(object: object)
            guard deployment.metadata.deletionTimestamp == nil, let uid = deployment.metadata.uid else { continue }
            let owned = objects(.pods, namespace: deployment.namespace).filter {
                Pod(object: $0).metadata.ownerReferences.contains { $0.uid == uid } && Pod(object: $0).metadata.deletionTimestamp == nil
            }
            let want = deployment.spec.replicas
            if owned.count < want {
                for _ in owned.count..<want {
                    do {
                        _ = try await api.createObject(
                            .pods, Self.pod(from: deployment),
                            user: SimUser(name: "system:serviceaccount:kube-system:deployment-controller"))
                    } catch {
                        logger.warning(
                            "deployment controller cannot create a pod", metadata: ["deployment": "\(deployment.key)", "error": "\(error)"])
                        break
                    }
                }
            } else if owned.count > want {
                let ordered = owned.map(Pod.init(object:)).sorted {
                    ($0.spec.nodeName == nil ? 0 : 1, $1.metadata.creationTimestamp ?? .distantPast)
                        < ($1.spec.nodeName == nil ? 0 : 1, $0.metadata.creationTimestamp ?? .distantPast)
                }
                for pod in ordered.prefix(owned.count - want) { remove(.pods, pod.object) }
            }
        }
    }

    static func pod(from deployment: Deployment) -> JSONObject {
        let template = deployment.spec.template
        let hash = SimKubelet.address(for: "\(template.json)", net: 0).split(separator: ".").map(String.init).joined()
        var pod = Pod()
        var metadata = template.metadata
        metadata.generateName = "\(deployment.name)-\(String(hash.suffix(9)))-"
        metadata.namespace = deployment.namespace
        metadata.labels["pod-template-hash"] = String(hash.suffix(9))
        metadata.ownerReferences = [
            OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: deployment.name, uid: deployment.metadata.uid ?? "")
        ]
        pod.metadata = metadata
        pod.spec = template.spec
        return pod.object
    }

    func updateDeploymentStatus() {
        for object in objects(.deployments) {
            let deployment = Deployment(object: object)
            guard let uid = deployment.metadata.uid else { continue }
            let pods = objects(.pods, namespace: deployment.namespace).map(Pod.init(object:)).filter {
                $0.metadata.ownerReferences.contains { $0.uid == uid }
            }
            let ready = pods.filter { $0.status.phase == "Running" }.count
            modify(.deployments, object) { item in
                var value = Deployment(object: item)
                var status = value.status
                status.replicas = pods.count
                status.updatedReplicas = pods.count
                status.readyReplicas = ready
                status.availableReplicas = ready
                status.observedGeneration = value.metadata.generation
                var conditions = status.conditions
                let available = ready >= value.spec.replicas
                conditions.set(
                    Condition(
                        type: "Available", status: available ? "True" : "False",
                        reason: available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"))
                status.conditions = conditions
                value.status = status
                item = value.object
            }
        }
    }

    // MARK: disruption budgets

    /// What a budget allows now: healthy (Running) matching pods, how many must stay, and the expected count.
    func budget(_ pdb: PodDisruptionBudget) -> (healthy: Int, desired: Int, expected: Int) {
        let pods = objects(.pods, namespace: pdb.namespace).map(Pod.init(object:)).filter {
            pdb.spec.selector.matches($0.metadata.labels) && $0.metadata.deletionTimestamp == nil
        }
        let healthy = pods.filter { $0.status.phase == "Running" }.count
        let expected = pods.count
        if let minimum = pdb.spec.minAvailable {
            return (healthy, minimum.value(total: expected, roundUp: true) ?? 0, expected)
        }
        if let maximum = pdb.spec.maxUnavailable {
            return (healthy, max(0, expected - (maximum.value(total: expected, roundUp: true) ?? 0)), expected)
        }
        return (healthy, 0, expected)
    }

    /// The first budget that forbids evicting `pod`, with its numbers.
    func blockingBudget(for pod: JSONObject, namespace: String) -> (name: String, needed: Int, healthy: Int)? {
        let labels = pod.labels
        let running = Pod(object: pod).status.phase == "Running"
        for object in objects(.pdbs, namespace: namespace) {
            let pdb = PodDisruptionBudget(object: object)
            guard pdb.spec.selector.matches(labels) else { continue }
            let numbers = budget(pdb)
            // Evicting a pod that is not healthy never reduces availability.
            if running, numbers.healthy - 1 < numbers.desired { return (pdb.name, numbers.desired, numbers.healthy) }
        }
        return nil
    }

    func updateBudgets() {
        for object in objects(.pdbs) {
            let numbers = budget(PodDisruptionBudget(object: object))
            modify(.pdbs, object) { item in
                var pdb = PodDisruptionBudget(object: item)
                pdb.status.currentHealthy = numbers.healthy
                pdb.status.desiredHealthy = numbers.desired
                pdb.status.expectedPods = numbers.expected
                pdb.status.disruptionsAllowed = max(0, numbers.healthy - numbers.desired)
                pdb.status["observedGeneration"] = pdb.metadata.generation
                item = pdb.object
            }
        }
    }
}
