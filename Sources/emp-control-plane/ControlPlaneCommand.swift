import ArgumentParser
import EMPControlPlane
import Foundation
import Logging
import Metrics
import Prometheus

/// `emp-control-plane`: tracks the pool's hosts and EVMs and serves the API that `empctl` and agents use.
@main
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-control-plane",
        abstract: "Run the EMP control plane (HTTP API, store, host health).",
        subcommands: [StoreCommand.self]
    )

    @Option(
        name: .long,
        help: "YAML configuration file (control-plane/config.example.yaml); the environment (EMP_CONTROL_PLANE_*) and flags override it.")
    var config: String?

    @Option(name: .long, help: "Directory holding the SQLite database and generated operator token (default /var/lib/emp).")
    var dataDir: String?

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free one; default 127.0.0.1:7443).")
    var listen: String?

    @Option(name: .long, help: "Operator bearer token (repeatable). Default: generated once into the data dir.")
    var token: [String] = []

    @Option(name: .long, help: "PEM certificate chain for HTTPS (with --tls-key).")
    var tlsCert: String?

    @Option(name: .long, help: "PEM private key for HTTPS (with --tls-cert).")
    var tlsKey: String?

    @Option(name: .long, help: "kubeconfig of the cluster the pools serve; turns the autoscaler on.")
    var kubeconfig: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var flags = ControlPlaneFlags()
        flags.config = config
        flags.dataDir = dataDir
        flags.listen = listen
        flags.tokens = token
        flags.tlsCertificate = tlsCert
        flags.tlsKey = tlsKey
        flags.kubeconfig = kubeconfig
        let configuration: ControlPlaneConfiguration
        do {
            configuration = try ControlPlaneConfiguration.resolve(flags: flags)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        guard let level = Logger.Level(rawValue: logLevel) else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "emp-control-plane")

        let host = configuration.host
        let scheme = configuration.tlsCertificatePath == nil ? "http" : "https"
        let built = try ControlPlane.build(
            configuration: configuration,
            logger: logger,
            registry: registry,
            onServerRunning: { port in
                // One machine-readable line on stdout: scripts and the demo wait for it.
                emit("emp-control-plane listening on \(scheme)://\(host):\(port)")
            }
        )
        if built.tokenGenerated {
            emit("Generated operator token (shown once; also in \(configuration.dataDirectory)/operator-token): \(built.operatorToken)")
        }
        try await built.runService(logger: logger)
    }
}

/// Writes a line to stdout unbuffered, so a parent process sees it at once.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
