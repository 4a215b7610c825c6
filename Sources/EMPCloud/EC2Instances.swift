public import Foundation

/// An EC2 instance as the host provider needs to know it.
public struct EC2Instance: Sendable, Equatable {
    public var id: String
    /// `pending`, `running`, `shutting-down`, `terminated`, `stopping`, `stopped`.
    public var state: String
    public var instanceType: String
    public var zone: String?
    public var subnet: String?
    public var launchTime: Date?
    /// True for a spot instance.
    public var spot: Bool
    public var tags: [String: String]

    /// True once the instance is gone or going for good.
    public var isGone: Bool { state == "terminated" || state == "shutting-down" }

    init(_ item: XMLValue) {
        id = item.text("instanceId") ?? ""
        state = item.text("instanceState", "name") ?? item.text("currentState", "name") ?? "unknown"
        instanceType = item.text("instanceType") ?? ""
        zone = item.text("placement", "availabilityZone")
        subnet = item.text("subnetId")
        launchTime = item.text("launchTime").flatMap { try? Date($0, strategy: .iso8601) }
        spot = item.text("instanceLifecycle") == "spot"
        tags = Dictionary(
            item.items("tagSet").compactMap { tag in tag.text("key").map { ($0, tag.text("value") ?? "") } },
            uniquingKeysWith: { a, _ in a })
    }
}

/// What `RunInstances` is asked for: one instance.
public struct EC2LaunchRequest: Sendable, Equatable {
    public var imageID: String
    public var instanceType: String
    public var subnet: String?
    public var securityGroups: [String] = []
    public var keyName: String?
    /// An instance profile name, or its ARN.
    public var instanceProfile: String?
    /// Up to 64 KiB before base64; sent base64-encoded.
    public var userData: String?
    public var tags: [String: String] = [:]
    /// Spot instead of on-demand, with an optional maximum hourly price.
    public var spot = false
    public var maxPrice: String?
    /// Makes a repeated call return the first call's instance instead of launching another (EC2 idempotency).
    public var clientToken: String

    public init(imageID: String, instanceType: String, clientToken: String) {
        self.imageID = imageID
        self.instanceType = instanceType
        self.clientToken = clientToken
    }

    var parameters: [(String, String)] {
        var out: [(String, String)] = [
            ("ImageId", imageID), ("InstanceType", instanceType), ("MinCount", "1"), ("MaxCount", "1"), ("ClientToken", clientToken),
        ]
        if let subnet { out.append(("SubnetId", subnet)) }
        for (index, group) in securityGroups.enumerated() { out.append(("SecurityGroupId.\(index + 1)", group)) }
        if let keyName { out.append(("KeyName", keyName)) }
        if let instanceProfile {
            out.append((instanceProfile.hasPrefix("arn:") ? "IamInstanceProfile.Arn" : "IamInstanceProfile.Name", instanceProfile))
        }
        if let userData { out.append(("UserData", Data(userData.utf8).base64EncodedString())) }
        if !tags.isEmpty {
            out.append(("TagSpecification.1.ResourceType", "instance"))
            for (index, (key, value)) in tags.sorted(by: { $0.key < $1.key }).enumerated() {
                out.append(("TagSpecification.1.Tag.\(index + 1).Key", key))
                out.append(("TagSpecification.1.Tag.\(index + 1).Value", value))
            }
        }
        if spot {
            out.append(("InstanceMarketOptions.MarketType", "spot"))
            out.append(("InstanceMarketOptions.SpotOptions.SpotInstanceType", "one-time"))
            out.append(("InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior", "terminate"))
            if let maxPrice { out.append(("InstanceMarketOptions.SpotOptions.MaxPrice", maxPrice)) }
        }
        return out
    }
}

extension EC2Client {
    /// `RunInstances` for one instance.
    public func runInstance(_ request: EC2LaunchRequest) async throws -> EC2Instance {
        let answer = try await call("RunInstances", request.parameters)
        guard let item = answer.items("instancesSet").first else {
            throw EC2Error(code: "MalformedResponse", message: "RunInstances answered without an instance", status: 200)
        }
        return EC2Instance(item)
    }

    /// `DescribeInstances` by id and/or filters (`("tag:emp.pf9.io/launch", ["l-1"])`), following `nextToken`.
    public func describeInstances(ids: [String] = [], filters: [(String, [String])] = []) async throws -> [EC2Instance] {
        var parameters: [(String, String)] = []
        for (index, id) in ids.enumerated() { parameters.append(("InstanceId.\(index + 1)", id)) }
        for (index, filter) in filters.enumerated() {
            parameters.append(("Filter.\(index + 1).Name", filter.0))
            for (valueIndex, value) in filter.1.enumerated() { parameters.append(("Filter.\(index + 1).Value.\(valueIndex + 1)", value)) }
        }
        var instances: [EC2Instance] = []
        var next: String?
        repeat {
            let answer = try await call("DescribeInstances", parameters + (next.map { [("NextToken", $0)] } ?? []))
            for reservation in answer.items("reservationSet") {
                instances += reservation.items("instancesSet").map(EC2Instance.init)
            }
            next = answer.text("nextToken").flatMap { $0.isEmpty ? nil : $0 }
        } while next != nil
        return instances
    }

    /// `TerminateInstances`; returns each instance's state after the call.
    @discardableResult
    public func terminateInstances(_ ids: [String]) async throws -> [String: String] {
        guard !ids.isEmpty else { return [:] }
        let answer = try await call("TerminateInstances", ids.enumerated().map { ("InstanceId.\($0.offset + 1)", $0.element) })
        var states: [String: String] = [:]
        for item in answer.items("instancesSet") {
            if let id = item.text("instanceId") { states[id] = item.text("currentState", "name") ?? "unknown" }
        }
        return states
    }

    /// The user data an instance was launched with, decoded (`DescribeInstanceAttribute`).
    public func userData(of id: String) async throws -> String? {
        let answer = try await call("DescribeInstanceAttribute", [("InstanceId", id), ("Attribute", "userData")])
        guard let encoded = answer.text("userData", "value"), let data = Data(base64Encoded: encoded) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
