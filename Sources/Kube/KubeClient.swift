import AsyncHTTPClient
public import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
public import NIOHTTP1
import NIOHTTPCompression
import NIOPosix
import NIOSSL

/// The Kubernetes API client shared by the agent, the autoscaler and the webhook: TLS and auth from a
/// ``KubeConfig``, a client-side rate limit, and retries on connection errors, 429 and 5xx (honouring Retry-After).
public final class KubeClient: Sendable {
    /// Transport tuning; the defaults suit a controller talking to one cluster.
    public struct Options: Sendable {
        public var qps: Double = 50
        public var burst: Int = 100
        /// Deadline of one ordinary request (watches use their own).
        public var requestTimeout: Duration = .seconds(30)
        public var connectTimeout: Duration = .seconds(10)
        /// Retries after the first attempt.
        public var maxRetries: Int = 5
        /// First backoff; doubles per retry up to `maxBackoff`.
        public var initialBackoff: Duration = .milliseconds(100)
        public var maxBackoff: Duration = .seconds(5)
        public var userAgent: String = "emp/1.0"
        public init() {}
    }

    /// A raw response.
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: Data
    }

    public let config: KubeConfig
    public let options: Options
    let http: HTTPClient
    let limiter: RateLimiter
    let exec: ExecCredentialProvider?
    let tokenFile: TokenFile?
    let logger: Logger

    public init(config: KubeConfig, options: Options = Options(), logger: Logger = Logger(label: "emp.kube")) throws {
        self.config = config
        self.options = options
        self.logger = logger
        self.limiter = RateLimiter(qps: options.qps, burst: options.burst)
        var tls = TLSConfiguration.makeClientConfiguration()
        // A watch cut short at shutdown waits this long for the server's close_notify (NIOSSL's default is 5 s,
        // which alone used up a process's whole SIGTERM budget).
        tls.shutdownTimeout = .milliseconds(500)
        do {
            if let ca = config.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(ca)))
            }
            if let certificate = config.clientCertificatePEM, let key = config.clientKeyPEM {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(certificate)).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(key), format: .pem))
            }
        } catch {
            throw KubeConfigError(file: "kubeconfig", key: nil, "TLS material cannot be loaded: \(error)")
        }
        if config.insecureSkipTLSVerify { tls.certificateVerification = .none }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .init(options.connectTimeout))
        configuration.decompression = .enabled(limit: .none)
        self.http = HTTPClient(eventLoopGroup: NIOSingletons.posixEventLoopGroup, configuration: configuration)
        switch config.credentials {
        case .exec(let exec):
            self.exec = ExecCredentialProvider(config: exec)
            self.tokenFile = nil
        case .tokenFile(let path):
            self.exec = nil
            self.tokenFile = TokenFile(path: path)
        case .none, .token:
            self.exec = nil
            self.tokenFile = nil
        }
    }

    /// Closes connections; call before dropping the client.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    // MARK: requests

    /// Sends one request with rate limiting, authentication and retries; any status comes back.
    public func send(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json", accept: String = "application/json"
    ) async throws -> Response {
        var attempt = 0
        var refreshedCredential = false
        while true {
            try await limiter.acquire()
            let request = try await makeRequest(method, path, query: query, body: body, contentType: contentType, accept: accept)
            let outcome: Result<Response, any Error>
            do {
                let response = try await http.execute(request, timeout: .init(options.requestTimeout))
                let data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
                outcome = .success(Response(status: Int(response.status.code), headers: response.headers, body: data))
            } catch {
                outcome = .failure(error)
            }
            switch outcome {
            case .success(let response):
                if response.status == 401, exec != nil, !refreshedCredential {
                    refreshedCredential = true
                    await exec?.invalidate()
                    continue
                }
                guard attempt < options.maxRetries, let delay = retryDelay(response, method: method, attempt: attempt) else {
                    return response
                }
                logger.debug("kube retry", metadata: ["path": "\(path)", "status": "\(response.status)", "attempt": "\(attempt)"])
                try await Task.sleep(for: delay)
            case .failure(let error):
                guard attempt < options.maxRetries, Self.isRetryable(error, method: method) else { throw error }
                logger.debug("kube retry", metadata: ["path": "\(path)", "error": "\(error)", "attempt": "\(attempt)"])
                try await Task.sleep(for: backoff(attempt))
            }
            attempt += 1
        }
    }

    /// Sends a request and decodes a 2xx body as `T`; other statuses throw ``KubeError``.
    public func decode<T: Decodable>(
        _ type: T.Type, _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil,
        contentType: String = "application/json"
    ) async throws -> T {
        let response = try await send(method, path, query: query, body: body, contentType: contentType)
        try Self.check(response)
        do {
            return try JSONDecoder().decode(T.self, from: response.body)
        } catch {
            throw KubeError(
                reason: .invalidResponse, code: response.status, message: "\(method) \(path): cannot decode \(T.self): \(error)")
        }
    }

    /// Throws the decoded Status for a non-2xx response.
    static func check(_ response: Response) throws {
        guard (200..<300).contains(response.status) else {
            throw KubeError(status: response.status, body: response.body, retryAfter: retryAfter(response.headers))
        }
    }

    func makeRequest(
        _ method: HTTPMethod, _ path: String, query: [(String, String)], body: Data?, contentType: String, accept: String
    ) async throws -> HTTPClientRequest {
        var request = HTTPClientRequest(url: config.server + path + Self.queryString(query))
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "User-Agent", value: options.userAgent)
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(data: body))
        }
        if let token = try await bearerToken() { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        return request
    }

    func bearerToken() async throws -> String? {
        switch config.credentials {
        case .none: return nil
        case .token(let token): return token
        case .tokenFile: return try tokenFile?.read()
        case .exec:
            guard let credential = try await exec?.credential() else { return nil }
            guard let token = credential.token else {
                throw KubeCredentialError("the credential plugin returned a client certificate; only token credentials are supported")
            }
            return token
        }
    }

    // MARK: retry policy

    /// 429 always; 5xx for reads, and for writes only when the server said when to retry (client-go's rule).
    func retryDelay(_ response: Response, method: HTTPMethod, attempt: Int) -> Duration? {
        let after = Self.retryAfter(response.headers)
        switch response.status {
        case 429: break
        case 500, 502, 503, 504:
            guard method == .GET || after != nil else { return nil }
        default: return nil
        }
        return after.map { .seconds(min($0, 60)) } ?? backoff(attempt)
    }

    func backoff(_ attempt: Int) -> Duration {
        let base = options.initialBackoff * (1 << min(attempt, 16))
        let capped = min(base, options.maxBackoff)
        return capped * Double.random(in: 0.8...1.2)
    }

    /// Connection failures mean the request never reached the server: safe to retry for every verb.
    static func isRetryable(_ error: any Error, method: HTTPMethod) -> Bool {
        if error is CancellationError || error is KubeCredentialError || error is KubeError { return false }
        // A certificate the client does not trust stays untrusted; AsyncHTTPClient already retried connecting.
        if error is NIOSSLError || error is BoringSSLError { return false }
        if error is NIOConnectionError { return true }
        if let error = error as? HTTPClientError, error == .connectTimeout { return true }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return true }
        // A read may be repeated after any transport failure; a write might have been applied.
        return method == .GET
    }

    static func retryAfter(_ headers: HTTPHeaders) -> Int? {
        headers.first(name: "Retry-After").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// `?a=b&c=d` with RFC 3986 escaping (selectors contain `=`, `,`, `!`, spaces and parentheses).
    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?"
            + query.map {
                "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)"
            }.joined(separator: "&")
    }
}

/// A service-account token file, re-read when it changes on disk (the kubelet rotates projected tokens).
final class TokenFile: Sendable {
    let path: String
    private let cache = NIOLockedValueBox<(modified: Date, token: String)?>(nil)

    init(path: String) { self.path = path }

    func read() throws -> String {
        let modified = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date) ?? Date.distantPast
        if let cached = cache.withLockedValue({ $0 }), cached.modified == modified { return cached.token }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubeCredentialError("cannot read token file \(path)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        cache.withLockedValue { $0 = (modified, token) }
        return token
    }
}
