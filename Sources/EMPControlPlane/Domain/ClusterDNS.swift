import EMPModel
import Kube
import Logging

/// The cluster DNS address an EVM's kubelet gives its pods: without it every pod on an EVM gets `MissingClusterDNS`
/// and cannot resolve Services. When a pool's kubelet join names none, the control plane fills in the
/// `kube-system/kube-dns` Service's clusterIP (the name kubeadm, EKS and most distributions give CoreDNS), as kubeadm
/// does for its own nodes.
enum ClusterDNS {
    static let namespace = "kube-system"
    static let service = "kube-dns"

    /// `join` with `clusterDNS` filled in from the cluster when it has none; unchanged when it has one, when the
    /// Service cannot be read or is headless (the reason is returned for the pool's event).
    static func defaulted(_ join: KubeletJoin?, kube: KubeClient?, logger: Logger) async -> (KubeletJoin?, note: String?) {
        guard var join, join.clusterDNS == nil, let kube else { return (join, nil) }
        do {
            let found = try await kube.resources(CoreService.self, namespace: namespace).get(service)
            guard let address = found.spec.clusterIP, address != "None", !address.isEmpty else {
                return (join, "clusterDNS not set: Service \(namespace)/\(service) has no clusterIP")
            }
            join.clusterDNS = [address]
            return (join, "clusterDNS \(address) from Service \(namespace)/\(service)")
        } catch {
            logger.warning("could not read the cluster DNS Service", metadata: ["error": "\(error)"])
            return (join, "clusterDNS not set: Service \(namespace)/\(service) could not be read (\(error)); set kubelet.clusterDNS")
        }
    }
}
