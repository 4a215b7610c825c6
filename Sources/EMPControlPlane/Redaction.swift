import EMPModel

// Secrets must never reach a log line at any level. ServiceLifecycle logs each service it starts with
// `"\(service)"`, and Swift's default description of a struct prints every stored property, nested ones included
// (the configuration's operator tokens, the Kubernetes client's credentials). These descriptions name only what is
// safe to show.

extension ControlPlaneConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "ControlPlaneConfiguration(listen: \(host):\(port), dataDirectory: \(dataDirectory), operatorTokens: "
            + "\(operatorTokens.count) redacted, TLS: \(tlsCertificatePath != nil), kubeconfig: \(kubeconfigPath ?? "none"))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["summary": description]) }
}

extension HostHealth: CustomStringConvertible {
    public var description: String { "HostHealth" }
}

extension RebalancerService: CustomStringConvertible {
    public var description: String { "RebalancerService" }
}

extension Autoscaler: CustomStringConvertible {
    public var description: String { "Autoscaler" }
}
