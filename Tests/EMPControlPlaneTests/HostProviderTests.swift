import AsyncHTTPClient
import EMPCloud
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

@testable import EMPControlPlane

/// moto's EC2 with a VPC, two subnets in two zones and an AMI; an EC2 client on it.
struct EC2Lab {
    let moto: MotoServer
    let ec2: EC2Client
    let subnets: [String]
    let image: String
    static let credentials = EnvironmentCredentials(environment: ["AWS_ACCESS_KEY_ID": "AKIATEST", "AWS_SECRET_ACCESS_KEY": "secret"])

    init(endpoint: URL? = nil) async throws {
        moto = try await MotoServer()
        let ec2 = EC2Client(region: "us-east-1", endpoint: moto.endpoint, credentials: Self.credentials, client: .shared)
        self.ec2 = ec2
        let vpc = try #require(try await ec2.call("CreateVpc", [("CidrBlock", "10.0.0.0/16")]).text("vpc", "vpcId"))
        var subnets: [String] = []
        for (index, zone) in ["us-east-1a", "us-east-1b"].enumerated() {
            let answer = try await ec2.call(
                "CreateSubnet", [("VpcId", vpc), ("CidrBlock", "10.0.\(index + 1).0/24"), ("AvailabilityZone", zone)])
            subnets.append(try #require(answer.text("subnet", "subnetId")))
        }
        self.subnets = subnets
        image = try #require(try await ec2.call("DescribeImages", []).items("imagesSet").first?.text("imageId"))
    }

    /// The pool's provider against `endpoint` (moto, or a proxy in front of it).
    func provider(endpoint: URL? = nil, joinTimeout: TimeInterval = 900, emptyHostAfter: TimeInterval = 600) -> PoolHostProvider {
        var settings = EC2Machines.Settings(region: "us-east-1", imageID: image, subnets: subnets)
        settings.tags = ["team": "platform"]
        settings.endpoint = endpoint ?? moto.endpoint
        let client = EC2Client(
            region: "us-east-1", endpoint: settings.endpoint, credentials: Self.credentials, client: .shared, attempts: 1)
        var provider = PoolHostProvider(
            machines: EC2Machines(settings: settings, client: client), userData: AgentUserData(controlPlaneURL: "https://emp.example:7443"))
        provider.joinTimeout = joinTimeout
        provider.emptyHostAfter = emptyHostAfter
        return provider
    }

    func instances(pool: String = "metal") async throws -> [EC2Instance] {
        try await ec2.describeInstances(filters: [("tag:\(EC2Machines.poolTag)", [pool])])
    }

    /// The join token in an instance's user data.
    func joinToken(of instance: String) async throws -> String {
        let userData = try #require(try await ec2.userData(of: instance))
        let line = try #require(userData.split(separator: "\n").first { $0.contains("joinToken:") })
        return String(line.split(separator: "\"")[1])
    }
}

extension APIFixture {
    /// Pool `metal` (min 1, max 3 hosts) with one host joined by hand.
    func seedMetalPool() async throws -> Pool {
        let pool = Pool(
            id: "metal", shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)), policy: PoolPolicy(minHosts: 1, maxHosts: 3),
            createdAt: APIFixture.epoch)
        try await built.store.write { tx in
            try tx.save(pool)
            try tx.save(EMPModel.Host(id: "metal-0", poolID: "metal", capacity: Resources(cpuMillis: 96_000, memoryBytes: .gibibytes(384))))
        }
        return pool
    }

    func fleet(_ provider: PoolHostProvider) -> HostFleet {
        HostFleet(
            providers: ["metal": provider], store: built.store, keyHex: String(repeating: "ab", count: 32), clock: clock,
            logger: Logger(label: "fleet"))
    }

    func launches() async throws -> [HostLaunch] { try await built.store.read { try $0.hostLaunches(pool: "metal") } }

    func poolEvents(_ reason: String) async throws -> [Event] {
        try await built.store.read { try $0.events(EventFilter(object: ObjectRef(.pool, "metal"), limit: 1000)) }.filter {
            $0.reason == reason
        }
    }
}

