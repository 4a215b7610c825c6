import Foundation
import Hummingbird
import Kube
public import Logging
public import Prometheus
import ServiceLifecycle
import UnixSignals

extension WebhookServer {
    /// Reads `HOST:PORT` (`[::1]:8443`; port 0 picks a free one); the error names the flag.
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw WebhookError("--listen must be HOST:PORT (got \"\(text)\")")
        }
        return (String(text[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
    }

    /// All of `emp-webhook serve`: the cluster client, the profile watcher and the HTTPS application under one
    /// ServiceGroup that stops gracefully on SIGTERM and SIGINT; the client is shut down however the run ends.
    /// - Parameter kubeconfig: nil reads `$KUBECONFIG` or the pod's service account.
    public static func serve(
        configuration: Configuration, kubeconfig: String?, registry: PrometheusCollectorRegistry, logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) async throws {
        let kube: KubeClient
        do {
            let config = try kubeconfig.map { try KubeConfig.load(paths: [$0]) } ?? KubeConfig.load()
            kube = try KubeClient(config: config, logger: Logger(label: "emp-webhook.kube"))
        } catch {
            throw WebhookError("no cluster to read emp-profile-cm from (--kubeconfig, $KUBECONFIG or a pod's service account): \(error)")
        }
        let outcome: Result<Void, any Error>
        do {
            let state = ProfileState()
            let application = try build(
                configuration: configuration, state: state, registry: registry,
                services: [ProfileWatcher(client: kube, state: state, logger: logger)], logger: logger, onServerRunning: onServerRunning)
            let group = ServiceGroup(
                configuration: .init(services: [application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        try? await kube.shutdown()
        try outcome.get()
    }
}
