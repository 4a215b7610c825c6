import EMPCertificates
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTLS
import Kube
import KubeSim
import NIOCore
import NIOFoundationCompat
import NIOSSL
import Testing

/// KubeSim calls registered mutating webhooks the way kube-apiserver does.
@Suite struct WebhookCallTests {
    /// A webhook over HTTPS that adds label `mutated=yes`, or denies pods labelled `deny`.
    func startWebhook(_ authority: CertificateAuthority) async throws -> (port: Int, task: ServingTask) {
        let router = Router()
        router.post("/mutate") { request, context -> Response in
            let review = try await request.decode(as: AdmissionReview.self, context: context)
            let admission = try #require(review.request)
            let labels = admission.objectValue?.value(atPath: "metadata.labels")?.objectValue ?? [:]
            let response: AdmissionReview.Response
            if labels["deny"] != nil {
                response = .init(uid: admission.uid, allowed: false, message: "pods labelled deny are not welcome")
            } else {
                let add: [JSONPatchOperation] =
                    labels.isEmpty
                    ? [.add("/metadata/labels", .object(["mutated": .string("yes")]))] : [.add("/metadata/labels/mutated", .string("yes"))]
                response = .init(uid: admission.uid, patch: add)
            }
            let body = try KubeJSON.encode(AdmissionReview(response: response))
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(data: body)))
        }
        let serving = try authority.issueServer(commonName: "webhook", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(serving.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(serving.privateKeyPEM.utf8), format: .pem)))
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { signal.yield($0.localAddress?.port ?? 0) })
        let task = ServingTask(app)
        for await port in ready { return (port, task) }
        throw CancellationError()
    }

    func configuration(url: String, caBundle: String, failurePolicy: String, namespaceSelector: JSONValue? = nil)
        -> MutatingWebhookConfiguration
    {
        var webhook: JSONObject = [
            "name": .string("emp.pf9.io"), "failurePolicy": .string(failurePolicy), "timeoutSeconds": .int(2),
            "clientConfig": .object(["url": .string(url), "caBundle": .string(Data(caBundle.utf8).base64EncodedString())]),
            "rules": .array([
                .object([
                    "operations": .array([.string("CREATE")]), "apiGroups": .array([.string("")]), "apiVersions": .array([.string("v1")]),
                    "resources": .array([.string("pods")]),
                ])
            ]),
            "sideEffects": .string("None"), "admissionReviewVersions": .array([.string("v1")]),
        ]
        if let namespaceSelector { webhook["namespaceSelector"] = namespaceSelector }
        var configuration = MutatingWebhookConfiguration(name: "emp-webhook")
        configuration.webhooks = [MutatingWebhookConfiguration.Webhook(object: webhook)]
        return configuration
    }

    func pod(_ name: String, namespace: String = "default", labels: [String: String] = [:]) -> Pod {
        var pod = Pod(name: name, namespace: namespace)
        pod.metadata.labels = labels
        pod.spec.containers = [Container(name: "c", image: "alpine")]
        return pod
    }

    @Test func mutationsDenialsAndNamespaceSelectors() async throws {
        let sim = try KubeSim()
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        let authority = try CertificateAuthority(commonName: "webhook-ca")
        let webhook = try await startWebhook(authority)
        defer {
            Task {
                // KubeSim first: it calls the webhook; then the webhook, gracefully.
                try? await client.shutdown()
                await sim.stop()
                await webhook.task.stop()
            }
        }
        var other = Namespace(name: "opted-out")
        other.metadata.labels = ["emp": "off"]
        _ = try await client.resources(Namespace.self).create(other)
        _ = try await client.resources(MutatingWebhookConfiguration.self).create(
            configuration(
                url: "https://127.0.0.1:\(webhook.port)/mutate", caBundle: authority.certificatePEM, failurePolicy: "Fail",
                namespaceSelector: LabelSelector(object: [
                    "matchExpressions": .array([LabelSelectorRequirement(key: "emp", operator: "NotIn", values: ["off"]).json])
                ]).json))

        let mutated = try await client.resources(Pod.self).create(pod("a", labels: ["app": "x"]))
        #expect(mutated.metadata.labels == ["app": "x", "mutated": "yes"])
        let skipped = try await client.resources(Pod.self, namespace: "opted-out").create(pod("b", namespace: "opted-out"))
        #expect(skipped.metadata.labels["mutated"] == nil)
        await #expect { _ = try await client.resources(Pod.self).create(pod("c", labels: ["deny": "1"])) } throws: { error in
            guard let error = error as? KubeError else { return false }
            return error.reason == .forbidden
                && error.message.contains("admission webhook \"emp.pf9.io\" denied the request: pods labelled deny")
        }
        #expect(try await client.resources(Pod.self, namespace: "default").getIfPresent("c") == nil)

        // Pods a Deployment creates go through the webhook too.
        var deployment = Deployment(name: "web", namespace: "default")
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "web"])
        deployment.spec.template.metadata.labels = ["app": "web"]
        deployment.spec.template.spec.containers = [Container(name: "c", image: "nginx")]
        _ = try await client.resources(Deployment.self).create(deployment)
        #expect(
            try await eventually(timeout: .seconds(20)) {
                try await client.resources(Pod.self, namespace: "default").list(ListOptions(labelSelector: "app=web,mutated=yes")).items
                    .count
                    == 1
            })
    }

    @Test func failurePolicyDecidesWhenTheWebhookIsDown() async throws {
        let sim = try KubeSim()
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        defer {
            Task {
                try? await client.shutdown()
                await sim.stop()
            }
        }
        let authority = try CertificateAuthority(commonName: "webhook-ca")
        let configs = client.resources(MutatingWebhookConfiguration.self)
        _ = try await configs.create(
            configuration(url: "https://127.0.0.1:1/mutate", caBundle: authority.certificatePEM, failurePolicy: "Fail"))
        await #expect { _ = try await client.resources(Pod.self).create(pod("blocked")) } throws: { error in
            guard let error = error as? KubeError else { return false }
            return error.code == 500 && error.message.contains("failed calling webhook \"emp.pf9.io\"")
        }
        try await configs.delete("emp-webhook")
        _ = try await configs.create(
            configuration(url: "https://127.0.0.1:1/mutate", caBundle: authority.certificatePEM, failurePolicy: "Ignore"))
        let created = try await client.resources(Pod.self).create(pod("allowed"))
        #expect(created.metadata.labels["mutated"] == nil)
    }
}
