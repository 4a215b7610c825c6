import EMPCertificates
import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

@Suite struct AuthTests {
    func namespaces(_ config: KubeConfig) async throws -> [String] {
        var options = KubeClient.Options()
        // AsyncHTTPClient retries a failing TLS handshake until the deadline: keep it short for the refusal test.
        options.requestTimeout = .seconds(3)
        let client = try KubeClient(config: config, options: options)
        defer { Task { try? await client.shutdown() } }
        return try await client.resources(Namespace.self).list().items.map(\.name)
    }

    @Test func clientCertificatesAndBearerTokensAuthenticate() async throws {
        let harness = try await SimHarness.start {
            $0.tokens = ["good": SimUser(name: "alice"), "viewer": SimUser(name: "bob", readOnly: true)]
        }
        defer { Task { await harness.close() } }
        #expect(try await namespaces(harness.sim.kubeConfig(auth: .token("good"))).contains("default"))
        #expect(
            try await namespaces(harness.sim.kubeConfig(auth: .clientCertificate(user: "carol", groups: ["system:masters"]))).contains(
                "kube-system"))

        await #expect { _ = try await namespaces(harness.sim.kubeConfig(auth: .token("wrong"))) } throws: {
            ($0 as? KubeError)?.reason == .unauthorized
        }
        var anonymous = try harness.sim.kubeConfig(auth: .token("good"))
        anonymous.credentials = .none
        await #expect { _ = try await namespaces(anonymous) } throws: { ($0 as? KubeError)?.reason == .unauthorized }

        // A read-only user reads but cannot write: Forbidden, naming the user and the resource.
        let viewer = try KubeClient(config: harness.sim.kubeConfig(auth: .token("viewer")))
        defer { Task { try? await viewer.shutdown() } }
        _ = try await viewer.resources(Node.self).list()
        await #expect { _ = try await viewer.resources(Node.self).create(Node(name: "x")) } throws: { error in
            guard let error = error as? KubeError else { return false }
            return error.reason == .forbidden && error.message.contains("User \"bob\" cannot create resource \"nodes\"")
        }
    }

    @Test func aServerWithAnotherCAIsRefused() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        var config = try harness.sim.kubeConfig()
        config.certificateAuthorityPEM = Data(try CertificateAuthority(commonName: "other").certificatePEM.utf8)
        await #expect(throws: (any Error).self) { _ = try await namespaces(config) }
        config.insecureSkipTLSVerify = true
        #expect(try await namespaces(config).contains("default"))
    }

    @Test func anExecPluginSuppliesTheTokenAndIsCachedUntilExpiry() async throws {
        let harness = try await SimHarness.start { $0.tokens = ["from-plugin": SimUser(name: "eks-user")] }
        defer { Task { await harness.close() } }
        let dir = try TemporaryDirectory()
        let script = dir.file("get-token")
        let counter = dir.file("runs")
        try """
        #!/bin/sh
        echo run >> "\(counter)"
        test "$(echo "$KUBERNETES_EXEC_INFO" | grep -c ExecCredential)" = 1 || exit 3
        cat <<JSON
        {"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin","expirationTimestamp":"2099-01-01T00:00:00Z"}}
        JSON
        """.write(toFile: script, atomically: true, encoding: .utf8)
        chmod(script, 0o755)
        var config = try harness.sim.kubeConfig()
        config.credentials = .exec(ExecConfig(command: script))
        let client = try KubeClient(config: config)
        defer { Task { try? await client.shutdown() } }
        for _ in 0..<3 { _ = try await client.resources(Namespace.self).list() }
        let runs = try String(contentsOfFile: counter, encoding: .utf8).split(separator: "\n").count
        #expect(runs == 1)
    }

    @Test func aRotatedTokenFileIsReRead() async throws {
        let harness = try await SimHarness.start { $0.tokens = ["first": SimUser(name: "sa"), "second": SimUser(name: "sa")] }
        defer { Task { await harness.close() } }
        let dir = try TemporaryDirectory()
        let path = dir.file("token")
        try "first\n".write(toFile: path, atomically: true, encoding: .utf8)
        var config = try harness.sim.kubeConfig()
        config.credentials = .tokenFile(path)
        let client = try KubeClient(config: config)
        defer { Task { try? await client.shutdown() } }
        _ = try await client.resources(Namespace.self).list()
        try "second\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)
        _ = try await client.resources(Namespace.self).list()
        try "revoked\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(10)], ofItemAtPath: path)
        await #expect { _ = try await client.resources(Namespace.self).list() } throws: { ($0 as? KubeError)?.reason == .unauthorized }
    }
}
