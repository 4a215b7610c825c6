import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing
import Yams

@testable import EMPControlPlane

/// deploy/control-plane/ and deploy/crds/ as an operator applies them (issue 20): kubectl against KubeSim, and the
/// ConfigMap's configuration read by the control plane's own parser.
@Suite struct ControlPlaneManifestTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy")
        .standardized.path

    @Test func kubectlAppliesTheControlPlaneManifests() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let output = try await ChildProcess.output(
            "/usr/bin/env",
            ["kubectl", "--kubeconfig", dir.file("kubeconfig"), "apply", "-f", "\(Self.deploy)/crds", "-f", "\(Self.deploy)/control-plane"])
        for created in [
            "customresourcedefinition.apiextensions.k8s.io/evmpools.emp.pf9.io",
            "customresourcedefinition.apiextensions.k8s.io/evms.emp.pf9.io",
            "namespace/emp-system", "serviceaccount/emp-control-plane", "clusterrole.rbac.authorization.k8s.io/emp-control-plane",
            "clusterrolebinding.rbac.authorization.k8s.io/emp-control-plane", "role.rbac.authorization.k8s.io/emp-control-plane-dns",
            "rolebinding.rbac.authorization.k8s.io/emp-control-plane-dns", "configmap/emp-control-plane",
            "statefulset.apps/emp-control-plane", "service/emp-control-plane",
        ] {
            #expect(output.contains("\(created) created"), "kubectl said: \(output)")
        }
        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        let set = try await client.resources(StatefulSet.self, namespace: "emp-system").get("emp-control-plane")
        let container = set.object["spec"]?["template"]?["spec"]?["containers"]?.arrayValue?.first
        #expect(container?["image"]?.stringValue == "localhost/emp/emp-control-plane:0.1.0", "the image make dist builds")
        #expect(set.object["spec"]?["template"]?["spec"]?["serviceAccountName"]?.stringValue == "emp-control-plane")

        // The configuration the pod mounts is one the control plane accepts: in-cluster credentials, the volume.
        let map = try await client.resources(ConfigMap.self, namespace: "emp-system").get("emp-control-plane")
        let file = dir.file("control-plane.yaml")
        try (map.data["control-plane.yaml"] ?? "").write(toFile: file, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationFile.load(file).apply(to: ControlPlaneConfiguration())
        #expect(configuration.kubeconfigPath == ControlPlaneConfiguration.inCluster)
        #expect(configuration.dataDirectory == "/var/lib/emp")
        #expect(configuration.port == 7443)
    }

    /// Every rule the projection and the clusterDNS default need is granted to the control plane's account.
    @Test func theClusterRoleGrantsWhatTheControlPlaneWrites() throws {
        let text = try String(contentsOfFile: "\(Self.deploy)/control-plane/10-rbac.yaml", encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        let role = try #require(documents.first { $0["kind"] as? String == "ClusterRole" })
        let rules = (role["rules"] as? [[String: Any]] ?? []).map { rule in
            (Set(rule["resources"] as? [String] ?? []), Set(rule["verbs"] as? [String] ?? []))
        }
        func granted(_ resource: String, _ verb: String) -> Bool { rules.contains { $0.0.contains(resource) && $0.1.contains(verb) } }
        for verb in ["get", "list", "create", "delete"] { #expect(granted("evmpools", verb) && granted("evms", verb)) }
        #expect(granted("evmpools/status", "update") && granted("evms/status", "update"))
        #expect(granted("pods/eviction", "create") && granted("nodes", "delete") && granted("leases", "update"))
    }
}
