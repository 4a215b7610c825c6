import AsyncHTTPClient
import EMPTesting
import EMPWebhook
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL

/// AdmissionReviews per second and latency over HTTPS on loopback with 8 and 64 concurrent connections: emp-webhook's
/// `/mutate` beside a static-response server on the same stack (Hummingbird + NIOSSL, same certificate) that
/// returns a fixed AdmissionReview without reading the request.
func webhookBenchmark() async throws {
    print("webhook: AdmissionReview over HTTPS, 8 and 64 connections, 5 s each, loopback")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-bench-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = try WebhookCertificates.write(service: "emp-webhook", namespace: "emp-system", to: dir, extraNames: ["127.0.0.1"])
    let body = Data(
        #"""
        {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
        "namespace":"emp-test","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:replicaset-controller"},
        "object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"emp-test-deployment-7d9f-","namespace":"emp-test",
        "labels":{"app":"emp-test-deployment","pod-template-hash":"7d9f"},"ownerReferences":[{"apiVersion":"apps/v1",
        "kind":"ReplicaSet","name":"emp-test-deployment-7d9f","uid":"u-1","controller":true}]},"spec":{"containers":[{"name":"no-op",
        "image":"alpine","command":["/bin/sh","-c","sleep 3600"],"resources":{"requests":{"memory":"3Gi"}}}],
        "tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}]}},
        "dryRun":false}}
        """#.utf8)
    var logger = Logger(label: "bench")
    logger.logLevel = .error

    // Ours.
    let state = ProfileState(WebhookProfile(namespaces: ["emp-test"]), ready: true)
    let (oursReady, oursSignal) = AsyncStream<Int>.makeStream()
    let ours = try WebhookServer.build(
        configuration: .init(host: "127.0.0.1", port: 0, certificatePath: "\(dir)/tls.crt", keyPath: "\(dir)/tls.key"),
        state: state, logger: logger, onServerRunning: { oursSignal.yield($0) })
    let oursTask = ServingTask(ours)
    defer { Task { await oursTask.stop() } }
    var oursPort = 0
    for await port in oursReady {
        oursPort = port
        break
    }

    // The handler alone, without HTTP.
    let handler = AdmissionHandler(state: state)
    let alone = try await measure(20_000) { _ = try handler.handle(body) }
    report("AdmissionHandler.handle alone (no HTTP): reviews/s", alone.perSecond, "/s")

    // Baseline: the same TLS stack answering a fixed response.
    let fixed = try handler.handle(body)
    let router = Router()
    router.post("mutate") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(data: fixed)))
    }
    let tls = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile("\(dir)/tls.crt").map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: "\(dir)/tls.key", format: .pem)))
    let (baseReady, baseSignal) = AsyncStream<Int>.makeStream()
    let baseline = Application(
        router: router, server: try .tls(.http1(), tlsConfiguration: tls),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { baseSignal.yield($0.localAddress?.port ?? 0) },
        logger: logger)
    let baseTask = ServingTask(baseline)
    defer { Task { await baseTask.stop() } }
    var basePort = 0
    for await port in baseReady {
        basePort = port
        break
    }

    var clientTLS = TLSConfiguration.makeClientConfiguration()
    clientTLS.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile("\(dir)/ca.crt"))
    var configuration = HTTPClient.Configuration(tlsConfiguration: clientTLS)
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
    let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)

    for connections in [8, 64] {
        for (name, port) in [("static-response HTTPS server (baseline)", basePort), ("emp-webhook /mutate", oursPort)] {
            _ = try await load(client, port: port, body: body, connections: connections, duration: .seconds(1))  // warm up
            let result = try await load(client, port: port, body: body, connections: connections, duration: .seconds(5))
            report("\(connections) connections, \(name): reviews/s", result.perSecond, "/s")
            report("\(connections) connections, \(name): p50", result.p50 * 1000, "ms", decimals: 2)
            report("\(connections) connections, \(name): p99", result.p99 * 1000, "ms", decimals: 2)
        }
    }
    try await client.shutdown()
}

/// `connections` tasks sending `body` back to back for `duration`; every answer must be HTTP 200.
func load(_ client: HTTPClient, port: Int, body: Data, connections: Int, duration: Duration) async throws -> (
    perSecond: Double, p50: Double, p99: Double
) {
    let end = ContinuousClock.now + duration
    let start = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<connections {
            group.addTask {
                var samples: [Double] = []
                while ContinuousClock.now < end {
                    var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)/mutate")
                    request.method = .POST
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(data: body))
                    let sent = ContinuousClock.now
                    let response = try await client.execute(request, timeout: .seconds(10))
                    _ = try await response.body.collect(upTo: 1 << 20)
                    guard response.status == .ok else { throw BenchError("HTTP \(response.status.code)") }
                    samples.append(seconds(ContinuousClock.now - sent))
                }
                return samples
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
    }
    let elapsed = seconds(ContinuousClock.now - start)
    func quantile(_ q: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))] }
    return (Double(latencies.count) / elapsed, quantile(0.5), quantile(0.99))
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
