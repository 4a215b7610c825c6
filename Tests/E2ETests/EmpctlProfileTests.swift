import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

/// `empctl profile` against a cluster: what the profile opts in, what would move, and the restart.
@Suite struct EmpctlProfileTests {
    /// empctl talks to the KubeSim in this process: wait for it without blocking a thread.
    func empctl(_ arguments: [String]) async throws -> (status: Int32, output: [String], errors: String) {
        let (status, output, errors) = try await ChildProcess.run(try BuiltProducts.executable("empctl"), ["profile"] + arguments)
        return (status, output, errors.joined(separator: "\n"))
    }

    @Test func showPreviewAndRestart() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        let kubeconfig = dir.file("kubeconfig")
        try sim.writeKubeconfig(to: kubeconfig)
        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        let k = ["--kubeconfig", kubeconfig]

        #expect(try await empctl(["show"] + k).output == ["no ConfigMap default/emp-profile-cm: no namespace is opted in"])
        var map = ConfigMap(name: "emp-profile-cm", namespace: "default")
        map.data = ["namespaces": "- shop\n- default\n", "labels": #"{"tier":"web"}"#]
        _ = try await client.resources(ConfigMap.self, namespace: "default").create(map)
        #expect(try await empctl(["show"] + k).output == ["namespaces: default, shop", "labels:     tier=web"])

        // A Deployment (pods via a ReplicaSet, as a real cluster has them), a bare pod, one pod already on EVMs,
        // and one the labels do not select.
        _ = try await client.resources(Namespace.self).create(Namespace(name: "shop"))
        var deployment = Deployment(name: "web", namespace: "shop")
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        deployment.spec.replicas = 0
        deployment.spec.template.metadata.labels = ["app": "web"]
        deployment.spec.template.spec.containers = [Container(name: "c", image: "nginx")]
        let web = try await client.resources(Deployment.self, namespace: "shop").create(deployment)
        var replicaSet = ReplicaSet(name: "web-5d8f", namespace: "shop")
        replicaSet.metadata.ownerReferences = [
            OwnerReference(apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: web.metadata.uid ?? "")
        ]
        let set = try await client.resources(ReplicaSet.self, namespace: "shop").create(replicaSet)
        func pod(_ name: String, labels: [String: String], owner: OwnerReference?, onEVM: Bool = false) -> Pod {
            var pod = Pod(name: name, namespace: "shop")
            pod.metadata.labels = labels
            if let owner { pod.metadata.ownerReferences = [owner] }
            pod.spec.containers = [Container(name: "c", image: "nginx")]
            if onEVM {
                pod.spec.tolerations = [Toleration(key: "emp.pf9.io/EMPSchedulable", value: "true", effect: "NoSchedule")]
                pod.spec.nodeSelector = ["emp.pf9.io/owned": "true"]
            }
            return pod
        }
        let rsOwner = OwnerReference(apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f", uid: set.metadata.uid ?? "")
        for item in [
            pod("web-5d8f-a", labels: ["tier": "web"], owner: rsOwner), pod("web-5d8f-b", labels: ["tier": "web"], owner: rsOwner),
            pod("debug", labels: ["tier": "web"], owner: nil), pod("moved", labels: ["tier": "web"], owner: rsOwner, onEVM: true),
            pod("db-0", labels: ["tier": "db"], owner: nil),
        ] {
            _ = try await client.resources(Pod.self, namespace: "shop").create(item)
        }

        let preview = try await empctl(["preview", "shop"] + k)
        #expect(preview.status == 0, "\(preview.errors)")
        let rows = preview.output.dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true).first.map(String.init) ?? "" }
        #expect(rows.prefix(3) == ["debug", "web-5d8f-a", "web-5d8f-b"])
        #expect(preview.output.contains { $0.hasPrefix("debug") && $0.contains("recreate by hand (bare pod)") })
        #expect(
            preview.output.contains {
                $0.hasPrefix("web-5d8f-a") && $0.contains("toleration, nodeSelector") && $0.hasSuffix("deployment/web")
            })
        #expect(preview.output.last == "workloads to restart: deployment/web")

        let refused = try await empctl(["preview", "kube-system"] + k)
        #expect(refused.status != 0 && refused.errors.contains("not opted in"))
        #expect(try await empctl(["apply", "shop"] + k).errors.contains("--restart"))

        let applied = try await empctl(["apply", "--restart", "--yes", "shop"] + k)
        #expect(applied.output.last == "deployment/web restarted", "\(applied.errors)")
        let restarted = try await client.resources(Deployment.self, namespace: "shop").get("web")
        #expect(restarted.templateAnnotations["kubectl.kubernetes.io/restartedAt"] != nil)
    }
}
