public import EMPModel
import Foundation
import Yams

/// The cloud-init NoCloud seed of one EVM: `meta-data` (instance id, hostname) and `user-data` (a
/// `#cloud-config` that writes the kubelet's bootstrap kubeconfig, cluster CA, configuration and systemd
/// drop-in, then starts the kubelet), so the EVM joins as the Node the agent pre-registered, with the EMP
/// taint and labels from its first registration. Pure: ``SeedImage`` writes it to an ISO.
///
/// The image needs cloud-init, a container runtime and `/usr/bin/kubelet` (kubeadm's node images have them).
public struct CloudInitSeed: Sendable, Hashable {
    public let evm: EVM
    public let hostID: String
    /// nil: a seed that only names the machine (no kubelet join configured for the pool).
    public let kubelet: KubeletJoin?

    public init(evm: EVM, hostID: String, kubelet: KubeletJoin?) {
        self.evm = evm
        self.hostID = hostID
        self.kubelet = kubelet
    }

    /// Where the files land in the guest.
    public enum Path {
        public static let caCertificate = "/etc/kubernetes/pki/ca.crt"
        public static let bootstrapKubeconfig = "/etc/kubernetes/bootstrap-kubelet.conf"
        public static let kubeconfig = "/var/lib/kubelet/kubeconfig"
        public static let kubeletConfig = "/etc/kubernetes/kubelet-config.yaml"
        public static let dropIn = "/etc/systemd/system/kubelet.service.d/20-emp.conf"
    }

    /// The seed's files by name: `meta-data`, `user-data`.
    public func files() throws -> [String: String] {
        ["meta-data": try metaData(), "user-data": try userData()]
    }

    public func metaData() throws -> String {
        try serialize(node: ["instance-id": quoted(evm.id), "local-hostname": quoted(evm.nodeName)])
    }

    public func userData() throws -> String {
        var config: [(Node, Node)] = [
            ("hostname", quoted(evm.nodeName)),
            ("preserve_hostname", flag(false)),
        ]
        if let kubelet {
            config.append(("write_files", Node(try writeFiles(kubelet))))
            config.append(
                (
                    "runcmd",
                    [
                        ["systemctl", "daemon-reload"],
                        ["systemctl", "enable", "--now", "kubelet"],
                    ]
                )
            )
        }
        return "#cloud-config\n" + (try serialize(node: Node(config)))
    }

    /// The kubelet's command line: EMP's flags first, then the pool's extra flags.
    public func kubeletArguments(_ join: KubeletJoin) -> [String] {
        let labels = NodeRegistrar.labels(for: evm, hostID: hostID).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return [
            "--bootstrap-kubeconfig=\(Path.bootstrapKubeconfig)",
            "--kubeconfig=\(Path.kubeconfig)",
            "--config=\(Path.kubeletConfig)",
            "--hostname-override=\(evm.nodeName)",
            "--node-labels=\(labels)",
        ] + join.extraArgs
    }

    // MARK: Files

    private func writeFiles(_ join: KubeletJoin) throws -> [Node] {
        [
            file(Path.caCertificate, mode: "0644", join.caCertificate),
            file(Path.bootstrapKubeconfig, mode: "0600", try bootstrapKubeconfig(join)),
            file(Path.kubeletConfig, mode: "0644", try kubeletConfiguration(join)),
            file(Path.dropIn, mode: "0644", dropIn(join)),
        ]
    }

    private func file(_ path: String, mode: String, _ content: String) -> Node {
        ["path": quoted(path), "permissions": quoted(mode), "owner": quoted("root:root"), "content": literal(content)]
    }

    func bootstrapKubeconfig(_ join: KubeletJoin) throws -> String {
        try serialize(node: [
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                ["name": "default", "cluster": ["server": quoted(join.apiServer), "certificate-authority": quoted(Path.caCertificate)]]
            ],
            "users": [["name": "kubelet-bootstrap", "user": ["token": quoted(join.bootstrapToken)]]],
            "contexts": [["name": "bootstrap", "context": ["cluster": "default", "user": "kubelet-bootstrap"]]],
            "current-context": "bootstrap",
        ])
    }

    /// Webhook authentication and authorization (as kubeadm sets them), systemd cgroups, rotating client
    /// certificates: the kubelet trades the bootstrap token for its own certificate.
    /// The kubelet's configuration file: authentication, the systemd cgroup driver, the container runtime, cluster
    /// DNS, and the EMP taint in `registerWithTaints` (the `--register-with-taints` flag is deprecated).
    func kubeletConfiguration(_ join: KubeletJoin) throws -> String {
        var config: [(Node, Node)] = [
            ("apiVersion", "kubelet.config.k8s.io/v1beta1"),
            ("kind", "KubeletConfiguration"),
            (
                "authentication",
                [
                    "anonymous": ["enabled": flag(false)],
                    "webhook": ["enabled": flag(true)],
                    "x509": ["clientCAFile": quoted(Path.caCertificate)],
                ]
            ),
            ("authorization", ["mode": "Webhook"]),
            ("cgroupDriver", "systemd"),
            ("containerRuntimeEndpoint", quoted(join.containerRuntimeEndpoint ?? KubeletJoin.defaultContainerRuntimeEndpoint)),
            ("clusterDomain", quoted(join.clusterDomain ?? KubeletJoin.defaultClusterDomain)),
        ]
        if let dns = join.clusterDNS, !dns.isEmpty { config.append(("clusterDNS", Node(dns.map { quoted($0) }))) }
        config.append(
            (
                "registerWithTaints",
                [["key": quoted(Profile.taintKey), "value": quoted(Profile.taintValue), "effect": quoted(Profile.taintEffect)]]
            ))
        config.append(("rotateCertificates", flag(true)))
        return try serialize(node: Node(config))
    }

    /// Replaces the packaged unit's command line with EMP's, so the taint is registered with the Node.
    func dropIn(_ join: KubeletJoin) -> String {
        let arguments = kubeletArguments(join).map(Self.systemdQuoted).joined(separator: " ")
        return "[Service]\nExecStart=\nExecStart=/usr/bin/kubelet \(arguments)\n"
    }

    /// One systemd command-line word: quoted when it holds spaces or quotes, `%` doubled (specifier escape).
    static func systemdQuoted(_ word: String) -> String {
        let escaped = word.replacingOccurrences(of: "%", with: "%%")
        guard escaped.contains(where: { $0 == " " || $0 == "\"" || $0 == "\\" || $0 == "'" }) else { return escaped }
        let inner = escaped.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(inner)\""
    }

    // MARK: YAML

    private func quoted(_ text: String) -> Node { Node(text, .implicit, .doubleQuoted) }

    /// A YAML boolean (Yams' `Node` has no boolean literal).
    private func flag(_ value: Bool) -> Node { Node(value ? "true" : "false") }

    private func literal(_ text: String) -> Node { Node(text, .implicit, .literal) }
}
