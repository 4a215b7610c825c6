import ArgumentParser
import Dispatch
import Foundation
import KubeSim

/// `empctl sim`: runs KubeSim standalone so kubectl, the agent and the webhook can be tried without a cluster.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Run KubeSim, a Kubernetes API double on loopback, and write a kubeconfig for it.")

    @Option(name: .long, help: "Where to write the kubeconfig (mode 0600).")
    var kubeconfig: String

    @Option(name: .long, help: "Port to listen on (default: a free port).")
    var port: Int = 0

    @Option(
        name: .long,
        help:
            "Seconds after which a new Node without a Ready condition is marked Ready (default: never; a kubelet or a status patch does it)."
    )
    var nodeReadyAfter: Double?

    @Option(name: .long, help: "Authenticate the written kubeconfig with a client certificate (cert) or a bearer token (token).")
    var auth: AuthKind = .cert

    enum AuthKind: String, ExpressibleByArgument {
        case cert, token
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port) is not a TCP port") }
        if let nodeReadyAfter, nodeReadyAfter < 0 { throw ValidationError("--node-ready-after must not be negative") }
    }

    func run() async throws {
        var options = KubeSim.Options()
        options.port = port
        options.nodeReadyAfter = nodeReadyAfter.map { .milliseconds(Int64($0 * 1000)) }
        let sim = try KubeSim(options: options)
        do {
            try await sim.start()
        } catch {
            throw ValidationError("cannot start KubeSim on port \(port): \(error)")
        }
        try sim.writeKubeconfig(
            to: kubeconfig,
            auth: auth == .token ? .token(sim.adminToken) : .clientCertificate(user: "kubesim-admin", groups: ["system:masters"]))
        FileHandle.standardOutput.write(Data("KubeSim listening on \(sim.url); kubeconfig written to \(kubeconfig)\n".utf8))
        await Self.waitForSignal()
        await sim.stop()
    }

    /// Returns on SIGINT or SIGTERM.
    static func waitForSignal() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            var sources: [any DispatchSourceSignal] = []
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { if once.set() { continuation.resume() } }
                source.resume()
                sources.append(source)
            }
            KeepAlive.sources = sources
        }
    }
}

/// Keeps the signal sources alive for the life of the process.
enum KeepAlive {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
}

/// A flag that can be set once, from any thread.
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false

    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
