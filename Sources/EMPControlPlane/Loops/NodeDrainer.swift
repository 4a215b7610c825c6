import EMPModel
import Foundation
import Kube
import Logging

/// The one way EMP empties an EVM's Node, for scale-down, the deadline drain and anything later: cordon it, evict
/// its pods through the eviction API (so the API server honours PodDisruptionBudgets; DaemonSet and mirror pods
/// stay), and delete the Node once the caller has recorded the EVM's removal.
struct NodeDrainer: Sendable {
    /// What to do when a PodDisruptionBudget refuses an eviction (429).
    enum WhenBlocked: Sendable {
        /// Stop, uncordon the Node and report the pod: the EVM is kept (scale-down).
        case keepNode
        /// Go on with the other pods: the host goes away regardless (deadline drain).
        case continueDraining
    }

    /// How a drain ended.
    enum Outcome: Sendable, Equatable {
        /// Every pod that keeps the Node busy was evicted (or none was left to), minus `failed` evictions.
        case drained(evicted: Int, failed: Int)
        /// A PodDisruptionBudget kept `pod`; the Node was uncordoned.
        case blocked(pod: String)
    }

    let client: KubeClient
    let logger: Logger

    /// Cordons `node` and evicts `pods` (default: those on the Node now) that keep it busy.
    func drain(_ node: String, pods known: [Pod]? = nil, whenBlocked: WhenBlocked) async throws -> Outcome {
        let nodes = client.resources(Node.self)
        _ = try await nodes.cordon(node)
        var pods = known ?? []
        if known == nil {
            pods = try await client.resources(Pod.self).listAll(ListOptions(fieldSelector: "spec.nodeName=\(node)")).items
        }
        var evicted = 0
        var failed = 0
        for pod in pods where pod.spec.nodeName == node && ClusterView.keepsNodeBusy(pod) {
            do {
                try await client.resources(Pod.self, namespace: pod.metadata.namespace).evict(pod.name)
                evicted += 1
            } catch let error as KubeError where error.reason == .tooManyRequests && whenBlocked == .keepNode {
                logger.notice("eviction blocked by a PodDisruptionBudget; keeping the node", metadata: ["pod": "\(pod.key)"])
                _ = try await nodes.cordon(node, false)
                return .blocked(pod: pod.key)
            } catch let error as KubeError where error.reason == .notFound {
                continue  // gone already
            } catch {
                logger.warning("eviction failed", metadata: ["pod": "\(pod.key)", "error": "\(error)"])
                failed += 1
            }
        }
        return .drained(evicted: evicted, failed: failed)
    }

    /// Deletes the drained Node (no error when it is gone already).
    func deleteNode(_ node: String) async throws {
        try await client.resources(Node.self).deleteIfPresent(node)
    }

    /// Removes the warm taint from a claimed EVM's Node so pods can land (its agent would too, a long poll later).
    /// A Node that is gone, or changes five times in a row, is left to the agent.
    func removeWarmTaint(_ node: String) async throws {
        let nodes = client.resources(Node.self)
        for _ in 0..<5 {
            guard var value = try await nodes.getIfPresent(node) else { return }
            guard value.spec.taints.contains(where: { $0.key == Profile.warmTaintKey }) else { return }
            value.spec.taints.removeAll { $0.key == Profile.warmTaintKey }
            do {
                _ = try await nodes.update(value)
                return
            } catch let error as KubeError where error.reason == .conflict {
                continue
            }
        }
    }
}
