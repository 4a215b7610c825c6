public import EMPModel
import Foundation
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOFoundationCompat
public import Prometheus
public import ServerGuard
public import ServiceLifecycle

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
        /// Handshake/header/idle timeout and connection limit. Default 30 s, 4,096 connections.
        public var limits = ServerLimits()

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
        clock: any EMPClock = SystemClock(),
        logger: Logger,
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        DescriptorLimit.raiseToHardLimit()
        let reloader = try CertificateReloader(
            certificatePath: configuration.certificatePath, keyPath: configuration.keyPath, interval: configuration.reloadInterval,
            clock: clock, logger: logger)
        return Application(
            router: router(state: state, registry: registry, maxBodyBytes: configuration.maxBodyBytes, logger: logger),
            server: try configuration.limits.serverBuilder(tls: reloader.tlsConfiguration()),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port), serverName: "emp-webhook",
                backlog: configuration.limits.backlog, availableConnectionsDelegate: configuration.limits.connectionsDelegate),
            services: [reloader] + services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }

    static func router(
        state: ProfileState, registry: PrometheusCollectorRegistry, maxBodyBytes: Int, logger: Logger = Logger(label: "emp-webhook")
    ) -> Router<BasicRequestContext> {
        let router = Router()
        let table = RouteTable()
        router.add(middleware: ErrorBodyMiddleware(routes: table, logger: logger) { status, code, message in error(status, code, message) })
        let routes = RecordingRoutes(router.group(), prefix: "", table: table)
        let handler = AdmissionHandler(state: state)
        routes.post("mutate") { request, _ -> Response in
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: maxBodyBytes)
            } catch {
                return Self.error(.contentTooLarge, "too_large", "request body exceeds \(maxBodyBytes) bytes")
            }
            do throws(MalformedReview) {
                let answer = try handler.handle(Data(buffer: body))
                return Response(
                    status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer)))
            } catch let malformed {
                return Self.error(.badRequest, "invalid", malformed.description)
            }
        }
        routes.get("healthz") { _, _ in "ok" }
        routes.get("readyz") { _, _ -> Response in
            state.isReady ? plain(.ok, "ok") : error(.serviceUnavailable, "unavailable", "profile not read yet")
        }
        routes.get("metrics") { _, _ in MetricHelp.annotate(registry.emitToString(), help: WebhookServer.metricHelp) }
        return router
    }

    /// `{"error": code, "message": text}`: every error the webhook answers, as the control plane's.
    static func error(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        struct Body: Encodable {
            let error: String
            let message: String
        }
        let data = (try? JSONEncoder().encode(Body(error: code, message: message))) ?? Data()
        return Response(
            status: status, headers: [.contentType: "application/json", .contentLength: "\(data.count)"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}

extension WebhookServer {
    /// The `# HELP` text of every metric family the webhook exports.
    static let metricHelp: [String: String] = [
        "emp_webhook_admission_reviews_total": "AdmissionReviews answered, by result (mutated, skipped, malformed, …).",
        "emp_webhook_admission_duration_seconds": "Time to answer one AdmissionReview.",
        "emp_webhook_profile_errors_total": "Keys of the emp-profile-cm ConfigMap that could not be read, by key.",
        "emp_webhook_profile_namespaces": "Namespaces opted in by the emp-profile-cm ConfigMap.",
    ]
}
