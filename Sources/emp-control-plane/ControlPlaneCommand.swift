import ArgumentParser
import EMPControlPlane
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus

/// `emp-control-plane`: tracks the pool's hosts and EVMs and serves the API that `empctl` and agents use.
@main
struct ControlPlaneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emp-control-plane",
        abstract: "Run the EMP control plane (HTTP API + store)."
    )

    @Option(name: .long, help: "Directory holding the SQLite database and generated operator token.")
    var dataDir: String = ControlPlaneConfiguration().dataDirectory

    @Option(name: .long, help: "Address to listen on, HOST:PORT (port 0 picks a free one).")
    var listen: String = "127.0.0.1:7443"

    @Option(name: .long, help: "Operator bearer token (repeatable). Default: generated once into the data dir.")
    var token: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func run() async throws {
        var configuration = ControlPlaneConfiguration(dataDirectory: dataDir, operatorTokens: token)
        (configuration.host, configuration.port) = try Self.parseListen(listen)

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
        let built = try ControlPlane.build(
            configuration: configuration, logger: logger, registry: registry,
            onServerRunning: { port in
                // One machine-readable line on stdout: scripts and the demo wait for it.
                emit("emp-control-plane listening on http://\(host):\(port)")
            })
        if built.tokenGenerated {
            emit("Generated operator token (shown once; also in \(dataDir)/operator-token): \(built.operatorToken)")
        }
        try await built.application.runService()
    }

    static func parseListen(_ value: String) throws -> (String, Int) {
        guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ValidationError("--listen must be HOST:PORT with a port in 0...65535 (got \"\(value)\")")
        }
        return (String(value[..<colon]), port)
    }
}

/// Writes a line to stdout unbuffered, so a parent process sees it at once.
func emit(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
