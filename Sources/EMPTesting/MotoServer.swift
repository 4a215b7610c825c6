public import Foundation

/// moto's EC2 server on loopback (scripts/moto-server.py), for the host provider's tests and the demo: a real HTTP
/// server speaking EC2's Query API, started per test and stopped with it.
public final class MotoServer: Sendable {
    public let process: ChildProcess
    public let port: Int

    /// Starts the server; throws when python3 or moto is missing (`make test` installs it: scripts/ensure-python.sh).
    public init() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../scripts/moto-server.py")
            .standardizedFileURL.path
        let python = ProcessInfo.processInfo.environment["PYTHON"] ?? "/usr/bin/env"
        let arguments = python == "/usr/bin/env" ? ["python3", script] : [script]
        process = try ChildProcess(python, arguments)
        try await process.waitFor(timeout: .seconds(60)) { $0.contains { $0.hasPrefix("listening ") } }
        let line = process.output.first { $0.hasPrefix("listening ") } ?? ""
        guard let port = Int(line.dropFirst("listening ".count)) else { throw TestSupportError("moto-server printed \(line)") }
        self.port = port
    }

    /// `http://127.0.0.1:PORT/`.
    public var endpoint: URL { URL(string: "http://127.0.0.1:\(port)/")! }

    /// Kills the server (it keeps nothing worth a graceful stop).
    public func stop() { process.kill(SIGKILL) }
}
