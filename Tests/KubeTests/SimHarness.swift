import EMPTesting
import Foundation
import Kube
import KubeSim
import Logging

/// A started KubeSim and an admin client for it; `close()` stops both.
struct SimHarness {
    let sim: KubeSim
    let client: KubeClient

    static func start(
        _ configure: (inout KubeSim.Options) -> Void = { _ in }, clientOptions: KubeClient.Options = .init(),
        logger: Logger = Logger(label: "emp.kube")
    ) async throws -> SimHarness {
        var options = KubeSim.Options()
        configure(&options)
        let sim = try KubeSim(options: options)
        try await sim.start()
        return SimHarness(sim: sim, client: try KubeClient(config: try sim.kubeConfig(), options: clientOptions, logger: logger))
    }

    func close() async {
        try? await client.shutdown()
        await sim.stop()
    }
}

func pod(_ name: String, namespace: String = "default", labels: [String: String] = [:], cpu: String = "100m") -> Pod {
    var pod = Pod(name: name, namespace: namespace)
    pod.metadata.labels = labels
    pod.spec.containers = [Container(name: "main", image: "alpine", requests: ["cpu": cpu, "memory": "64Mi"])]
    return pod
}
