public import EMPCloud
public import EMPModel
public import Foundation

/// EC2 bare-metal instances (m5.metal by default) through the EC2 Query API: one `RunInstances` per launch with
/// the launch id as client token and tag, spread over the configured subnets.
public struct EC2Machines: MachineProvider {
    /// `hostProviders.<pool>` with `type: ec2`, checked.
    public struct Settings: Sendable, Equatable {
        public var region: String
        public var endpoint: URL?
        public var instanceType = "m5.metal"
        public var imageID: String
        public var subnets: [String]
        public var securityGroups: [String] = []
        public var keyName: String?
        public var instanceProfile: String?
        public var tags: [String: String] = [:]
        public var spot = false
        public var maxPrice: String?
        /// The shared credentials file's profile; nil for `AWS_PROFILE` or `default`.
        public var profile: String?

        public init(region: String, imageID: String, subnets: [String]) {
            self.region = region
            self.imageID = imageID
            self.subnets = subnets
        }
    }

    /// The tag every instance carries with its launch id; how a restarted control plane finds what it launched.
    public static let launchTag = "emp.pf9.io/launch"
    public static let poolTag = "emp.pf9.io/pool"

    public let settings: Settings
    let client: EC2Client

    public init(settings: Settings, client: EC2Client) {
        self.settings = settings
        self.client = client
    }

    public var kind: String { "ec2" }
    public var placements: [String] { settings.subnets }
    public var instanceType: String? { settings.instanceType }
    public var lifecycle: HostLifecycle { settings.spot ? .spot : .onDemand }

    public func launch(_ order: MachineOrder) async throws(MachineFailure) -> Machine {
        // One client token per launch and subnet: a retry of the same call returns the first instance, and
        // trying the next subnet after a capacity error is a new request.
        let subnetIndex = order.placement.flatMap { settings.subnets.firstIndex(of: $0) } ?? 0
        var request = EC2LaunchRequest(
            imageID: settings.imageID, instanceType: settings.instanceType, clientToken: "\(order.launchID)-\(subnetIndex)")
        request.subnet = order.placement
        request.securityGroups = settings.securityGroups
        request.keyName = settings.keyName
        request.instanceProfile = settings.instanceProfile
        request.userData = order.userData
        request.tags = settings.tags.merging(
            [Self.launchTag: order.launchID, Self.poolTag: order.poolID, "Name": "emp-\(order.poolID)-\(order.launchID)"]) { $1 }
        request.spot = settings.spot
        request.maxPrice = settings.maxPrice
        do {
            return Self.machine(try await client.runInstance(request))
        } catch {
            throw Self.failure(error, doing: "RunInstances in \(order.placement ?? "the default subnet")")
        }
    }

    public func find(launchID: String) async throws(MachineFailure) -> Machine? {
        do {
            let found = try await client.describeInstances(filters: [("tag:\(Self.launchTag)", [launchID])])
            return (found.first { !$0.isGone } ?? found.first).map(Self.machine)
        } catch {
            throw Self.failure(error, doing: "DescribeInstances")
        }
    }

    public func describe(_ ids: [String]) async throws(MachineFailure) -> [String: Machine] {
        guard !ids.isEmpty else { return [:] }
        do {
            let found = try await client.describeInstances(filters: [("instance-id", ids)])
            return Dictionary(found.map { ($0.id, Self.machine($0)) }, uniquingKeysWith: { a, _ in a })
        } catch {
            throw Self.failure(error, doing: "DescribeInstances")
        }
    }

    public func terminate(_ id: String, launchID: String) async throws(MachineFailure) {
        do {
            try await client.terminateInstances([id])
        } catch let error as EC2Error where error.code == "InvalidInstanceID.NotFound" {
            return  // already gone
        } catch {
            throw Self.failure(error, doing: "TerminateInstances \(id)")
        }
    }

    static func machine(_ instance: EC2Instance) -> Machine {
        Machine(
            id: instance.id, state: instance.state, instanceType: instance.instanceType, zone: instance.zone, placement: instance.subnet,
            spot: instance.spot, isGone: instance.isGone)
    }

    static func failure(_ error: any Error, doing what: String) -> MachineFailure {
        guard let error = error as? EC2Error else { return .retryLater("\(what): \(error)") }
        let message = "\(what): \(error.code): \(error.message)"
        switch error.kind {
        case .capacity: return .capacity(message)
        case .throttled, .transient: return .retryLater(message)
        case .unauthorized, .invalid: return .refused(message)
        }
    }
}