@Suite(.serialized) struct HostProviderTests {
    /// A burst needing two more hosts launches exactly two, spread over both zones, tagged, with user data whose
    /// join token works once; the join turns the launch into a host; an empty launched host is terminated after
    /// `emptyHostAfter` and removed once EC2 says it is gone; the hand-joined host and `minHosts` are respected.
    @Test func aBurstLaunchesTwoHostsThatJoinAndAreReleasedWhenEmpty() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(lab.provider())
        #expect(try await fleet.request(2, for: pool, store: fixture.built.store, at: fixture.clock.date) == 2)
        // The same decision again (the next autoscaler pass) launches nothing more: two are in flight.
        #expect(try await fleet.request(2, for: pool, store: fixture.built.store, at: fixture.clock.date) == 0)
        let instances = try await lab.instances()
        #expect(instances.count == 2)
        #expect(instances.allSatisfy { $0.instanceType == "m5.metal" && $0.tags["team"] == "platform" })
        #expect(Set(instances.compactMap(\.zone)) == ["us-east-1a", "us-east-1b"])
        #expect(Set(instances.compactMap(\.subnet)) == Set(lab.subnets))
        let launches = try await fixture.launches()
        #expect(launches.map(\.state) == [.launched, .launched])
        #expect(Set(launches.compactMap(\.machineID)) == Set(instances.map(\.id)))
        #expect(try await fixture.poolEvents("HostLaunched").count == 2)

