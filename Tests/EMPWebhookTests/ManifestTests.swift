import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing
import Yams

/// deploy/webhook/ as an operator applies it, with kubectl (validated against KubeSim, since kubectl's client-side
/// dry run also needs a server).
@Suite struct ManifestTests {
    static let deploy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/webhook")
        .standardized.path

    @Test func kubectlAppliesTheWebhookManifests() async throws {
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        let dir = try TemporaryDirectory()
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let output = try await ChildProcess.output(
            "/usr/bin/env", ["kubectl", "--kubeconfig", dir.file("kubeconfig"), "apply", "-f", Self.deploy])
        for created in [
            "namespace/emp-system", "serviceaccount/emp-webhook", "role.rbac.authorization.k8s.io/emp-webhook-profile",
            "deployment.apps/emp-webhook", "poddisruptionbudget.policy/emp-webhook", "service/emp-webhook",
            "configmap/emp-profile-cm", "mutatingwebhookconfiguration.admissionregistration.k8s.io/emp-webhook",
        ] {
            #expect(output.contains("\(created) created"), "kubectl said: \(output)")
        }

        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        let configuration = try await client.resources(MutatingWebhookConfiguration.self).get("emp-webhook")
        let webhook = try #require(configuration.object["webhooks"]?.arrayValue?.first)
        #expect(webhook["failurePolicy"] == .string("Ignore"))
        #expect(webhook["timeoutSeconds"] == .int(5))
        #expect(webhook["sideEffects"] == .string("None"))
        #expect(webhook["reinvocationPolicy"] == .string("IfNeeded"))
        let excluded = webhook.value(atPath: "namespaceSelector")?["matchExpressions"]?.arrayValue?.first?["values"]
        #expect(excluded == .array([.string("kube-system"), .string("emp-system")]))
        let deployment = try await client.resources(Deployment.self, namespace: "emp-system").get("emp-webhook")
        #expect(deployment.spec.replicas == 2)
        let profile = try await client.resources(ConfigMap.self, namespace: "default").get("emp-profile-cm")
        #expect(profile.data["namespaces"]?.contains("my-application") == true)
    }

    /// The cert-manager variant (its CRDs are not in KubeSim): well-formed, and the injector points at the Certificate.
    @Test func certManagerVariantNamesItsCertificate() throws {
        let text = try String(contentsOfFile: "\(Self.deploy)/cert-manager/certificate.yaml", encoding: .utf8)
        let documents = try Yams.load_all(yaml: text).compactMap { $0 as? [String: Any] }
        let certificate = try #require(documents.first { ($0["metadata"] as? [String: Any])?["name"] as? String == "emp-webhook" })
        #expect(certificate["kind"] as? String == "Certificate")
        let spec = try #require(certificate["spec"] as? [String: Any])
        #expect(spec["secretName"] as? String == "emp-webhook-tls")
        #expect((spec["dnsNames"] as? [String])?.contains("emp-webhook.emp-system.svc") == true)
        let webhook = try #require(
            try Yams.load(yaml: String(contentsOfFile: "\(Self.deploy)/cert-manager/mutatingwebhookconfiguration.yaml", encoding: .utf8))
                as? [String: Any])
        let annotations = (webhook["metadata"] as? [String: Any])?["annotations"] as? [String: String]
        #expect(annotations?["cert-manager.io/inject-ca-from"] == "emp-system/emp-webhook")
    }
}
