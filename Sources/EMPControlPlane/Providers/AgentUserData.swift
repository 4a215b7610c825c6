import Foundation

/// The cloud-init document a launched machine boots with: it writes `/etc/emp/agent.yaml` (mode 0600: it holds the
/// launch's one-time join token), runs the operator's install commands and starts `emp-agent`.
public struct AgentUserData: Sendable, Equatable {
    /// Where the agent reaches the control plane (`https://emp.example.com:8443`).
    public var controlPlaneURL: String
    /// Shell commands that install `emp-agent` (default: the Debian package from the operator's apt repository).
    public var install: [String] = ["apt-get update", "apt-get install -y emp-agent"]
    /// Further agent settings, as `key: value` lines of agent.yaml (kubeconfig, libvirtURI, …).
    public var agentSettings: [String: String] = [:]
    /// The spot notice URL for the agent (EC2's instance metadata), when the provider is EC2.
    public var interruptionURL: String?

    public init(controlPlaneURL: String) { self.controlPlaneURL = controlPlaneURL }

    /// The document for one launch. The token is the only secret in it.
    public func render(launchID: String, poolID: String, joinToken: String) -> String {
        var agent: [(String, String)] = [("controlPlane", controlPlaneURL), ("joinToken", joinToken)]
        if let interruptionURL { agent.append(("interruptionURL", interruptionURL)) }
        agent += agentSettings.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var lines = [
            "#cloud-config",
            "# emp-control-plane: launch \(launchID) of pool \(poolID)",
            "write_files:",
            "  - path: /etc/emp/agent.yaml",
            "    owner: root:root",
            "    permissions: '0600'",
            "    content: |",
        ]
        lines += agent.map { "      \($0.0): \(Self.quoted($0.1))" }
        lines.append("runcmd:")
        lines += install.map { "  - \(Self.quoted($0))" }
        lines.append("  - [systemctl, enable, --now, emp-agent]")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
