import EMPModel
public import Foundation

/// A pool's host provider as configured (`hostProviders.<pool>`), checked at start; the control plane builds the
/// provider from it.
public struct HostProviderConfiguration: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case ec2(EC2Machines.Settings)
        case command(CommandMachines.Settings)
    }

    public var kind: Kind
    public var joinTimeout: TimeInterval = 900
    public var emptyHostAfter: TimeInterval = 600
    public var userData: AgentUserData

    public init(kind: Kind, userData: AgentUserData) {
        self.kind = kind
        self.userData = userData
    }
}

/// `hostProviders.<pool>:` in the configuration file (docs/operations.md, "Host providers").
public struct HostProviderSection: Decodable, Sendable {
    public var type: String?
    public var controlPlaneURL: String?
    public var joinTimeoutSeconds: Double?
    public var emptyHostAfterSeconds: Double?
    public var install: [String]?
    public var agent: [String: String]?
    // EC2
    public var region: String?
    public var endpoint: String?
    public var instanceType: String?
    public var ami: String?
    public var subnets: [String]?
    public var securityGroups: [String]?
    public var keyName: String?
    public var instanceProfile: String?
    public var tags: [String: String]?
    public var market: String?
    public var maxPrice: String?
    public var profile: String?
    // command
    public var launch: String?
    public var terminate: String?
    public var status: String?
    public var timeoutSeconds: Double?

    static let commonKeys: Set<String> = [
        "type", "controlPlaneURL", "joinTimeoutSeconds", "emptyHostAfterSeconds", "install", "agent",
    ]
    static let ec2Keys: Set<String> = [
        "region", "endpoint", "instanceType", "ami", "subnets", "securityGroups", "keyName", "instanceProfile", "tags", "market",
        "maxPrice", "profile",
    ]
    static let commandKeys: Set<String> = ["launch", "terminate", "status", "timeoutSeconds", "instanceType"]

    /// Refuses keys the section's type does not know (a typo would otherwise fall back to a default silently).
    static func checkKeys(_ mapping: [String: Any], pool: String) throws {
        let type = mapping["type"] as? String
        let allowed = commonKeys.union(type == "command" ? commandKeys : type == "ec2" ? ec2Keys : ec2Keys.union(commandKeys))
        if let unknown = Set(mapping.keys).subtracting(allowed).sorted().first {
            throw ConfigurationError("hostProviders.\(pool): unknown key \"\(unknown)\" for type \(type ?? "(none)")")
        }
    }

