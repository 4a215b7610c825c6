import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// The composition root of `emp-webhook serve`: the HTTPS application answering `/mutate`, `/healthz`,
/// `/readyz` and `/metrics`, plus the services it needs (certificate reloader, profile watcher).
public enum WebhookServer {
    /// Settings of `emp-webhook serve`; each default is stated where it is declared.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var certificatePath: String
        public var keyPath: String
        /// Largest AdmissionReview accepted. Default 8 MiB (above the API server's 3 MiB object limit, with room
        /// for `oldObject`).
        public var maxBodyBytes: Int
        /// How often the certificate files are checked. Default 2 s.
        public var reloadInterval: Duration

        public init(
            host: String = "0.0.0.0", port: Int = 8443, certificatePath: String, keyPath: String, maxBodyBytes: Int = 8 << 20,
            reloadInterval: Duration = .seconds(2)
        ) {
            self.host = host
            self.port = port
            self.certificatePath = certificatePath
            self.keyPath = keyPath
            self.maxBodyBytes = maxBodyBytes
            self.reloadInterval = reloadInterval
        }
    }

    /// The application; `services` run beside it (add a ``ProfileWatcher`` when a cluster is configured).
    public static func build(
        configuration: Configuration,
        state: ProfileState,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        services: [any Service] = [],
        logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let reloader = try CertificateReloader(
            certificatePath: configuration.certificatePath, keyPath: configuration.keyPath, interval: configuration.reloadInterval,
            logger: logger)
        return Application(
            router: router(state: state, registry: registry, maxBodyBytes: configuration.maxBodyBytes),
            server: try .tls(.http1(), tlsConfiguration: reloader.tlsConfiguration()),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "emp-webhook"),
            services: [reloader] + services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    static func router(state: ProfileState, registry: PrometheusCollectorRegistry, maxBodyBytes: Int) -> Router<BasicRequestContext> {
        let router = Router()
        let handler = AdmissionHandler(state: state)
        router.post("mutate") { request, _ -> Response in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch {
                return plain(.badRequest, "request body exceeds \(maxBodyBytes) bytes")
            }
            do throws(MalformedReview) {
                let answer = try handler.handle(Data(buffer: body))
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
            } catch {
                return plain(.badRequest, error.description)
            }
        }
        router.get("healthz") { _, _ in "ok" }
        router.get("readyz") { _, _ -> Response in
            state.isReady ? plain(.ok, "ok") : plain(.serviceUnavailable, "profile not read yet")
        }
        router.get("metrics") { _, _ in registry.emitToString() }
        return router
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
