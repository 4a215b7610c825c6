import AsyncHTTPClient
import EMPTesting
import Foundation
import Kube
import KubeSim
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Testing

/// The `emp-webhook` binary as an operator runs it: `certs`, then `serve` against a cluster.
@Suite struct WebhookProcessTests {
    @Test func certsThenServe() async throws {
        let dir = try TemporaryDirectory()
        let binary = try BuiltProducts.executable("emp-webhook")
        let certs = try await ChildProcess.output(binary, ["certs", "--out", dir.file("certs"), "--name", "127.0.0.1"])
        let bundle = try #require(Data(base64Encoded: certs.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(String(decoding: bundle, as: UTF8.self) == (try String(contentsOfFile: dir.file("certs/ca.crt"), encoding: .utf8)))

        let refused = try ChildProcess(
            binary, ["serve", "--cert", dir.file("certs/tls.crt"), "--key", dir.file("certs/tls.key"), "--listen", "nowhere"])
        #expect(refused.wait() != 0)
        #expect(refused.errorOutput.joined().contains("--listen must be HOST:PORT"))

        let sim = try KubeSim()
        try await sim.start()
        defer { Task { await sim.stop() } }
        try sim.writeKubeconfig(to: dir.file("kubeconfig"))
        let client = try KubeClient(config: sim.kubeConfig())
        defer { Task { try? await client.shutdown() } }
        var map = ConfigMap(name: "emp-profile-cm", namespace: "default")
        map.data = ["namespaces": #"["emp-test"]"#]
        _ = try await client.resources(ConfigMap.self, namespace: "default").create(map)

        let server = try ChildProcess(
            binary,
            [
                "serve", "--cert", dir.file("certs/tls.crt"), "--key", dir.file("certs/tls.key"), "--listen", "127.0.0.1:0",
                "--kubeconfig", dir.file("kubeconfig"), "--log-level", "warning",
            ])
        defer { server.kill() }
        try await server.waitFor(timeout: .seconds(30)) { $0.contains { $0.hasPrefix("emp-webhook listening on https://127.0.0.1:") } }
        let line = try #require(server.output.first { $0.hasPrefix("emp-webhook listening on") })
        let url = String(line.dropFirst("emp-webhook listening on ".count))

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(dir.file("certs/ca.crt")))
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .init(tlsConfiguration: tls))
        defer { Task { try? await http.shutdown() } }
        #expect(
            try await eventually { try await http.execute(HTTPClientRequest(url: url + "/readyz"), timeout: .seconds(5)).status == .ok })
        var request = HTTPClientRequest(url: url + "/mutate")
        request.method = .POST
        request.body = .bytes(
            ByteBuffer(
                string: #"""
                    {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","operation":"CREATE",
                    "namespace":"emp-test","kind":{"group":"","version":"v1","kind":"Pod"},
                    "object":{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"alpine"}]}}}}
                    """#))
        let response = try await http.execute(request, timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        let review = try JSONValue.parse(Data(buffer: body))
        #expect(review["response"]?["uid"] == .string("u-1"))
        #expect(review["response"]?["patchType"] == .string("JSONPatch"))
        let metrics = try await http.execute(HTTPClientRequest(url: url + "/metrics"), timeout: .seconds(5))
        let text = String(buffer: try await metrics.body.collect(upTo: 1 << 20))
        #expect(text.contains(#"emp_webhook_admission_reviews_total{result="mutated"} 1"#))
        SignalTests.expectCleanStop(server, "emp-webhook serve")
    }
}
