import EMPCertificates
import EMPModel
import EMPTesting
import EMPWebhook
import Foundation
import Hummingbird
import Kube
import KubeSim
import Logging
import Testing

/// A running webhook (HTTPS, its own certificates, the profile informer) in front of KubeSim.
struct RunningWebhook {
    let sim: KubeSim
    let client: KubeClient
    let state: ProfileState
    let port: Int
    let dir: TemporaryDirectory
    let task: ServingTask

    static func start(profile namespaces: String?) async throws -> RunningWebhook {
        let sim = try KubeSim()
        try await sim.start()
        let client = try KubeClient(config: sim.kubeConfig())
        if let namespaces { try await setProfile(client, ["namespaces": namespaces]) }
        let dir = try TemporaryDirectory()
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.path, extraNames: ["127.0.0.1"])
        let state = ProfileState()
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let logger = Logger(label: "test.webhook")
        let app = try WebhookServer.build(
            configuration: .init(
                host: "127.0.0.1", port: 0, certificatePath: dir.file("tls.crt"), keyPath: dir.file("tls.key"),
                reloadInterval: .milliseconds(100)),
            state: state, services: [ProfileWatcher(client: client, state: state, logger: logger)], logger: logger,
            onServerRunning: { signal.yield($0) })
        let task = ServingTask(app)
        var port = 0
        for await bound in ready {
            port = bound
            break
        }
        return RunningWebhook(sim: sim, client: client, state: state, port: port, dir: dir, task: task)
    }

    static func setProfile(_ client: KubeClient, _ data: [String: String]) async throws {
        let maps = client.resources(ConfigMap.self, namespace: "default")
        var map = try await maps.getIfPresent("emp-profile-cm") ?? ConfigMap(name: "emp-profile-cm", namespace: "default")
        map.data = data
        if map.metadata.resourceVersion == nil { _ = try await maps.create(map) } else { _ = try await maps.update(map) }
    }

    /// Registers the webhook the way deploy/webhook does (Ignore, 5 s, namespaceSelector), by URL.
    func register() async throws {
        let ca = try String(contentsOfFile: dir.file("ca.crt"), encoding: .utf8)
        let webhook: JSONObject = [
            "name": .string("emp-webhook.emp.pf9.io"), "failurePolicy": .string("Ignore"), "timeoutSeconds": .int(5),
            "clientConfig": .object([
                "url": .string("https://127.0.0.1:\(port)/mutate"), "caBundle": .string(Data(ca.utf8).base64EncodedString()),
            ]),
            "rules": .array([
                .object([
                    "operations": .array([.string("CREATE")]), "apiGroups": .array([.string("")]), "apiVersions": .array([.string("v1")]),
                    "resources": .array([.string("pods")]),
                ])
            ]),
            "namespaceSelector": .object([
                "matchExpressions": .array([
                    .object([
                        "key": .string("kubernetes.io/metadata.name"), "operator": .string("NotIn"),
                        "values": .array([.string("kube-system"), .string("emp-system")]),
                    ])
                ])
            ]),
            "sideEffects": .string("None"), "admissionReviewVersions": .array([.string("v1")]), "reinvocationPolicy": .string("IfNeeded"),
        ]
        var configuration = MutatingWebhookConfiguration(name: "emp-webhook")
        configuration.webhooks = [MutatingWebhookConfiguration.Webhook(object: webhook)]
        _ = try await client.resources(MutatingWebhookConfiguration.self).create(configuration)
    }

    func stop() async {
        await task.stop()
        try? await client.shutdown()
        await sim.stop()
    }
}

@Suite struct WebhookClusterTests {
    func node(_ name: String, evm: Bool) -> Node {
        var node = Node(name: name)
        if evm {
            node.metadata.labels = [Profile.ownedLabel: Profile.ownedValue, Profile.poolLabel: "demo"]
            node.spec.taints = [Taint(key: Profile.taintKey, value: Profile.taintValue, effect: Profile.taintEffect)]
        }
        node.status.allocatable = ["cpu": "4", "memory": "16Gi", "pods": "110"]
        return node
    }

    func isMutated(_ pod: Pod) -> Bool {
        pod.spec.nodeSelector[Profile.ownedLabel] == Profile.ownedValue && pod.spec.tolerations.contains { $0.key == Profile.taintKey }
    }

    /// Creates a bare pod in `namespace` and returns it as admitted.
    func admit(_ client: KubeClient, _ namespace: String) async throws -> Pod {
        var pod = Pod(name: "probe-\(UUID().uuidString.prefix(8).lowercased())", namespace: namespace)
        pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "64Mi"])]
        return try await client.resources(Pod.self, namespace: namespace).create(pod)
    }

    @Test func seedDeploymentLandsOnEVMsAndProfileChangesApplyWithinTwoSeconds() async throws {
        let webhook = try await RunningWebhook.start(profile: #"["emp-test"]"#)
        defer { Task { await webhook.stop() } }
        let client = webhook.client
        for (name, evm) in [("evm-1", true), ("worker-1", false)] {
            _ = try await client.resources(Node.self).create(node(name, evm: evm))
            try webhook.sim.setNodeReady(name)
        }
        _ = try await client.resources(Namespace.self).create(Namespace(name: "emp-test"))
        try await webhook.register()
        #expect(try await eventually { webhook.state.isReady && webhook.state.profile.namespaces == ["emp-test"] })

        // The seed's Deployment without toleration or nodeSelector.
        var deployment = Deployment(name: "emp-test-deployment", namespace: "emp-test")
        deployment.spec.replicas = 3
        deployment.spec.selector = LabelSelector(matchLabels: ["app": "emp-test-deployment"])
        deployment.spec.template.metadata.labels = ["app": "emp-test-deployment"]
        deployment.spec.template.spec.containers = [Container(name: "no-op", image: "alpine", requests: ["memory": "3Gi"])]
        _ = try await client.resources(Deployment.self, namespace: "emp-test").create(deployment)
        let pods = client.resources(Pod.self, namespace: "emp-test")
        #expect(
            try await eventually(timeout: .seconds(20)) {
                let items = try await pods.list().items
                return items.count == 3 && items.allSatisfy { $0.spec.nodeName == "evm-1" && $0.status.phase == "Running" }
            })
        #expect(try await pods.list().items.allSatisfy(isMutated))

        // Opt emp-test out: new pods stop being mutated within 2 s.
        try await RunningWebhook.setProfile(client, ["namespaces": "- default\n"])
        #expect(try await eventually(timeout: .seconds(2)) { !isMutated(try await admit(client, "emp-test")) })
        #expect(isMutated(try await admit(client, "default")))

        // A malformed profile keeps the last good one and says which key, on the ConfigMap.
        try await RunningWebhook.setProfile(client, ["namespaces": "[default"])
        let events = client.resources(CoreEvent.self, namespace: "default")
        #expect(
            try await eventually {
                try await events.list().items.contains {
                    $0.reason == "InvalidProfile" && $0.involvedObject.name == "emp-profile-cm"
                        && $0.message?.contains("\"namespaces\"") == true
                }
            })
        #expect(webhook.state.problem?.key == "namespaces")
        #expect(isMutated(try await admit(client, "default")))

        // Deleting the ConfigMap opts every namespace out.
        try await client.resources(ConfigMap.self, namespace: "default").delete("emp-profile-cm")
        #expect(try await eventually { webhook.state.profile.namespaces.isEmpty })
        #expect(!isMutated(try await admit(client, "default")))
    }
}
