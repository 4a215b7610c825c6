import ArgumentParser
import EMPWebhook
import Foundation
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
        guard maxBodyBytes >= 4096 else { throw ValidationError("--max-body-bytes must be at least 4096") }
        do {
            let (host, port) = try WebhookServer.parseListen(listen)
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            try await WebhookServer.serve(
                configuration: WebhookServer.Configuration(
                    host: host, port: port, certificatePath: cert, keyPath: key, maxBodyBytes: maxBodyBytes),
                kubeconfig: kubeconfig, registry: registry, logger: Logger(label: "emp-webhook"),
                onServerRunning: { port in
                    // One unbuffered line on stdout: scripts and tests wait for it.
                    FileHandle.standardOutput.write(Data("emp-webhook listening on https://\(host):\(port)\n".utf8))
                })
        } catch let error as WebhookError {
            throw ValidationError(error.description)
        }
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