        // The agent on the first instance joins with the token from its user data; the token works once.
        let first = try #require(instances.first)
        let token = try await lab.joinToken(of: first.id)
        let requested = try await fixture.poolEvents("HostsRequested").map(\.message).joined()
        #expect(!token.isEmpty && !requested.contains(token))
        try await fixture.built.application.test(.router) { client in
            let joined = try await fixture.join(client, token: token, hostID: "metal-1")
            let again = try await fixture.join(client, token: token, hostID: "metal-9")
            #expect(joined.status == .created && again.status == .unauthorized)
            // The console's host page names the machine.
            let login = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=\(APIFixture.token)"))
            let cookie = try #require(login.headers[.setCookie]).split(separator: ";")[0]
            let page = try await client.execute(uri: "/hosts/metal-1", method: .get, headers: [.cookie: String(cookie)])
            #expect(
                String(buffer: page.body).contains(
                    "machine <span data-field=\"machine\">ec2 \(first.id) m5.metal \(first.zone ?? "?") on-demand"))
        }
        let host = try #require(try await fixture.built.store.read { try $0.host("metal-1") })
        #expect(host.provider?.machineID == first.id && host.provider?.instanceType == "m5.metal" && host.provider?.zone == first.zone)
        #expect(try await fixture.launches().first { $0.machineID == first.id }?.state == .joined)
        #expect(try await fixture.poolEvents("HostJoined").first?.message.contains("joined as host metal-1") == true)

        // Empty from now on: after ten minutes it is cordoned and terminated; the hand-joined metal-0 stays.
        await fleet.pass()
        fixture.clock.advance(by: .seconds(599))
        await fleet.pass()
        #expect(try await lab.ec2.describeInstances(ids: [first.id]).first?.isGone == false)
        fixture.clock.advance(by: .seconds(2))
        await fleet.pass()
        #expect(try await fixture.built.store.read { try $0.host("metal-1")?.cordoned } == true)
        #expect(try await lab.ec2.describeInstances(ids: [first.id]).first?.isGone == true)
        #expect(try await fixture.poolEvents("HostReleased").first?.message.contains("host metal-1") == true)
        await fleet.pass()
        #expect(try await fixture.built.store.read { try $0.host("metal-1") } == nil)
        #expect(try await fixture.built.store.read { try $0.host("metal-0") } != nil)
        #expect(try await fixture.launches().first { $0.machineID == first.id }?.state == .released)
    }

    /// A host with an EVM is never terminated, however long it has been launched.
    @Test func aHostWithAnEVMIsKept() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(lab.provider(emptyHostAfter: 60))
        _ = try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date)
        let instance = try #require(try await lab.instances().first)
        try await fixture.built.application.test(.router) { client in
            let joined = try await fixture.join(client, token: try await lab.joinToken(of: instance.id), hostID: "metal-1")
            #expect(joined.status == .created)
        }
        try await fixture.built.store.write { tx in
            try tx.save(
                EVM(
                    id: "metal-e1", poolID: "metal", hostID: "metal-1", shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    phase: .running, nodeName: "metal-e1", createdAt: APIFixture.epoch))
        }
        for _ in 0..<3 {
            await fleet.pass()
            fixture.clock.advance(by: .seconds(120))
        }
        #expect(try await lab.ec2.describeInstances(ids: [instance.id]).first?.isGone == false)
        #expect(try await fixture.poolEvents("HostReleased").isEmpty)
    }

    /// A launch whose agent never joins is terminated after `joinTimeout`, its token revoked.
    @Test func aLaunchThatNeverJoinsIsTerminated() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(lab.provider(joinTimeout: 900))
        _ = try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date)
        let instance = try #require(try await lab.instances().first)
        let token = try await lab.joinToken(of: instance.id)
        fixture.clock.advance(by: .seconds(899))
        await fleet.pass()
        #expect(try await lab.ec2.describeInstances(ids: [instance.id]).first?.isGone == false)
        fixture.clock.advance(by: .seconds(2))
        await fleet.pass()
        #expect(try await lab.ec2.describeInstances(ids: [instance.id]).first?.isGone == true)
        #expect(try await fixture.poolEvents("HostJoinTimedOut").first?.message.contains(instance.id) == true)
        try await fixture.built.application.test(.router) { client in
            let late = try await fixture.join(client, token: token, hostID: "late")
            #expect(late.status == .unauthorized)
        }
        await fleet.pass()
        #expect(try await fixture.launches().map(\.state) == [.released])
        // metal-0 keeps the pool at minHosts 1: nothing is launched in its place.
        #expect(try await lab.instances().count == 1)
    }

    /// The control plane died after `RunInstances` and before recording the instance: the restarted one (a new
    /// fleet over the same store) finds it by its launch tag instead of launching a second.
    @Test func aLaunchInterruptedBeforeItWasRecordedIsFoundNotRepeated() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let provider = lab.provider()
        let before = fixture.fleet(provider)
        let planned = try await before.plan(1, for: pool, provider: provider, at: fixture.clock.date)
        let launch = try #require(planned.first)
        // What the dead process did: the call reached EC2, the answer never reached the store.
        _ = try await provider.machines.launch(
            MachineOrder(launchID: launch.id, poolID: "metal", placement: launch.subnet, userData: "#cloud-config\n", joinToken: "x.y"))
        #expect(try await fixture.launches().first?.machineID == nil)
        let after = fixture.fleet(provider)
        await after.pass()
        let instances = try await lab.instances()
        #expect(instances.count == 1)
        #expect(try await fixture.launches().first?.machineID == instances.first?.id)
        #expect(try await fixture.poolEvents("HostLaunched").first?.message.contains("found after a restart") == true)
    }

    /// A scale-up launching a recorded launch while the loop's pass looks at the same launch: one instance, not two
    /// (moto ignores client tokens, so only the fleet's own exclusion keeps this to one).
    @Test func aScaleUpAndAPassNeverLaunchTheSameLaunchTwice() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let provider = lab.provider()
        let fleet = fixture.fleet(provider)
        let launch = try #require(try await fleet.plan(1, for: pool, provider: provider, at: fixture.clock.date).first)
        async let launching: Void = fleet.attempt(launch, provider: provider)
        async let passing: Void = fleet.pass()
        _ = await (launching, passing)
        await fleet.pass()
        #expect(try await lab.instances().count == 1)
        #expect(try await fixture.launches().map(\.state) == [.launched])
    }

    /// The rebalancer lacks room (the only host goes into maintenance with an EVM that has nowhere to go): it asks
    /// the provider, which launches one host, and no more on the next pass.
    @Test func theRebalancerAsksForAHostWhenItLacksRoom() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let fixture = try APIFixture()
        _ = try await fixture.seedMetalPool()
        try await fixture.built.store.write { tx in
            var host = try #require(try tx.host("metal-0"))
            host.maintenance = true
            host.lastHeartbeat = fixture.clock.date
            host.allocated = Resources(cpuMillis: 16_000, memoryBytes: .gibibytes(64))
            try tx.save(host)
            try tx.save(
                EVM(
                    id: "metal-e1", poolID: "metal", hostID: "metal-0", shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    phase: .running, nodeName: "metal-e1", createdAt: APIFixture.epoch))
        }
        let fleet = fixture.fleet(lab.provider())
        let rebalancer = RebalancerService(
            store: fixture.built.store, settings: RebalancerService.Settings(), kube: nil, provider: fleet, clock: fixture.clock,
            logger: Logger(label: "rebalancer"))
        try await rebalancer.tick()
        try await rebalancer.tick()
        #expect(try await lab.instances().count == 1)
        #expect(try await fixture.launches().map(\.state) == [.launched])
    }

    /// `InsufficientInstanceCapacity` in the first zone (a proxy in front of moto answers it for that subnet): an
    /// event, and the launch is made in the other zone.
    @Test func insufficientCapacityMovesTheLaunchToAnotherZone() async throws {
        let lab = try await EC2Lab()
        defer { lab.moto.stop() }
        let proxy = try await CapacityProxy(upstream: lab.moto.endpoint, refusedSubnet: lab.subnets[0])
        defer { Task { await proxy.task.stop() } }
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(lab.provider(endpoint: proxy.endpoint))
        #expect(try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date) == 1)
        let instances = try await lab.instances()
        #expect(instances.map(\.subnet) == [lab.subnets[1]])
        #expect(instances.first?.zone == "us-east-1b")
        let failed = try await fixture.poolEvents("HostLaunchFailed")
        #expect(failed.count == 1)
        #expect(failed.first?.message.contains("InsufficientInstanceCapacity") == true)
        #expect(failed.first?.message.contains("trying the next subnet") == true)
    }
}

