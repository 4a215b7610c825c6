import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import EMPControlPlane

/// The operator's launch / terminate / status executables, as small shell scripts.
@Suite(.serialized) struct CommandProviderTests {
    let dir: TemporaryDirectory

    init() throws { dir = try TemporaryDirectory() }

    /// Writes an executable script; returns its path.
    func script(_ name: String, _ body: String) throws -> String {
        let path = dir.file(name)
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    func provider(launch: String, terminate: String? = nil, status: String? = nil, timeout: Duration = .seconds(10)) throws
        -> PoolHostProvider
    {
        var settings = CommandMachines.Settings(launch: launch, terminate: try terminate ?? script("terminate", "cat > /dev/null"))
        settings.status = status
        settings.timeout = timeout
        return PoolHostProvider(
            machines: CommandMachines(settings: settings, poolID: "metal"), userData: AgentUserData(controlPlaneURL: "https://emp:7443"))
    }

    /// The launch script gets the launch as JSON on stdin (kept here to check) and answers a machine id; the
    /// bookkeeping is EC2's: the launch is recorded, joins, and is released when empty, through `terminate`.
    @Test func aLaunchScriptsAnswerBecomesAHostAndTerminateReleasesIt() async throws {
        let launch = try script(
            "launch", "cat > \(dir.file("launch-input.json"))\necho '{\"machineID\": \"maas-42\", \"zone\": \"rack-1\"}'")
        let terminate = try script("terminate", "cat > \(dir.file("terminate-input.json"))")
        let status = try script(
            "status",
            "if [ -f \(dir.file("terminate-input.json")) ]; then echo '{\"machines\": {\"maas-42\": \"gone\"}}'; else echo '{\"machines\": {\"maas-42\": \"deployed\"}}'; fi"
        )
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(try provider(launch: launch, terminate: terminate, status: status))
        #expect(try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date) == 1)
        let input =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("launch-input.json"))))
            as? [String: String]
        let launchID = try #require(try await fixture.launches().first?.id)
        #expect(input?["action"] == "launch" && input?["launchID"] == launchID && input?["pool"] == "metal")
        let token = try #require(input?["joinToken"])
        #expect(input?["userData"]?.contains("joinToken: \"\(token)\"") == true)
        #expect(try await fixture.launches().first?.machineID == "maas-42")
        try await fixture.built.application.test(.router) { client in
            let joined = try await fixture.join(client, token: token, hostID: "rack-1-node-7")
            #expect(joined.status == .created)
        }
        #expect(try await fixture.built.store.read { try $0.host("rack-1-node-7")?.provider?.machineID } == "maas-42")
        await fleet.pass()
        fixture.clock.advance(by: .seconds(601))
        await fleet.pass()
        let terminated = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.file("terminate-input.json"))))
        #expect((terminated as? [String: String])?["machineID"] == "maas-42")
        await fleet.pass()
        #expect(try await fixture.built.store.read { try $0.host("rack-1-node-7") } == nil)
        #expect(try await fixture.launches().first?.state == .released)
    }

    /// A failing script's stderr is in the event; the launch fails and is not retried.
    @Test func aFailingScriptsStderrIsInTheEvent() async throws {
        let launch = try script("launch", "cat > /dev/null\necho 'maas: no machine matches tag metal' >&2\nexit 3")
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(try provider(launch: launch))
        _ = try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date)
        let event = try #require(try await fixture.poolEvents("HostLaunchFailed").first)
        #expect(event.message.contains("exited 3") && event.message.contains("maas: no machine matches tag metal"))
        #expect(try await fixture.launches().first?.state == .failed)
    }

    /// Exit 75 (EX_TEMPFAIL) and a timeout are retried later; the timeout kills the script.
    @Test func aScriptThatHangsIsKilledAndRetriedLater() async throws {
        let launch = try script("launch", "cat > /dev/null\nexec sleep 30")
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(try provider(launch: launch, timeout: .seconds(1)))
        _ = try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date)
        let event = try #require(try await fixture.poolEvents("HostLaunchFailed").first)
        #expect(event.message.contains("did not finish within 1.0 seconds; killed"))
        let launchRecord = try #require(try await fixture.launches().first)
        #expect(launchRecord.state == .requested && launchRecord.nextAttemptAt == fixture.clock.date.addingTimeInterval(30))
    }

    /// An answer that is not the expected JSON fails the launch, quoting it.
    @Test func aGarbageAnswerIsNamed() async throws {
        let launch = try script("launch", "cat > /dev/null\necho 'OK, deploying node 7'")
        let fixture = try APIFixture()
        let pool = try await fixture.seedMetalPool()
        let fleet = fixture.fleet(try provider(launch: launch))
        _ = try await fleet.request(1, for: pool, store: fixture.built.store, at: fixture.clock.date)
        let event = try #require(try await fixture.poolEvents("HostLaunchFailed").first)
        #expect(event.message.contains("answered \"OK, deploying node 7\", not {\"machineID\""))
    }

    /// Bad host provider configuration is refused at start, naming the key.
    @Test func badConfigurationIsRefusedNamingTheKey() throws {
        let launch = try script("launch", "true")
        let notExecutable = dir.file("plain")
        try "#!/bin/sh\n".write(toFile: notExecutable, atomically: true, encoding: .utf8)
        let cases: [(String, String)] = [
            (
                "type: ec2\n    region: virginia\n    ami: ami-0123456789abcdef0\n    subnets: [subnet-0123456789abcdef0]",
                "hostProviders.metal.region"
            ),
            ("type: ec2\n    region: us-east-1\n    ami: ami-0123456789abcdef0\n    subnets: []", "hostProviders.metal.subnets"),
            ("type: ec2\n    region: us-east-1\n    ami: ubuntu\n    subnets: [subnet-0123456789abcdef0]", "hostProviders.metal.ami"),
            (
                "type: ec2\n    region: us-east-1\n    ami: ami-0123456789abcdef0\n    subnets: [subnet-0123456789abcdef0]\n    maxPrice: \"1\"",
                "hostProviders.metal.maxPrice"
            ),
            (
                "type: ec2\n    region: us-east-1\n    ami: ami-0123456789abcdef0\n    subnet: [subnet-0123456789abcdef0]",
                "unknown key \"subnet\""
            ),
            ("type: command\n    terminate: \(launch)", "hostProviders.metal.launch must name"),
            ("type: command\n    launch: \(dir.file("missing"))\n    terminate: \(launch)", "does not exist"),
            ("type: command\n    launch: \(notExecutable)\n    terminate: \(launch)", "is not executable"),
            ("type: azure", "hostProviders.metal.type must be ec2 or command"),
        ]
        for (section, expected) in cases {
            let path = dir.file("config.yaml")
            try "hostProviders:\n  metal:\n    controlPlaneURL: https://emp:7443\n    \(section)\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            #expect {
                try ConfigurationFile.load(path).apply(to: ControlPlaneConfiguration())
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
        let path = dir.file("good.yaml")
        try """
        hostProviders:
          metal:
            type: ec2
            controlPlaneURL: https://emp:7443
            region: eu-central-1
            ami: ami-0123456789abcdef0
            subnets: [subnet-0123456789abcdef0, subnet-0123456789abcdef1]
            market: spot
            maxPrice: "2.10"
            joinTimeoutSeconds: 600
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try ConfigurationFile.load(path).apply(to: ControlPlaneConfiguration())
        let metal = try #require(configuration.hostProviders["metal"])
        guard case .ec2(let ec2) = metal.kind else {
            Issue.record("not ec2")
            return
        }
        #expect(ec2.spot && ec2.maxPrice == "2.10" && ec2.instanceType == "m5.metal" && ec2.subnets.count == 2 && metal.joinTimeout == 600)
    }
}
