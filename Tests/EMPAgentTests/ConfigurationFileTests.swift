import EMPAgent
import EMPModel
import EMPTesting
import Foundation
import Testing

@Suite struct ConfigurationFileTests {
    static var repositoryRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @Test func theShippedExampleLoads() throws {
        let file = try AgentConfigurationFile.load("\(Self.repositoryRoot)/agent/agent.example.yaml")
        #expect(file.controlPlane == "https://emp-control-plane.example.net:7443")
        #expect(file.domainType == "kvm")
        #expect(file.reportIntervalSeconds == 10)
    }

    @Test(arguments: [
        ("controlPlane: http://x\ncolour: red\n", "unknown key \"colour\""),
        ("domainType: xen\n", "domainType must be kvm, qemu or test"),
        ("pollWaitSeconds: soon\n", "pollWaitSeconds"),
        ("controlPlane: [\n", "not valid YAML"),
    ])
    func badFilesNameTheFileAndKey(yaml: String, expected: String) throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("agent.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            _ = try AgentConfigurationFile.load(path)
            Issue.record("accepted \(yaml)")
        } catch let error as AgentError {
            #expect(error.description.contains(path))
            #expect(error.description.contains(expected), "got: \(error.description)")
        }
    }
}

/// Flags over the environment over the file over the defaults; errors name where the bad value came from.
@Suite struct ConfigurationLayeringTests {
    static func file(_ yaml: String) throws -> (TemporaryDirectory, String) {
        let dir = try TemporaryDirectory()
        let path = dir.file("agent.yaml")
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return (dir, path)
    }

    @Test func eachLayerOverridesTheOneBelow() throws {
        let (dir, path) = try Self.file("controlPlane: http://file:7443\npollWaitSeconds: 20\nreportIntervalSeconds: 5\nstateDir: /file\n")
        _ = dir
        var flags = AgentConfigurationFile()
        flags.pollWaitSeconds = 7
        let environment = EnvironmentLayer(
            program: "emp-agent", values: ["EMP_AGENT_POLL_WAIT_SECONDS": "9", "EMP_AGENT_REPORT_INTERVAL_SECONDS": "2.5"])
        let configuration = try AgentConfiguration.resolve(flags: flags, configFile: path, environment: environment)
        #expect(configuration.pollWait == 7, "the flag wins over the environment and the file")
        #expect(configuration.reportInterval == .milliseconds(2500), "the environment wins over the file")
        #expect(configuration.stateDirectory == "/file", "the file wins over the default")
        #expect(configuration.controlPlaneURL == "http://file:7443")
        #expect(configuration.libvirtURI == "qemu:///system", "the default")
    }

    @Test func badValuesNameTheirSource() throws {
        let (dir, path) = try Self.file("controlPlane: http://file:7443\npollWaitSeconds: 99\n")
        _ = dir
        var flags = AgentConfigurationFile()
        func failure(_ flags: AgentConfigurationFile, file: String? = path, _ environment: [String: String] = [:]) -> String {
            do {
                _ = try AgentConfiguration.resolve(
                    flags: flags, configFile: file, environment: EnvironmentLayer(program: "emp-agent", values: environment))
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(failure(flags) == "pollWaitSeconds in \(path) must be 1...60 seconds (got 99)")
        #expect(failure(flags, ["EMP_AGENT_POLL_WAIT_SECONDS": "soon"]).contains("EMP_AGENT_POLL_WAIT_SECONDS: must be a whole number"))
        #expect(failure(flags, ["EMP_AGENT_POLL_WAIT_SECONDS": "0"]) == "EMP_AGENT_POLL_WAIT_SECONDS must be 1...60 seconds (got 0)")
        flags.pollWaitSeconds = 61
        #expect(failure(flags) == "--poll-wait must be 1...60 seconds (got 61)")
        #expect(failure(AgentConfigurationFile(), file: nil).contains("EMP_AGENT_CONTROL_PLANE"), "names every place the URL can come from")
        var bad = AgentConfigurationFile()
        bad.controlPlane = "http://x"
        #expect(
            failure(bad, file: nil, ["EMP_AGENT_DOMAIN_TYPE": "xen"]) == "EMP_AGENT_DOMAIN_TYPE must be kvm, qemu or test (got \"xen\")")
    }
}
