import EMPTesting
import Foundation
import Testing

/// `empctl sim` as a user runs it: a process that serves until interrupted, with a kubeconfig kubectl accepts.
@Suite struct EmpctlSimTests {
    func kubectl(_ kubeconfig: String, _ arguments: [String]) throws -> (status: Int32, output: [String]) {
        let child = try ChildProcess("/usr/bin/env", ["kubectl", "--kubeconfig", kubeconfig] + arguments)
        let status = child.wait()
        return (status, child.output)
    }

    @Test(arguments: ["cert", "token"]) func servesKubectlUntilInterrupted(auth: String) async throws {
        let dir = try TemporaryDirectory()
        let kubeconfig = dir.file("kubeconfig")
        let sim = try ChildProcess(
            try BuiltProducts.executable("empctl"), ["sim", "--kubeconfig", kubeconfig, "--auth", auth, "--node-ready-after", "0"])
        try await sim.waitFor(timeout: .seconds(30)) { $0.contains { $0.hasPrefix("KubeSim listening on https://127.0.0.1:") } }
        let mode = try FileManager.default.attributesOfItem(atPath: kubeconfig)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let namespaces = try kubectl(kubeconfig, ["get", "namespaces", "-o", "name"])
        #expect(namespaces.status == 0)
        #expect(namespaces.output.contains("namespace/kube-system"))
        let manifest = dir.file("profile.yaml")
        try """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: emp-profile-cm, namespace: default}
        data: {namespaces: '["default"]'}
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let created = try kubectl(kubeconfig, ["apply", "-f", manifest])
        #expect(created.status == 0)
        #expect(created.output == ["configmap/emp-profile-cm created"])
        let read = try kubectl(kubeconfig, ["get", "configmap", "emp-profile-cm", "-o", "jsonpath={.data.namespaces}"])
        #expect(read.output == ["[\"default\"]"])

        sim.kill(SIGINT)
        #expect(sim.wait() == 0)
        #expect(try kubectl(kubeconfig, ["get", "namespaces", "--request-timeout=2s"]).status != 0)
    }

    @Test func badFlagsAreRefusedWithTheFlagNamed() throws {
        let child = try ChildProcess(try BuiltProducts.executable("empctl"), ["sim", "--kubeconfig", "/tmp/x", "--port", "70000"])
        #expect(child.wait() != 0)
        #expect(child.errorOutput.joined(separator: "\n").contains("--port 70000 is not a TCP port"))
    }
}
