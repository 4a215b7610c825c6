import EMPControlPlane
import EMPModel
import EMPTesting
import Foundation
import Testing

/// The control plane's settings: flags over the environment over the file over the defaults.
@Suite struct ConfigurationLayersTests {
    @Test func eachLayerOverridesTheOneBelow() throws {
        let dir = try TemporaryDirectory()
        try "dataDir: /from-file\nlisten: 0.0.0.0:9000\noperatorTokens: [file-token]\n".write(
            toFile: dir.file("cp.yaml"), atomically: true, encoding: .utf8)
        var flags = ControlPlaneFlags()
        flags.config = dir.file("cp.yaml")
        flags.listen = "127.0.0.1:7000"
        let environment = EnvironmentLayer(
            program: "emp-control-plane",
            values: ["EMP_CONTROL_PLANE_LISTEN": "10.0.0.1:8000", "EMP_CONTROL_PLANE_OPERATOR_TOKENS": "env-a, env-b"])
        let configuration = try ControlPlaneConfiguration.resolve(flags: flags, environment: environment)
        #expect(configuration.host == "127.0.0.1" && configuration.port == 7000, "the flag wins")
        #expect(configuration.operatorTokens == ["env-a", "env-b"], "the environment wins over the file")
        #expect(configuration.dataDirectory == "/from-file", "the file wins over the default")
        #expect(configuration.kubeconfigPath == nil, "the default")
    }

    @Test func aBadValueNamesItsSource() throws {
        let environment = EnvironmentLayer(program: "emp-control-plane", values: ["EMP_CONTROL_PLANE_LISTEN": "nowhere"])
        #expect {
            _ = try ControlPlaneConfiguration.resolve(flags: ControlPlaneFlags(), environment: environment)
        } throws: {
            "\($0)".hasPrefix("EMP_CONTROL_PLANE_LISTEN must be HOST:PORT")
        }
    }
}
