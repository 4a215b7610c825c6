import Foundation

/// How an EVM's kubelet joins the pool's cluster: the API endpoint, the cluster CA and a bootstrap token
/// (TLS bootstrapping). Written into each EVM's cloud-init seed by the agent.
public struct KubeletJoin: Sendable, Hashable, Codable {
    /// The API server, `https://host:port`.
    public var apiServer: String
    /// The cluster CA certificate(s), PEM.
    public var caCertificate: String
    /// A bootstrap token, `<6 chars>.<16 chars>` of `[a-z0-9]` (`kubeadm token create`).
    public var bootstrapToken: String
    /// Extra kubelet flags appended after EMP's own (`--max-pods=58`); EMP's taint and labels always win.
    public var extraArgs: [String]
    /// The cluster DNS Service's IPs for the pods' resolv.conf (KubeletConfiguration `clusterDNS`). nil: the control
    /// plane fills in the `kube-system/kube-dns` Service's clusterIP when it can read it, as kubeadm does.
    public var clusterDNS: [String]?
    /// The cluster's DNS domain (`clusterDomain`). Default `cluster.local`.
    public var clusterDomain: String?
    /// The container runtime's CRI socket (`containerRuntimeEndpoint`). Default containerd's,
    /// `unix:///run/containerd/containerd.sock`; CRI-O's is `unix:///var/run/crio/crio.sock`.
    public var containerRuntimeEndpoint: String?

    public static let defaultClusterDomain = "cluster.local"
    public static let defaultContainerRuntimeEndpoint = "unix:///run/containerd/containerd.sock"

    public init(
        apiServer: String, caCertificate: String, bootstrapToken: String, extraArgs: [String] = [], clusterDNS: [String]? = nil,
        clusterDomain: String? = nil, containerRuntimeEndpoint: String? = nil
    ) {
        self.apiServer = apiServer
        self.caCertificate = caCertificate
        self.bootstrapToken = bootstrapToken
        self.extraArgs = extraArgs
        self.clusterDNS = clusterDNS
        self.clusterDomain = clusterDomain
        self.containerRuntimeEndpoint = containerRuntimeEndpoint
    }

    enum CodingKeys: String, CodingKey {
        case apiServer, caCertificate, bootstrapToken, extraArgs, clusterDNS, clusterDomain, containerRuntimeEndpoint
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        apiServer = try container.decode(String.self, forKey: .apiServer)
        caCertificate = try container.decode(String.self, forKey: .caCertificate)
        bootstrapToken = try container.decode(String.self, forKey: .bootstrapToken)
        extraArgs = try container.decodeIfPresent([String].self, forKey: .extraArgs) ?? []
        clusterDNS = try container.decodeIfPresent([String].self, forKey: .clusterDNS)
        clusterDomain = try container.decodeIfPresent(String.self, forKey: .clusterDomain)
        containerRuntimeEndpoint = try container.decodeIfPresent(String.self, forKey: .containerRuntimeEndpoint)
    }

    /// The token's public half (`abcdef`), safe to show.
    public var tokenID: String { String(bootstrapToken.prefix { $0 != "." }) }

    /// The same join with the token's secret half hidden, for API answers (`abcdef.****************`).
    public var redacted: KubeletJoin {
        var copy = self
        copy.bootstrapToken = "\(tokenID).\(String(repeating: "*", count: 16))"
        return copy
    }

    /// Throws a ``ValidationError`` naming the field (`apiServer`, `caCertificate`, `bootstrapToken`, `extraArgs`).
    public func validate() throws {
        try InputLimits.text(apiServer, max: InputLimits.shortText, field: "apiServer")
        try InputLimits.text(caCertificate, max: InputLimits.pemText, field: "caCertificate")
        try Check.require(
            extraArgs.count <= InputLimits.extraArgs, "extraArgs",
            "must hold at most \(InputLimits.extraArgs) flags (got \(extraArgs.count))")
        let url = URLComponents(string: apiServer)
        try Check.require(
            url?.scheme == "https" && !(url?.host ?? "").isEmpty,
            "apiServer",
            "must be an https URL such as https://10.0.0.1:6443 (got \"\(apiServer)\")"
        )
        try Check.require(
            caCertificate.contains("-----BEGIN CERTIFICATE-----") && caCertificate.contains("-----END CERTIFICATE-----"),
            "caCertificate",
            "must be a PEM certificate (-----BEGIN CERTIFICATE-----)"
        )
        try Check.require(
            Self.isBootstrapToken(bootstrapToken),
            "bootstrapToken",
            "must be a bootstrap token: 6 and 16 lowercase letters or digits joined by '.' (kubeadm token create)"
        )
        for (index, address) in (clusterDNS ?? []).enumerated() {
            try Check.require(
                Self.isIPAddress(address), "clusterDNS[\(index)]", "must be an IP address such as 10.96.0.10 (got \"\(address)\")")
        }
        try Check.require((clusterDNS ?? []).count <= 3, "clusterDNS", "must hold at most 3 addresses (resolv.conf's limit)")
        if let clusterDomain {
            try Check.require(clusterDomain.count <= 253, "clusterDomain", "must be at most 253 characters")
            for label in clusterDomain.split(separator: ".", omittingEmptySubsequences: false) {
                try DNSLabel.validate(String(label), field: "clusterDomain")
            }
        }
        if let endpoint = containerRuntimeEndpoint {
            try InputLimits.text(endpoint, max: InputLimits.shortText, field: "containerRuntimeEndpoint")
            try Check.require(
                endpoint.hasPrefix("unix:///") && !endpoint.contains(where: { $0.isWhitespace }), "containerRuntimeEndpoint",
                "must be a unix socket URL such as unix:///run/containerd/containerd.sock (got \"\(endpoint)\")")
        }
        for (index, argument) in extraArgs.enumerated() {
            try InputLimits.text(argument, max: InputLimits.shortText, field: "extraArgs[\(index)]")
            try Check.require(
                argument.hasPrefix("--") && !argument.contains(where: \.isNewline),
                "extraArgs[\(index)]",
                "must be one kubelet flag starting with -- (got \"\(argument)\")"
            )
            let name = String(argument.prefix { $0 != "=" })
            try Check.require(
                !Self.reservedFlags.contains(name),
                "extraArgs[\(index)]",
                "\(name) is set by EMP and cannot be overridden"
            )
        }
    }

    /// Flags the seed sets itself, or that would override its configuration: overriding them would drop the EMP
    /// taint or break the join.
    public static let reservedFlags: Set<String> = [
        "--register-with-taints", "--node-labels", "--bootstrap-kubeconfig", "--kubeconfig", "--hostname-override", "--config",
    ]

    /// An IPv4 or IPv6 address (`inet_pton`).
    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    static func isBootstrapToken(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        let alphabet = { (c: Character) in c.isASCII && (c.isLowercase || c.isNumber) }
        return parts.count == 2 && parts[0].count == 6 && parts[1].count == 16
            && parts.allSatisfy { $0.allSatisfy(alphabet) }
    }
}
