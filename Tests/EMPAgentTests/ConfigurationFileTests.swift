import EMPAgent
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
