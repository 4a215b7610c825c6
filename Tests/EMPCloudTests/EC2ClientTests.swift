import AsyncHTTPClient
import EMPCloud
import EMPModel
import EMPTesting
import Foundation
import NIOCore
import Testing

/// The EC2 Query client against moto's EC2 server on loopback.
@Suite(.serialized) struct EC2ClientTests {
    static let credentials = EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret"])

    @Test func launchesFindsByTagReadsUserDataAndTerminates() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let http = HTTPClient.shared
        let ec2 = EC2Client(region: "us-east-1", endpoint: moto.endpoint, credentials: Self.credentials, client: http)
        let vpc = try #require(try await ec2.call("CreateVpc", [("CidrBlock", "10.0.0.0/16")]).text("vpc", "vpcId"))
        let subnet = try #require(
            try await ec2.call("CreateSubnet", [("VpcId", vpc), ("CidrBlock", "10.0.1.0/24"), ("AvailabilityZone", "us-east-1b")])
                .text("subnet", "subnetId"))
        let image = try #require(try await ec2.call("DescribeImages", []).items("imagesSet").first?.text("imageId"))
        var request = EC2LaunchRequest(imageID: image, instanceType: "m5.metal", clientToken: "launch-1")
        request.subnet = subnet
        request.userData = "#cloud-config\nruncmd: [[echo, é]]\n"
        request.tags = ["emp.pf9.io/launch": "launch-1", "team": "platform"]
        request.spot = true
        request.maxPrice = "2.50"
        let launched = try await ec2.runInstance(request)
        #expect(launched.id.hasPrefix("i-") && launched.instanceType == "m5.metal")
        #expect(launched.zone == "us-east-1b" && launched.subnet == subnet && launched.spot)
        let found = try await ec2.describeInstances(filters: [("tag:emp.pf9.io/launch", ["launch-1"])])
        #expect(found.map(\.id) == [launched.id])
        #expect(found.first?.tags["team"] == "platform")
        #expect(try await ec2.describeInstances(filters: [("tag:emp.pf9.io/launch", ["other"])]).isEmpty)
        #expect(try await ec2.userData(of: launched.id) == request.userData)
        let states = try await ec2.terminateInstances([launched.id])
        #expect(states[launched.id] == "shutting-down" || states[launched.id] == "terminated")
        #expect(try await ec2.describeInstances(ids: [launched.id]).first?.isGone == true)
    }

    /// AWS's error codes become typed errors; only retryable ones are retried.
    @Test func errorsAreTypedAndNamed() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let http = HTTPClient.shared
        let ec2 = EC2Client(region: "us-east-1", endpoint: moto.endpoint, credentials: Self.credentials, client: http)
        await #expect {
            try await ec2.terminateInstances(["i-00000000000000000"])
        } throws: { error in
            guard let error = error as? EC2Error else { return false }
            return error.code == "InvalidInstanceID.NotFound" && error.kind == .invalid && !error.retryable && error.status == 400
        }
        #expect(EC2Error(code: "InsufficientInstanceCapacity", message: "", status: 500).kind == .capacity)
        #expect(EC2Error(code: "RequestLimitExceeded", message: "", status: 503).retryable)
        #expect(EC2Error(code: "UnauthorizedOperation", message: "", status: 403).kind == .unauthorized)
        let unreachable = EC2Client(
            region: "us-east-1", endpoint: URL(string: "http://127.0.0.1:1/")!, credentials: Self.credentials, client: http, attempts: 1,
            timeout: .seconds(2))
        await #expect {
            try await unreachable.describeInstances()
        } throws: { ($0 as? EC2Error)?.code == "ConnectionFailed" }
    }
}
