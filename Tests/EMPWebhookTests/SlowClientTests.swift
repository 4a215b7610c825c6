import AsyncHTTPClient
import EMPTesting
import EMPWebhook
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// A thousand idle clients against the webhook (issue 14, finding 7). Run on their own by `make test`
/// (`--filter SlowClientTests`), like the control plane's.
@Suite struct SlowClientTests {
    /// Issue 14, finding 7: 1,000 connections that never finish a TLS handshake, or stop halfway through a request,
    /// no longer starve reviews; the server closes them after its idle timeout.
    @Test func idleConnectionsDoNotStarveReviews() async throws {
        let dir = try TemporaryDirectory()
        _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir.file("certs"), extraNames: ["127.0.0.1"])
        let state = ProfileState()
        let server = try await ServerTests().start(dir, state: state, idleTimeout: .seconds(1))
        defer { Task { await server.task.stop() } }
        var idle: [RawSocket] = []
        for index in 0..<1000 {
            let socket = try RawSocket(port: server.port, readTimeout: .seconds(10))
            if index % 2 == 0 { try socket.send("\u{16}\u{03}\u{01}") }  // the start of a TLS record, never finished
            idle.append(socket)
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dir.file("certs/ca.crt")))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout.connect = .seconds(60)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        defer { Task { try? await client.shutdown() } }
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(server.port)/healthz")
        request.method = .GET
        // The first answer waits behind the idle connections in the listen queue; then one within 1 s.
        #expect(try await client.execute(request, timeout: .seconds(60)).status.code == 200)
        let response = try await client.execute(request, timeout: .seconds(1))
        #expect(response.status.code == 200)
        var closed = 0
        for socket in idle where socket.isClosedByPeer { closed += 1 }
        #expect(closed == 1000)
    }
}
