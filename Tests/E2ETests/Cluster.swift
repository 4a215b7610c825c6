import AsyncHTTPClient
import EMPModel
import EMPTesting
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// A control plane and agents as separate processes on loopback, each agent on its own libvirt test-driver host.
final class Cluster: @unchecked Sendable {
    // @unchecked: mutated only by the test that owns it, from one task.
    let dir: TemporaryDirectory
    let token = "e2e-operator-token"
    private(set) var controlPlane: ChildProcess?
    private(set) var url = ""
    private(set) var agents: [String: ChildProcess] = [:]
    /// When set, agents pre-register Nodes through this kubeconfig.
    var kubeconfig: String?
    /// Added to the control plane's command line (a `--config` file, say).
    var controlPlaneArguments: [String] = []

    init() throws {
        dir = try TemporaryDirectory(prefix: "emp-e2e")
    }

    /// Starts (or restarts, on the same data directory) the control plane and waits until it listens.
    func startControlPlane() async throws {
        let process = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            ["--data-dir", dir.file("cp"), "--listen", "127.0.0.1:0", "--token", token, "--log-level", "warning"]
                + controlPlaneArguments
        )
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on") } }
        let line = process.output.first { $0.contains("listening on") } ?? ""
        url = String(line[line.range(of: "http://")!.lowerBound...])
        controlPlane = process
    }

    func killControlPlane() {
        controlPlane?.kill()
        controlPlane = nil
    }

    /// Starts the agent of host `name` (joining with `joinToken` on first start).
    func startAgent(_ name: String, joinToken: String?) throws {
        let hostFile = dir.file("\(name).xml")
        if !FileManager.default.fileExists(atPath: hostFile) {
            _ = try TestDriverHost.write(to: hostFile, cores: 64, memoryGiB: 256)
        }
        var arguments = [
            "--control-plane", url, "--host-id", name, "--libvirt-uri", "test://\(hostFile)", "--domain-type", "test",
            "--state-dir", dir.file("agent-\(name)"), "--report-interval", "0.2", "--poll-wait", "2", "--log-level", "warning",
        ]
        if let joinToken { arguments += ["--join-token", joinToken] }
        if let kubeconfig { arguments += ["--kubeconfig", kubeconfig] }
        agents[name] = try ChildProcess(try BuiltProducts.executable("emp-agent"), arguments)
    }

    /// The agent process of host `name`, while it runs.
    func agent(_ name: String) -> ChildProcess? { agents[name] }

    func killAgent(_ name: String) {
        agents[name]?.kill()
        agents[name] = nil
    }

    func stopAll() {
        for name in agents.keys { killAgent(name) }
        killControlPlane()
    }

    // MARK: API

    struct Failure: Error, CustomStringConvertible {
        let status: UInt
        let body: String
        var description: String { "HTTP \(status): \(body)" }
    }

    /// One API call; `timeout` bounds it (a call to a control plane that is down retries connecting until then).
    func call(_ method: HTTPMethod, _ path: String, _ json: String? = nil, timeout: Duration = .seconds(30)) async throws -> (
        status: UInt, body: Data
    ) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        if let json { request.body = .bytes(ByteBuffer(string: json)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .init(timeout))
        let body = try await response.body.collect(upTo: 64 << 20)
        return (response.status.code, Data(buffer: body))
    }

    func get<T: Decodable>(_ type: T.Type, _ path: String) async throws -> T {
        let (status, body) = try await call(.GET, path)
        guard status == 200 else { throw Failure(status: status, body: String(decoding: body, as: UTF8.self)) }
        return try WireJSON.decoder().decode(T.self, from: body)
    }

    func joinToken(pool: String) async throws -> String {
        struct Created: Decodable { let token: String }
        let (status, body) = try await call(.POST, "/v1/pools/\(pool)/tokens", "{}")
        guard status == 201 else { throw Failure(status: status, body: String(decoding: body, as: UTF8.self)) }
        return try WireJSON.decoder().decode(Created.self, from: body).token
    }

    /// ``EMPTesting/eventually(timeout:_:)`` that throws, naming `what`, when `condition` never holds.
    func eventually(_ what: String, timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws {
        guard try await EMPTesting.eventually(timeout: timeout, condition) else {
            throw TestSupportError("timed out waiting until \(what)")
        }
    }
}
