public import EMPModel
import Foundation
public import Kube
public import Logging

/// Keeps one Kubernetes Node per EVM of this host: created, tainted and labelled before the EVM's domain is
/// defined (so no pod can land on it untainted when its kubelet joins), and deleted once the EVM and its domain
/// are gone. Every pass compares the cluster with the desired set, so a crash at any point converges.
public struct NodeRegistrar: Sendable {
    public let nodes: Kube.Resources<Node>
    public let hostID: String
    let logger: Logger

    public init(client: KubeClient, hostID: String, logger: Logger) {
        self.nodes = client.resources(Node.self)
        self.hostID = hostID
        self.logger = logger
    }

    /// The Node `evm` pre-registers as.
    public static func node(for evm: EVM, hostID: String) -> Node {
        var node = Node(name: evm.nodeName)
        node.metadata.labels = labels(for: evm, hostID: hostID)
        node.spec.taints = evm.warm != nil ? [taint, warmTaint] : [taint]
        // The EVM's size, so the autoscaler sees its room before the kubelet reports (the kubelet overwrites it).
        node.status.capacity = [
            "cpu": "\(evm.shape.vcpus)", "memory": "\(evm.shape.memoryBytes / 1024)Ki", "pods": "110",
        ]
        return node
    }

    static let taint = Taint(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)
    /// Held back from pods while the EVM is warm capacity; removed when it is claimed.
    static let warmTaint = Taint(key: Profile.warmTaintKey, value: Profile.taintValue, effect: Profile.taintEffect)

    /// True when `node`'s taints say what `evm` is: the EMP taint always, the warm taint exactly while warm.
    static func taintsMatch(_ node: Node, _ evm: EVM) -> Bool {
        node.spec.taints.contains { $0.key == Profile.taintKey && $0.effect == Profile.taintEffect }
            && node.spec.taints.contains { $0.key == Profile.warmTaintKey } == (evm.warm != nil)
    }

    static func labels(for evm: EVM, hostID: String) -> [String: String] {
        [Profile.ownedLabel: Profile.ownedValue, Profile.poolLabel: evm.poolID, Profile.hostLabel: hostID, Profile.evmLabel: evm.id]
    }

    /// Creates the Node, or repairs an existing one's labels and taints (keeping everything else it has): a warm
    /// EVM's Node is created with the warm taint too, so no pod lands on it before its kubelet joins; a claimed
    /// one loses it.
    public func ensure(_ evm: EVM) async throws {
        do {
            _ = try await nodes.create(Self.node(for: evm, hostID: hostID))
            logger.info("node registered", metadata: ["node": "\(evm.nodeName)"])
            return
        } catch let error as KubeError where error.reason == .alreadyExists {}
        for _ in 0..<5 {
            var node = try await nodes.get(evm.nodeName)
            let labels = node.metadata.labels.merging(Self.labels(for: evm, hostID: hostID)) { _, wanted in wanted }
            let tainted = node.spec.taints.contains { $0.key == Profile.taintKey && $0.effect == Profile.taintEffect }
            if labels == node.metadata.labels, Self.taintsMatch(node, evm) { return }
            node.metadata.labels = labels
            if !tainted { node.spec.taints += [Self.taint] }
            node.spec.taints.removeAll { $0.key == Profile.warmTaintKey }
            if evm.warm != nil { node.spec.taints.append(Self.warmTaint) }
            do {
                _ = try await nodes.update(node)
                return
            } catch let error as KubeError where error.reason == .conflict {
                continue
            }
        }
        throw KubeError(reason: .conflict, code: 409, message: "node \(evm.nodeName) kept changing while it was being labelled")
    }

    /// One pass: registers wanted EVMs that have no Node, sets the warm taint right, and deletes this host's EMP Nodes whose EVM is no longer
    /// wanted and whose domain is gone. Nodes of other hosts, and Nodes EMP does not own, are never touched.
    /// Returns the names deleted.
    /// `departed` EVMs live-migrated to another host: their Nodes stay (the destination relabels them).
    @discardableResult
    public func sync(wanted: [EVM], domains: Set<String>, departed: Set<String> = []) async throws -> [String] {
        let selector = "\(Profile.ownedLabel)=\(Profile.ownedValue),\(Profile.hostLabel)=\(hostID)"
        let existing = try await nodes.listAll(ListOptions(labelSelector: selector)).items
        let present = Dictionary(existing.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for evm in wanted where present[evm.nodeName].map({ !Self.taintsMatch($0, evm) }) ?? true { try await ensure(evm) }
        let wantedNames = Set(wanted.map(\.nodeName))
        var deleted: [String] = []
        for node in existing where !wantedNames.contains(node.name) {
            if let evm = node.metadata.labels[Profile.evmLabel], domains.contains(evm) || departed.contains(evm) { continue }
            try await nodes.deleteIfPresent(node.name, options: DeleteOptions(preconditionUID: node.metadata.uid))
            logger.info("node deleted", metadata: ["node": "\(node.name)"])
            deleted.append(node.name)
        }
        return deleted
    }
}
