import AsyncHTTPClient
import EMPModel
import EMPTesting
import EMPWebhook
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import ServerGuard
import Testing

/// The HTTPS server itself: endpoints, limits, and certificate rotation on disk.
@Suite struct ServerTests {
    /// A server with no cluster: the profile is set directly.
    func start(
        _ dir: TemporaryDirectory, state: ProfileState, maxBodyBytes: Int = 8 << 20, idleTimeout: Duration = .seconds(30),
        clock: any EMPClock = SystemClock()
    ) async throws -> (
        port: Int, task: ServingTask
    ) {
        let (ready, signal) = AsyncStream<Int>.makeStream()
        var configuration = WebhookServer.Configuration(
            host: "127.0.0.1", port: 0, certificatePath: dir.file("certs/tls.crt"), keyPath: dir.file("certs/tls.key"),
            maxBodyBytes: maxBodyBytes, reloadInterval: .milliseconds(100))
        configuration.limits.idleTimeout = idleTimeout
        let app = try WebhookServer.build(
            configuration: configuration,
            state: state, clock: clock, logger: Logger(label: "test"), onServerRunning: { signal.yield($0) })
        let task = ServingTask(app)
        for await port in ready { return (port, task) }
        throw CancellationError()
    }

    /// A client that trusts only the CA in `caFile`.
    func client(trusting caFile: String) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.connectionPool.idleTimeout = .milliseconds(1)
        configuration.timeout.connect = .seconds(2)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    func call(_ client: HTTPClient, _ port: Int, _ path: String, body: Data? = nil) async throws -> (status: UInt, text: String) {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
        if let body {
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response = try await client.execute(request, timeout: .seconds(5))
        let collected = try await response.body.collect(upTo: 1 << 20)
        return (response.status.code, String(buffer: collected).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func endpointsAnswerAndBadBodiesAre400() async throws {
        let dir = try TemporaryDirectory()
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.file("certs"), extraNames: ["127.0.0.1"])
        let state = ProfileState()
        let server = try await start(dir, state: state, maxBodyBytes: 64 << 10)
        defer { Task { await server.task.stop() } }
        let client = try client(trusting: dir.file("certs/ca.crt"))
        defer { Task { try? await client.shutdown() } }

        #expect(try await call(client, server.port, "/healthz") == (200, "ok"))
        #expect(try await call(client, server.port, "/readyz").status == 503)
        let admitted = try await call(client, server.port, "/mutate", body: Review.body(object: Review.pod()))
        #expect(admitted.status == 200)
        #expect(try Review.patch(Data(admitted.text.utf8)) == nil)  // not ready yet = nothing opted in

        state.set(WebhookProfile(namespaces: ["emp-test"]))
        #expect(try await call(client, server.port, "/readyz") == (200, "ok"))
        let mutated = try await call(client, server.port, "/mutate", body: Review.body(object: Review.pod()))
        #expect(try Review.patch(Data(mutated.text.utf8))?.count == 2)

        let garbage = try await call(client, server.port, "/mutate", body: Data("{\"kind\":".utf8))
        #expect(garbage.status == 400)
        #expect(garbage.text.contains("not JSON"))
        let huge = try await call(client, server.port, "/mutate", body: Data(repeating: UInt8(ascii: " "), count: 100 << 10))
        #expect(huge.status == 413)
        #expect(huge.text.contains("exceeds"))
        let metrics = try await call(client, server.port, "/metrics")
        #expect(metrics.status == 200)
    }

    @Test func aRotatedCertificateIsServedWithoutRestart() async throws {
        let dir = try TemporaryDirectory()
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.file("certs"), extraNames: ["127.0.0.1"])
        try FileManager.default.copyItem(atPath: dir.file("certs/ca.crt"), toPath: dir.file("old-ca.crt"))
        let clock = ManualClock()
        let server = try await start(dir, state: ProfileState(), clock: clock)
        defer { Task { await server.task.stop() } }
        let old = try client(trusting: dir.file("old-ca.crt"))
        defer { Task { try? await old.shutdown() } }
        #expect(try await call(old, server.port, "/healthz").status == 200)

        // A half-written rotation (a key that does not match) is not taken up.
        try FileManager.default.copyItem(atPath: dir.file("certs/ca.key"), toPath: dir.file("certs/tls.key.new"))
        try FileManager.default.removeItem(atPath: dir.file("certs/tls.key"))
        try FileManager.default.moveItem(atPath: dir.file("certs/tls.key.new"), toPath: dir.file("certs/tls.key"))
        try await clock.waitForSleepers(1)
        try await clock.step(by: .milliseconds(100))  // one check of the files (reloadInterval)
        #expect(try await call(old, server.port, "/healthz").status == 200)

        // A new CA and serving pair, as cert-manager would write them: new connections get the new certificate.
        for file in ["ca.crt", "ca.key"] { try FileManager.default.removeItem(atPath: dir.file("certs/\(file)")) }
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.file("certs"), extraNames: ["127.0.0.1"])
        let new = try client(trusting: dir.file("certs/ca.crt"))
        defer { Task { try? await new.shutdown() } }
        try await clock.step(by: .milliseconds(100))
        #expect(try await call(new, server.port, "/healthz").status == 200)
        await #expect(throws: (any Error).self) { try await call(old, server.port, "/healthz") }
    }

    @Test func certsReusesItsCAAndNamesTheService() throws {
        let dir = try TemporaryDirectory()
        let first = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.path)
        let second = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.path)
        #expect(first.caBundle == second.caBundle)
        let pem = try #require(Data(base64Encoded: first.caBundle)).map { Character(UnicodeScalar($0)) }
        #expect(String(pem).hasPrefix("-----BEGIN CERTIFICATE-----"))
        for key in ["ca.key", "tls.key"] {
            #expect(try FileManager.default.attributesOfItem(atPath: dir.file(key))[.posixPermissions] as? Int == 0o600)
        }
        let names = WebhookCertificates.dnsNames(service: "emp-webhook", namespace: "emp-system")
        #expect(names.contains("emp-webhook.emp-system.svc"))
    }

    /// Findings 9 and 12: a review with a duplicated `uid`, or one nested or wide beyond the limits, is refused
    /// before it is parsed into objects; the answer is a JSON error.
    @Test func duplicateKeysAndHugeReviewsAreRefused() async throws {
        let dir = try TemporaryDirectory()
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.file("certs"), extraNames: ["127.0.0.1"])
        let server = try await start(dir, state: ProfileState())
        defer { Task { await server.task.stop() } }
        let client = try client(trusting: dir.file("certs/ca.crt"))
        defer { Task { try? await client.shutdown() } }
        let duplicate = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"a","uid":"b"}}"#
        let refused = try await call(client, server.port, "/mutate", body: Data(duplicate.utf8))
        #expect(refused.status == 400)
        #expect(refused.text.contains("duplicate key"))
        #expect(refused.text.contains(#""error""#))
        let wide = "{" + (0..<150_000).map { #""k\#($0)":0"# }.joined(separator: ",") + "}"
        let huge = try await call(client, server.port, "/mutate", body: Data(wide.utf8))
        #expect(huge.status == 400)
        #expect(huge.text.contains("100000"))
    }
}
