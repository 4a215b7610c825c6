import EMPModel
import Foundation
import Libvirt
import Yams

/// `emp-agent --config FILE`: the YAML form of ``AgentConfiguration`` (agent/agent.example.yaml); flags override it.
/// The same optional form carries what the command line gave.
/// Unknown keys are refused so typos do not silently fall back to defaults.
public struct AgentConfigurationFile: Decodable, Sendable {
    public var controlPlane: String?
    public var joinToken: String?
    public var hostID: String?
    public var libvirtURI: String?
    public var stateDir: String?
    public var domainType: String?
    public var reportIntervalSeconds: Double?
    public var pollWaitSeconds: Int?
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    public var network: String?
    /// kubeconfig for Node pre-registration.
    public var kubeconfig: String?
    /// Seed ISO tool (xorriso, genisoimage).
    public var isoTool: String?
    public var migrationURI: String?
    public var migrationAddress: String?
    public var interruptionURL: String?
    public var imageDir: String?

    /// Nothing set: the command line's settings start here (``AgentConfiguration/resolve(flags:configFile:environment:)``).
    public init() {}

    static let keys: Set<String> = [
        "controlPlane", "joinToken", "hostID", "libvirtURI", "stateDir", "domainType", "reportIntervalSeconds",
        "pollWaitSeconds", "kernel", "initrd", "cmdline", "network", "kubeconfig", "isoTool", "migrationURI", "migrationAddress",
        "interruptionURL", "imageDir",
    ]

    /// Reads and checks `path`; errors name the file and the key at fault.
    public static func load(_ path: String) throws -> AgentConfigurationFile {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AgentError("cannot read configuration file \(path)")
        }
        do {
            if let mapping = try Yams.load(yaml: text) as? [String: Any],
                let unknown = Set(mapping.keys).subtracting(keys).sorted().first
            {
                throw AgentError("\(path): unknown key \"\(unknown)\"")
            }
            let file = try YAMLDecoder().decode(AgentConfigurationFile.self, from: text)
            if let type = file.domainType, DomainSpec.DomainType(rawValue: type) == nil {
                throw AgentError("\(path): domainType must be kvm, qemu or test (got \"\(type)\")")
            }
            return file
        } catch let error as AgentError {
            throw error
        } catch let error as DecodingError {
            throw AgentError("\(path): \(error.fieldDescription)")
        } catch {
            throw AgentError("\(path): not valid YAML: \(error)")
        }
    }
}
