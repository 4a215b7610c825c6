public import EMPModel
import Foundation

/// What `emp-control-plane`'s command line gave; nil (or empty) means not given. The top layer of
/// ``ControlPlaneConfiguration/resolve(flags:environment:)``.
public struct ControlPlaneFlags: Sendable {
    public var config: String?
    public var dataDir: String?
    public var listen: String?
    public var tokens: [String] = []
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var kubeconfig: String?

    public init() {}
}

extension ControlPlaneConfiguration {
    /// Flags over the environment (`EMP_CONTROL_PLANE_<KEY>`: `DATA_DIR`, `LISTEN`, `OPERATOR_TOKENS` comma-separated,
    /// `TLS_CERTIFICATE`, `TLS_KEY`, `KUBECONFIG`) over the YAML file over the defaults; an error names the flag,
    /// variable or file key at fault.
    public static func resolve(
        flags: ControlPlaneFlags, environment: EnvironmentLayer = EnvironmentLayer(program: "emp-control-plane")
    ) throws -> ControlPlaneConfiguration {
        var configuration = ControlPlaneConfiguration()
        if let path = flags.config {
            do {
                configuration = try ConfigurationFile.load(path).apply(to: configuration)
            } catch let error as ConfigurationError where !error.description.hasPrefix(path) {
                throw ConfigurationError("\(path): \(error.description)")
            }
        }
        // The environment over the file.
        if let directory = environment.string("dataDir") { configuration.dataDirectory = directory }
        if let listen = environment.string("listen") {
            (configuration.host, configuration.port) = try parseListen(listen, key: environment.variable("listen"))
        }
        if let tokens = environment.string("operatorTokens") {
            configuration.operatorTokens = tokens.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
                !$0.isEmpty
            }
        }
        if let path = environment.string("kubeconfig") { configuration.kubeconfigPath = path }
        let certificate = environment.string("tlsCertificate")
        let key = environment.string("tlsKey")
        if certificate != nil || key != nil {
            configuration.tlsCertificatePath = certificate
            configuration.tlsKeyPath = key
        }
        // Flags over both.
        if let directory = flags.dataDir { configuration.dataDirectory = directory }
        if let listen = flags.listen { (configuration.host, configuration.port) = try parseListen(listen) }
        if !flags.tokens.isEmpty { configuration.operatorTokens = flags.tokens }
        if let path = flags.kubeconfig { configuration.kubeconfigPath = path }
        if flags.tlsCertificate != nil || flags.tlsKey != nil {
            configuration.tlsCertificatePath = flags.tlsCertificate
            configuration.tlsKeyPath = flags.tlsKey
        }
        return configuration
    }
}
