import AsyncHTTPClient
import EMPTesting
import Foundation
import KubeSim
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// `emp-control-plane --config FILE` as an operator runs it: YAML file, TLS on, tokens from the file.
@Suite struct ConfigurationTests {
    func makeCertificate(in dir: TemporaryDirectory) throws -> (String, String) {
        let openssl = try ChildProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", dir.file("key.pem"), "-out", dir.file("cert.pem"),
            ])
        #expect(openssl.wait() == 0)
        return (dir.file("cert.pem"), dir.file("key.pem"))
    }

    @Test func servesHTTPSWithTheConfiguredCertificateAndTokens() async throws {
        let dir = try TemporaryDirectory()
        let (certificate, key) = try makeCertificate(in: dir)
        let config = """
            listen: 127.0.0.1:0
            dataDir: \(dir.file("data"))
            operatorTokens: [from-the-file]
            tls:
              certificate: \(certificate)
              key: \(key)
            """
        try config.write(toFile: dir.file("cp.yaml"), atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"), ["--config", dir.file("cp.yaml"), "--log-level", "warning"])
        defer { process.kill() }
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on https://127.0.0.1:") } }
        let url = String(process.output.first { $0.contains("listening on") }!.split(separator: " ").last!)

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(certificate)
        // Redirects are read, not followed (the console's login answers 303).
        let client = HTTPClient(
            eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
        defer { _ = client.shutdown() }
        var request = HTTPClientRequest(url: url + "/v1/pools")
        request.headers.add(name: "Authorization", value: "Bearer from-the-file")
        let response = try await client.execute(request, timeout: .seconds(10))
        #expect(response.status == .ok)
        var wrong = HTTPClientRequest(url: url + "/v1/pools")
        wrong.headers.add(name: "Authorization", value: "Bearer something-else")
        #expect(try await client.execute(wrong, timeout: .seconds(10)).status == .unauthorized)
        // The console on the same listener: its session cookie is Secure over TLS.
        var login = HTTPClientRequest(url: url + "/login")
        login.method = .POST
        login.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        login.body = .bytes(ByteBuffer(string: "token=from-the-file"))
        let session = try await client.execute(login, timeout: .seconds(10))
        #expect(session.status == .seeOther)
        let cookie = session.headers.first(name: "set-cookie") ?? ""
        #expect(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "\(cookie)")
        // Plain HTTP to the TLS port fails.
        let plain = HTTPClientRequest(url: url.replacingOccurrences(of: "https://", with: "http://") + "/healthz")
        await #expect(throws: (any Error).self) {
            _ = try await HTTPClient.shared.execute(plain, timeout: .seconds(5)).body.collect(upTo: 1024)
        }
    }

    @Test func theShippedExampleIsAccepted() async throws {
        let dir = try TemporaryDirectory()
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        let process = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            ["--config", "\(root)/control-plane/config.example.yaml", "--data-dir", dir.file("data"), "--listen", "127.0.0.1:0"]
        )
        defer { process.kill() }
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on http://127.0.0.1:") } }
    }

    @Test(arguments: [
        ("listen: 127.0.0.1:0\ncolour: blue\n", "unknown key \"colour\""),
        ("viewerTokens: [short]\n", "viewerTokens: every token must be at least 16 characters"),
        ("sessionLifetimeSeconds: 5\n", "sessionLifetimeSeconds must be between 60 and 604800"),
        ("cost:\n  sampleSeconds: 1\n", "cost.sampleSeconds must be between 10 and 3600"),
        ("cost:\n  pools:\n    p: {evmInstanceType: m9.huge}\n", "cost.pools.p.evmInstanceType: no price for instance type \"m9.huge\""),
        ("cost:\n  hosts:\n    bm-1: -2\n", "cost.hosts.bm-1 must be a price of 0 or more"),
        ("cost:\n  prices:\n    - {name: x1, vcpus: 0, memory: 1Gi, hourly: 1}\n", "vcpus"),
        ("listen: nowhere\n", "listen must be HOST:PORT"),
        ("tls:\n  certificate: /nope.pem\n", "tls.key is required"),
        ("operatorTokens: 5\n", "operatorTokens"),
        ("rebalancer:\n  planner:\n    maxInboundPerHost: 0\n", "rebalancer.planner.maxInboundPerHost: must be at least 1"),
        ("rebalancer:\n  planner:\n    goals: [evacuate, tidy]\n", "rebalancer.planner.goals"),
        ("rebalancer:\n  intervalSeconds: 0\n", "rebalancer.intervalSeconds must be between 1 and 3600"),
    ])
    func badFilesNameTheKeyAndStartNothing(yaml: String, expected: String) throws {
        let dir = try TemporaryDirectory()
        try yaml.write(toFile: dir.file("cp.yaml"), atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            ["--config", dir.file("cp.yaml"), "--data-dir", dir.file("data")]
        )
        #expect(process.wait() != 0)
        let message = process.errorOutput.joined(separator: "\n")
        #expect(message.contains(expected), "stderr was: \(message)")
        #expect(message.contains(dir.file("cp.yaml")) || expected.hasPrefix("listen"), "the message should name the file")
    }

    /// Issue 14, finding 6: at the most verbose level nothing prints an operator token, and SIGTERM ends the process
    /// cleanly; bad `server:` values are refused naming the key.
    @Test func traceLogsCarryNoTokenAndSIGTERMStopsCleanly() async throws {
        let dir = try TemporaryDirectory()
        let secret = "op-token-never-printed-7f3a"
        try "server:\n  idleTimeoutSeconds: 5\n  maxConnections: 100\n".write(
            toFile: dir.file("cp.yaml"), atomically: true, encoding: .utf8)
        let process = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"),
            [
                "--config", dir.file("cp.yaml"), "--data-dir", dir.file("data"), "--listen", "127.0.0.1:0", "--token", secret,
                "--log-level", "trace",
            ])
        defer { process.kill() }
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on http://127.0.0.1:") } }
        process.kill(SIGTERM)
        #expect(process.wait() == 0)
        let everything = (process.output + process.errorOutput).joined(separator: "\n")
        #expect(!everything.contains(secret))
        // The services were logged (so the check above saw them), without their contents.
        #expect(everything.contains("ControlPlane"), "stderr was: \(process.errorOutput.suffix(20))")
        #expect(!everything.contains("Fatal error"))

        try "server:\n  maxConnections: 3\n".write(toFile: dir.file("bad.yaml"), atomically: true, encoding: .utf8)
        let refused = try ChildProcess(
            try BuiltProducts.executable("emp-control-plane"), ["--config", dir.file("bad.yaml"), "--data-dir", dir.file("data")])
        #expect(refused.wait() != 0)
        #expect(refused.errorOutput.joined().contains("server.maxConnections must be between 16 and 1000000"))
    }

    /// Issue 15's first finding: with a kubeconfig (autoscaler and rebalancer running, their informers watching a
    /// live cluster) SIGTERM used to end in "Client not shut down before the deinit"; now the process exits 0 within
    /// 5 s and the store reopens.
    @Test func sigtermWithAKubeconfigExitsCleanly() async throws {
        let dir = try TemporaryDirectory()
        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let arguments = [
            "--data-dir", dir.file("data"), "--listen", "127.0.0.1:0", "--token", "op", "--kubeconfig", dir.file("kubeconfig"),
            "--log-level", "debug",
        ]
        let process = try ChildProcess(try BuiltProducts.executable("emp-control-plane"), arguments)
        defer { process.kill() }
        try await process.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on http://127.0.0.1:") } }
        // The autoscaler is running (ServiceLifecycle logs each service it starts at debug level).
        #expect(try await eventually { process.errorOutput.contains { $0.contains("Autoscaler") } })
        #expect(try await eventually { process.errorOutput.contains { $0.contains("RebalancerService") } })
        SignalTests.expectCleanStop(process, "emp-control-plane")
        let again = try ChildProcess(try BuiltProducts.executable("emp-control-plane"), arguments)
        defer { again.kill() }
        try await again.waitFor(timeout: .seconds(30)) { $0.contains { $0.contains("listening on http://127.0.0.1:") } }
    }
}