    /// The checked configuration; errors name `hostProviders.<pool>.<key>`.
    func configuration(pool: String) throws -> HostProviderConfiguration {
        let key = { (name: String) in "hostProviders.\(pool).\(name)" }
        guard let url = controlPlaneURL, let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil
        else {
            throw ConfigurationError(
                "\(key("controlPlaneURL")) must be the http(s) URL agents reach the control plane at (got \(controlPlaneURL ?? "nothing"))")
        }
        var userData = AgentUserData(controlPlaneURL: url)
        if let install {
            guard !install.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) else {
                throw ConfigurationError("\(key("install")) must not contain empty commands")
            }
            userData.install = install
        }
        if let agent {
            if let reserved = agent.keys.first(where: { ["controlPlane", "joinToken"].contains($0) }) {
                throw ConfigurationError("\(key("agent")).\(reserved) is set by the control plane for each launch")
            }
            userData.agentSettings = agent
        }
        let kind: HostProviderConfiguration.Kind
        switch type {
        case "ec2":
            kind = .ec2(try ec2Settings(key))
            userData.interruptionURL = "http://169.254.169.254/latest/meta-data/spot/instance-action"
        case "command":
            kind = .command(try commandSettings(key))
        default:
            throw ConfigurationError("\(key("type")) must be ec2 or command (got \(type ?? "nothing"))")
        }
        var configuration = HostProviderConfiguration(kind: kind, userData: userData)
        if let seconds = joinTimeoutSeconds {
            guard (60...86_400).contains(seconds) else {
                throw ConfigurationError("\(key("joinTimeoutSeconds")) must be between 60 and 86400 (got \(seconds))")
            }
            configuration.joinTimeout = seconds
        }
        if let seconds = emptyHostAfterSeconds {
            guard (0...86_400).contains(seconds) else {
                throw ConfigurationError("\(key("emptyHostAfterSeconds")) must be between 0 and 86400 (got \(seconds))")
            }
            configuration.emptyHostAfter = seconds
        }
        return configuration
    }

    /// `us-east-1`, `eu-central-2`, `ap-southeast-4`, `us-gov-west-1`, `cn-north-1`.
    static func isRegion(_ text: String) -> Bool {
        text.wholeMatch(of: /[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}/) != nil
    }

    func ec2Settings(_ key: (String) -> String) throws -> EC2Machines.Settings {
        guard let region, Self.isRegion(region) else {
            throw ConfigurationError("\(key("region")) must be an AWS region such as us-east-1 (got \(region ?? "nothing"))")
        }
        guard let ami, ami.wholeMatch(of: /ami-[0-9a-f]{8,17}/) != nil else {
            throw ConfigurationError("\(key("ami")) must be an AMI id such as ami-0123456789abcdef0 (got \(ami ?? "nothing"))")
        }
        guard let subnets, !subnets.isEmpty else {
            throw ConfigurationError("\(key("subnets")) must list at least one subnet (several spread hosts across zones)")
        }
        if let bad = subnets.first(where: { $0.wholeMatch(of: /subnet-[0-9a-f]{8,17}/) == nil }) {
            throw ConfigurationError("\(key("subnets")): \(bad) is not a subnet id (subnet-…)")
        }
        guard Set(subnets).count == subnets.count else { throw ConfigurationError("\(key("subnets")) lists a subnet twice") }
        var settings = EC2Machines.Settings(region: region, imageID: ami, subnets: subnets)
        if let endpoint {
            guard let url = URL(string: endpoint), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ConfigurationError("\(key("endpoint")) must be an http(s) URL (got \(endpoint))")
            }
            settings.endpoint = url
        }
        if let instanceType {
            guard instanceType.wholeMatch(of: /[a-z0-9-]+\.[a-z0-9-]+/) != nil else {
                throw ConfigurationError("\(key("instanceType")) must be an instance type such as m5.metal (got \(instanceType))")
            }
            settings.instanceType = instanceType
        }
        if let bad = securityGroups?.first(where: { $0.wholeMatch(of: /sg-[0-9a-f]{8,17}/) == nil }) {
            throw ConfigurationError("\(key("securityGroups")): \(bad) is not a security group id (sg-…)")
        }
        settings.securityGroups = securityGroups ?? []
        settings.keyName = keyName
        settings.instanceProfile = instanceProfile
        if let reserved = tags?.keys.first(where: { $0.hasPrefix("emp.pf9.io/") || $0.hasPrefix("aws:") }) {
            throw ConfigurationError("\(key("tags")).\(reserved): emp.pf9.io/ and aws: tags are set by EMP and AWS")
        }
        settings.tags = tags ?? [:]
        switch market ?? "on-demand" {
        case "on-demand": settings.spot = false
        case "spot": settings.spot = true
        default: throw ConfigurationError("\(key("market")) must be on-demand or spot (got \(market ?? ""))")
        }
        if let maxPrice {
            guard settings.spot else { throw ConfigurationError("\(key("maxPrice")) applies to market: spot only") }
            guard let price = Double(maxPrice), price > 0, price.isFinite else {
                throw ConfigurationError("\(key("maxPrice")) must be a price in dollars per hour such as \"1.50\" (got \(maxPrice))")
            }
            settings.maxPrice = maxPrice
        }
        settings.profile = profile
        return settings
    }

    func commandSettings(_ key: (String) -> String) throws -> CommandMachines.Settings {
        func executable(_ name: String, _ path: String?) throws -> String {
            guard let path, !path.isEmpty else { throw ConfigurationError("\(key(name)) must name the executable to run") }
            guard path.hasPrefix("/") else { throw ConfigurationError("\(key(name)) must be an absolute path (got \(path))") }
            var directory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &directory), !directory.boolValue else {
                throw ConfigurationError("\(key(name)): \(path) does not exist")
            }
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw ConfigurationError("\(key(name)): \(path) is not executable (chmod +x)")
            }
            return path
        }
        var settings = CommandMachines.Settings(
            launch: try executable("launch", launch), terminate: try executable("terminate", terminate))
        if let status { settings.status = try executable("status", status) }
        if let seconds = timeoutSeconds {
            guard (1...3600).contains(seconds) else {
                throw ConfigurationError("\(key("timeoutSeconds")) must be between 1 and 3600 (got \(seconds))")
            }
            settings.timeout = .milliseconds(Int64(seconds * 1000))
        }
        settings.instanceType = instanceType
        return settings
    }
}
