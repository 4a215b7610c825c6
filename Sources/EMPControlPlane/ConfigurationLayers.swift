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

extension ControlPlaneFlags {
    /// The environment's settings in the flags' form (`EMP_CONTROL_PLANE_OPERATOR_TOKENS` is comma-separated).
    init(environment: EnvironmentLayer) {
        dataDir = environment.string("dataDir")
        listen = environment.string("listen")
        tokens = (environment.string("operatorTokens") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        tlsCertificate = environment.string("tlsCertificate")
        tlsKey = environment.string("tlsKey")
        kubeconfig = environment.string("kubeconfig")
    }
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
        try configuration.apply(ControlPlaneFlags(environment: environment), listenKey: environment.variable("listen"))
        try configuration.apply(flags, listenKey: "--listen")
        return configuration
    }

    /// Puts every setting `layer` gives over this configuration; `listenKey` names the layer's listen setting in errors.
    private mutating func apply(_ layer: ControlPlaneFlags, listenKey: String) throws {
        if let directory = layer.dataDir { dataDirectory = directory }
        if let listen = layer.listen { (host, port) = try Self.parseListen(listen, key: listenKey) }
        if !layer.tokens.isEmpty { operatorTokens = layer.tokens }
        if let path = layer.kubeconfig { kubeconfigPath = path }
        // Certificate and key go together: one given replaces both.
        if layer.tlsCertificate != nil || layer.tlsKey != nil {
            tlsCertificatePath = layer.tlsCertificate
            tlsKeyPath = layer.tlsKey
        }
    }
}
