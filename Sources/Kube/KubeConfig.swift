public import Foundation
import Yams

/// How to reach and authenticate to one Kubernetes API server: resolved from kubeconfig files (with
/// `KUBECONFIG` merging) or from the in-cluster service account.
public struct KubeConfig: Sendable, Hashable {
    /// How requests authenticate.
    public enum Credentials: Sendable, Hashable {
        case none
        /// A fixed bearer token.
        case token(String)
        /// A bearer token re-read from this file when it changes (service-account rotation).
        case tokenFile(String)
        /// A credential plugin, cached until the credential's expiry.
        case exec(ExecConfig)
    }

    /// `https://host:port` (no trailing slash).
    public var server: String
    /// Namespace of the selected context (`default` when unset).
    public var namespace: String
    /// PEM bundle of the CAs to trust; nil uses the system roots.
    public var certificateAuthorityPEM: Data?
    public var insecureSkipTLSVerify: Bool
    public var tlsServerName: String?
    /// PEM client certificate and key (mutual TLS).
    public var clientCertificatePEM: Data?
    public var clientKeyPEM: Data?
    public var credentials: Credentials

    public init(
        server: String,
        namespace: String = "default",
        certificateAuthorityPEM: Data? = nil,
        insecureSkipTLSVerify: Bool = false,
        tlsServerName: String? = nil,
        clientCertificatePEM: Data? = nil,
        clientKeyPEM: Data? = nil,
        credentials: Credentials = .none
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.credentials = credentials
    }

    // MARK: Loading

    /// The standard lookup: `$KUBECONFIG` (several paths separated by `:`), else `~/.kube/config`, else the
    /// in-cluster service account.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        context: String? = nil
    ) throws -> KubeConfig {
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return try load(paths: list.split(separator: ":").map(String.init), context: context)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let standard = "\(home)/.kube/config"
        if FileManager.default.fileExists(atPath: standard) { return try load(paths: [standard], context: context) }
        return try inCluster(environment: environment)
    }

    /// Merges `paths` the way kubectl does (the first file to define a name, or `current-context`, wins;
    /// missing files are skipped) and resolves `context` (default: `current-context`).
    public static func load(paths: [String], context: String? = nil) throws -> KubeConfig {
        var merged = Merged()
        var readAny = false
        for path in paths where !path.isEmpty {
            guard FileManager.default.fileExists(atPath: path) else { continue }
            readAny = true
            merged.add(try parse(path), from: path)
        }
        guard readAny else { throw KubeConfigError(file: paths.joined(separator: ":"), key: nil, "no kubeconfig file exists") }
        return try merged.resolve(context: context)
    }

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`PORT`, the service account's token (re-read
    /// when it rotates), CA and namespace under `directory`.
    public static func inCluster(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        directory: String = "/var/run/secrets/kubernetes.io/serviceaccount"
    ) throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], let port = environment["KUBERNETES_SERVICE_PORT"] else {
            throw KubeConfigError(
                file: "in-cluster",
                key: "KUBERNETES_SERVICE_HOST",
                "not running in a cluster and no kubeconfig found (set KUBECONFIG or create ~/.kube/config)"
            )
        }
        let tokenPath = "\(directory)/token"
        guard FileManager.default.fileExists(atPath: tokenPath) else {
            throw KubeConfigError(file: tokenPath, key: nil, "service account token is missing")
        }
        let namespace = (try? String(contentsOfFile: "\(directory)/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(
            server: "https://\(hostPart):\(port)",
            namespace: namespace?.isEmpty == false ? namespace! : "default",
            certificateAuthorityPEM: FileManager.default.contents(atPath: "\(directory)/ca.crt"),
            credentials: .tokenFile(tokenPath)
        )
    }

    static func parse(_ path: String) throws -> KubeConfigFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw KubeConfigError(file: path, key: nil, "cannot be read")
        }
        do {
            return try YAMLDecoder().decode(KubeConfigFile.self, from: text)
        } catch let error as DecodingError {
            throw KubeConfigError(file: path, key: KubeConfigError.path(of: error), KubeConfigError.problem(of: error))
        } catch {
            throw KubeConfigError(file: path, key: nil, "is not valid YAML: \(error)")
        }
    }
}

/// A kubeconfig problem, naming the file and the key at fault.
public struct KubeConfigError: Error, Sendable, CustomStringConvertible {
    public let file: String
    public let key: String?
    public let message: String

    init(file: String, key: String?, _ message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        key.map { "kubeconfig \(file): \($0): \(message)" } ?? "kubeconfig \(file): \(message)"
    }

    static func path(of error: DecodingError) -> String {
        let keys: [any CodingKey]
        switch error {
        case .keyNotFound(let key, let context): keys = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): keys = context.codingPath
        @unknown default: keys = []
        }
        return keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: ["."])
    }

    static func problem(of error: DecodingError) -> String {
        switch error {
        case .keyNotFound: "is required"
        case .typeMismatch(let type, _): "has the wrong type (expected \(type))"
        case .valueNotFound(let type, _): "must be \(type), not null"
        case .dataCorrupted(let context): context.debugDescription
        @unknown default: "\(error)"
        }
    }
}
