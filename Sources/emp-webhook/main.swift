import ArgumentParser
import EMPWebhook
import Foundation
import Hummingbird
import Kube
import Logging
import Metrics
import Prometheus

/// `emp-webhook`: the mutating admission webhook that opts namespaces in to EVMs through `emp-profile-cm`.
@main
struct WebhookCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-webhook",
        abstract: "EMP's mutating admission webhook.",
        subcommands: [Serve.self, Certs.self]
    )
}

/// `emp-webhook serve`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Answer AdmissionReview v1 at /mutate over HTTPS (plus /healthz, /readyz, /metrics).")

    @Option(help: "Serving certificate (PEM); reloaded when it changes on disk.") var cert: String
    @Option(help: "Serving private key (PEM); reloaded with the certificate.") var key: String
    @Option(help: "HOST:PORT to listen on (port 0 picks a free one).") var listen: String = "0.0.0.0:8443"
    @Option(help: "kubeconfig of the cluster (default: the pod's service account, or $KUBECONFIG).") var kubeconfig: String?
    @Option(help: "Largest AdmissionReview body accepted, in bytes.") var maxBodyBytes: Int = 8 << 20
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw ValidationError("--listen must be HOST:PORT (got \"\(listen)\")")
        }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard maxBodyBytes >= 4096 else { throw ValidationError("--max-body-bytes must be at least 4096") }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "emp-webhook")

        let kube: KubeClient
        do {
            let config = try kubeconfig.map { try KubeConfig.load(paths: [$0]) } ?? KubeConfig.load()
            kube = try KubeClient(config: config, logger: Logger(label: "emp-webhook.kube"))
        } catch {
            throw ValidationError("no cluster to read emp-profile-cm from (--kubeconfig, $KUBECONFIG or a pod's service account): \(error)")
        }
        let state = ProfileState()
        let application: any ApplicationProtocol
        do {
            application = try WebhookServer.build(
                configuration: WebhookServer.Configuration(
                    host: host, port: port, certificatePath: cert, keyPath: key, maxBodyBytes: maxBodyBytes),
                state: state,
                registry: registry,
                services: [ProfileWatcher(client: kube, state: state, logger: logger)],
                logger: logger,
                onServerRunning: { port in
                    // One unbuffered line on stdout: scripts and tests wait for it.
                    FileHandle.standardOutput.write(Data("emp-webhook listening on https://\(host):\(port)\n".utf8))
                }
            )
        } catch let error as WebhookError {
            throw ValidationError(error.description)
        }
        try await application.runService()
        try await kube.shutdown()
    }
}

/// `emp-webhook certs`.
struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a CA and a serving certificate for the webhook Service; print the caBundle.",
        discussion: "Reuses ca.crt/ca.key in --out when present, so re-running renews tls.crt without a new caBundle.")

    @Option(help: "Service name of the webhook.") var service: String = "emp-webhook"
    @Option(help: "Namespace of the Service.") var namespace: String = "emp-system"
    @Option(help: "Directory for ca.crt, ca.key, tls.crt, tls.key.") var out: String
    @Option(help: "Extra DNS name or IP address for the certificate (repeatable).") var name: [String] = []

    func run() throws {
        let written = try WebhookCertificates.write(service: service, namespace: namespace, to: out, extraNames: name)
        FileHandle.standardError.write(Data("wrote \(written.files.joined(separator: ", "))\n".utf8))
        print(written.caBundle)
    }
}