/// EC2 in front of moto that answers `InsufficientInstanceCapacity` to `RunInstances` in one subnet, as AWS does
/// when a zone has no metal capacity; everything else is forwarded.
final class CapacityProxy: Sendable {
    let task: ServingTask
    let port: Int

    init(upstream: URL, refusedSubnet: String) async throws {
        let router = Router()
        router.post("/") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let form = String(buffer: body)
            if form.contains("Action=RunInstances"), form.contains("SubnetId=\(refusedSubnet)") {
                let xml = """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <Response><Errors><Error><Code>InsufficientInstanceCapacity</Code><Message>We currently do not have sufficient m5.metal capacity in the Availability Zone you requested (us-east-1a).</Message></Error></Errors><RequestID>r-1</RequestID></Response>
                    """
                return Response(status: .internalServerError, body: ResponseBody(byteBuffer: ByteBuffer(string: xml)))
            }
            var forward = HTTPClientRequest(url: upstream.absoluteString)
            forward.method = .POST
            for field in request.headers where field.name.canonicalName != "host" && field.name.canonicalName != "content-length" {
                forward.headers.add(name: field.name.rawName, value: field.value)
            }
            forward.body = .bytes(body)
            let answer = try await HTTPClient.shared.execute(forward, timeout: .seconds(30))
            let data = try await answer.body.collect(upTo: 16 << 20)
            return Response(
                status: .init(code: Int(answer.status.code)), headers: [.contentType: "text/xml"], body: ResponseBody(byteBuffer: data))
        }
        (task, port) = await ServingTask.start { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { bound($0.localAddress?.port ?? 0) }, logger: Logger(label: "proxy"))
        }
    }

    var endpoint: URL { URL(string: "http://127.0.0.1:\(port)/")! }
}
