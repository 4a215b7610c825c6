import AsyncHTTPClient
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Logging
import NIOHTTP1
import ServerGuard
import ServiceLifecycle
import Testing

@testable import EMPControlPlane

/// The HTTP server's edges over a real socket: idle and slow clients, HTTP/1.0, CONNECT, shutdown with long polls
/// waiting, and a full disk (issue 14, findings 7, 8, 10 and 15).
@Suite struct ServerLimitsTests {
    /// A control plane listening on a free port, run by a ServiceGroup the test can shut down gracefully.
    struct Running {
        let port: Int
        let built: ControlPlane.Built
        let group: ServiceGroup
        let task: Task<Void, any Error>
    }

    func start(_ directory: String, idleTimeout: Duration = .seconds(30)) async throws -> Running {
        var configuration = ControlPlaneConfiguration(port: 0, dataDirectory: directory, operatorTokens: ["op"])
        configuration.limits.idleTimeout = idleTimeout
        configuration.rebalancer.enabled = false
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let built = try ControlPlane.build(
            configuration: configuration, logger: Logger(label: "test"), onServerRunning: { signal.yield($0) })
        let group = ServiceGroup(
            configuration: .init(services: [built.service], gracefulShutdownSignals: [], logger: Logger(label: "test")))
        let task = Task { try await group.run() }
        for await port in ready { return Running(port: port, built: built, group: group, task: task) }
        throw CancellationError()
    }

    func get(_ port: Int, _ path: String, timeout: Duration = .seconds(5)) async throws -> (status: UInt, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.headers.add(name: "Authorization", value: "Bearer op")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
        return (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    /// HTTP/1.0 without keep-alive is answered with `Connection: close` and closed; CONNECT gets a 405 with a body
    /// and its length, and the connection is closed.
    @Test func http10AndConnectAreClosed() async throws {
        let dir = try TemporaryDirectory()
        let running = try await start(dir.file("data"))
        defer { running.task.cancel() }
        let old = try RawSocket(port: running.port, readTimeout: .seconds(30))
        try old.send("GET /healthz HTTP/1.0\r\n\r\n")
        let answer = old.readAll()
        #expect(answer.closed)
        #expect(answer.text.hasPrefix("HTTP/1.0 200") || answer.text.hasPrefix("HTTP/1.1 200"))
        #expect(answer.text.lowercased().contains("connection: close"))

        let tunnel = try RawSocket(port: running.port, readTimeout: .seconds(30))
        try tunnel.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
        let refused = tunnel.readAll()
        #expect(refused.closed)
        #expect(refused.text.contains(" 405 "))
        #expect(refused.text.lowercased().contains("content-length:"), "\(refused.text)")
        #expect(refused.text.contains("method_not_allowed"))
    }

    /// On graceful shutdown a waiting long poll is answered at once with the current state, not after its wait.
    @Test func shutdownAnswersLongPolls() async throws {
        let dir = try TemporaryDirectory()
        let running = try await start(dir.file("data"))
        defer { running.task.cancel() }
        let credential = try await running.built.store.write { tx -> String in
            try tx.save(Pool(id: "pool-a", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)), createdAt: Date()))
            try tx.save(EMPModel.Host(id: "bm-1", poolID: "pool-a", capacity: Resources(cpuMillis: 8000, memoryBytes: .gibibytes(32))))
            try tx.save(AgentCredential(hostID: "bm-1", secretHash: Secrets.hash("emph_test"), issuedAt: Date()))
            return "emph_test"
        }
        let revision = try await running.built.store.read { try $0.revision(HostRevision.scope("bm-1")) }
        let poll = Task { () -> UInt in
            var request = HTTPClientRequest(
                url: "http://127.0.0.1:\(running.port)/v1/agent/hosts/bm-1/desired?revision=\(revision)&wait=60")
            request.headers.add(name: "Authorization", value: "Bearer \(credential)")
            // Far below the poll's 60 s: the answer must come from the shutdown, not the wait.
            return try await HTTPClient.shared.execute(request, timeout: .seconds(15)).status.code
        }
        // The poll is waiting once the server has it in hand (the notifier holds its waiter).
        #expect(try await eventually { running.built.store.waiterCount > 0 })
        await running.group.triggerGracefulShutdown()
        #expect(try await poll.value == 200)
        try await running.task.value
    }

    /// A full disk: writes answer 503 naming the cause, `/readyz` fails while they do, and both recover once space
    /// returns, without a restart. Needs a small tmpfs (root on Linux); skipped elsewhere with the reason.
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root")) func aFullDiskIsVisibleAndRecovers() async throws {
        let dir = try TemporaryDirectory()
        let mount = dir.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try await ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount])
        try #require(mounted.status == 0, "mount failed: \(mounted.errors)")
        do {
            try await fillAndRecover(mount)
        } catch {
            _ = try? await ChildProcess.run("/bin/umount", ["-l", mount])
            throw error
        }
        _ = try await ChildProcess.run("/bin/umount", ["-l", mount])
    }

    func fillAndRecover(_ mount: String) async throws {
        let running = try await start(mount + "/data")
        defer { running.task.cancel() }
        try await running.built.store.write { tx in
            try tx.save(Pool(id: "pool-a", shape: EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)), createdAt: Date()))
        }
        #expect(try await get(running.port, "/readyz").status == 200)
        // Fill the file system until a write fails with ENOSPC.
        let filler = mount + "/filler"
        _ = FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        let chunk = Data(count: 64 << 10)
        while (try? handle.write(contentsOf: chunk)) != nil {}
        try? handle.close()
        var answer: (status: UInt, body: String) = (0, "")
        for index in 0..<200 {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(running.port)/v1/pools/pool-a/tokens")
            request.method = .POST
            request.headers.add(name: "Authorization", value: "Bearer op")
            request.body = .bytes(ByteBuffer(string: #"{"ttlSeconds":\#(3600 + index)}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            answer = (response.status.code, String(buffer: try await response.body.collect(upTo: 1 << 20)))
            if answer.status != 201 { break }
        }
        #expect(answer.status == 503)
        #expect(answer.body.contains("store_unavailable"))
        #expect(answer.body.contains("full"))
        let notReady = try await get(running.port, "/readyz")
        #expect(notReady.status == 503)
        #expect(notReady.body.contains("full"))
        // Space returns: ready again, writes work, no restart.
        try FileManager.default.removeItem(atPath: filler)
        #expect(try await get(running.port, "/readyz").status == 200)
        let integrity = try #require(running.built.store as? SQLiteStore).integrityCheck()
        #expect(integrity == ["ok"])
    }
}
