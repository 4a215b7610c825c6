import EMPTesting
import Foundation
import Testing

@testable import Kube

@Suite struct KubeConfigTests {
    let caPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"

    func write(_ dir: TemporaryDirectory, _ name: String, _ text: String) throws -> String {
        let path = dir.file(name)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func resolvesTheCurrentContextWithDataAndRelativeFiles() throws {
        let dir = try TemporaryDirectory()
        _ = try write(dir, "ca.crt", caPEM)
        _ = try write(dir, "token", "file-token\n")
        let cert = Data("CERT".utf8).base64EncodedString()
        let key = Data("KEY".utf8).base64EncodedString()
        let path = try write(
            dir, "config",
            """
            apiVersion: v1
            kind: Config
            current-context: prod
            clusters:
            - name: prod-cluster
              cluster:
                server: https://10.0.0.1:6443/
                certificate-authority: ca.crt
            - name: dev-cluster
              cluster:
                server: https://dev:6443
                insecure-skip-tls-verify: true
            users:
            - name: admin
              user:
                client-certificate-data: \(cert)
                client-key-data: \(key)
            - name: robot
              user:
                tokenFile: token
            contexts:
            - name: prod
              context: {cluster: prod-cluster, user: admin, namespace: emp-system}
            - name: dev
              context: {cluster: dev-cluster, user: robot}
            preferences: {}
            """
        )
        let prod = try KubeConfig.load(paths: [path])
        #expect(prod.server == "https://10.0.0.1:6443")
        #expect(prod.namespace == "emp-system")
        #expect(prod.certificateAuthorityPEM == Data(caPEM.utf8))
        #expect(prod.clientCertificatePEM == Data("CERT".utf8))
        #expect(prod.clientKeyPEM == Data("KEY".utf8))
        let dev = try KubeConfig.load(paths: [path], context: "dev")
        #expect(dev.insecureSkipTLSVerify)
        #expect(dev.namespace == "default")
        #expect(dev.credentials == .tokenFile(dir.file("token")))
    }

    @Test func kubeconfigListMergesFirstDefinitionWins() throws {
        let dir = try TemporaryDirectory()
        let first = try write(
            dir, "a",
            """
            current-context: a
            clusters: [{name: c, cluster: {server: "https://first:6443"}}]
            users: [{name: u, user: {token: first-token}}]
            contexts: [{name: a, context: {cluster: c, user: u}}]
            """
        )
        let second = try write(
            dir, "b",
            """
            current-context: b
            clusters: [{name: c, cluster: {server: "https://second:6443"}}, {name: d, cluster: {server: "https://d:6443"}}]
            users: [{name: u, user: {token: second-token}}]
            contexts: [{name: b, context: {cluster: d, user: u}}]
            """
        )
        let merged = try KubeConfig.load(environment: ["KUBECONFIG": "\(first):\(dir.file("missing")):\(second)"])
        #expect(merged.server == "https://first:6443")
        #expect(merged.credentials == .token("first-token"))
        let other = try KubeConfig.load(environment: ["KUBECONFIG": "\(first):\(second)"], context: "b")
        #expect(other.server == "https://d:6443")
        #expect(other.credentials == .token("first-token"))
    }

    @Test(arguments: [
        ("clusters: [{name: c, cluster: {}}]\n", "clusters[0].cluster.server: is required"),
        ("current-context: x\ncontexts: [{name: y, context: {cluster: c}}]\n", "current-context: context \"x\" is not defined"),
        (
            "current-context: x\nclusters: []\ncontexts: [{name: x, context: {cluster: nope}}]\n",
            "contexts[0].context.cluster: cluster \"nope\" is not defined"
        ),
        (
            "current-context: x\nclusters: [{name: c, cluster: {server: s}}]\ncontexts: [{name: x, context: {cluster: c, user: ghost}}]\n",
            "clusters[0].cluster.server: \"s\" is not a URL"
        ),
        (
            "current-context: x\nclusters: [{name: c, cluster: {server: \"https://a\", certificate-authority-data: \"%%%\"}}]\ncontexts: [{name: x, context: {cluster: c}}]\n",
            "clusters[0].cluster.certificate-authority-data: is not valid base64"
        ),
        (
            "current-context: x\nclusters: [{name: c, cluster: {server: \"https://a\"}}]\nusers: [{name: u, user: {client-certificate-data: QQ==}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n",
            "users[0].user: client-certificate and client-key must be given together"
        ),
        ("clusters: {oops: 1}\n", "clusters"),
    ])
    func malformedFilesNameTheFileAndTheKey(yaml: String, expected: String) throws {
        let dir = try TemporaryDirectory()
        let path = try write(dir, "config", yaml)
        do {
            _ = try KubeConfig.load(paths: [path])
            Issue.record("accepted: \(yaml)")
        } catch let error as KubeConfigError {
            #expect(error.description.contains(path), "\(error)")
            #expect(error.description.contains(expected), "\(error)")
        }
    }

    @Test func inClusterUsesTheServiceAccount() throws {
        let dir = try TemporaryDirectory()
        _ = try write(dir, "token", "sa-token")
        _ = try write(dir, "ca.crt", caPEM)
        _ = try write(dir, "namespace", "emp-system\n")
        let config = try KubeConfig.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"],
            directory: dir.path
        )
        #expect(config.server == "https://10.96.0.1:443")
        #expect(config.namespace == "emp-system")
        #expect(config.credentials == .tokenFile(dir.file("token")))
        #expect(config.certificateAuthorityPEM == Data(caPEM.utf8))
        #expect(throws: KubeConfigError.self) { try KubeConfig.inCluster(environment: [:], directory: dir.path) }
        #expect(throws: KubeConfigError.self) { try KubeConfig.load(environment: ["HOME": dir.file("nohome")]) }
    }
}

@Suite struct ExecCredentialTests {
    /// A plugin script that counts its runs and prints an ExecCredential expiring at `expiry`.
    func plugin(_ dir: TemporaryDirectory, expiry: String?, body: String? = nil) throws -> String {
        let path = dir.file("plugin.sh")
        let expiryField = expiry.map { #","expirationTimestamp":"\#($0)""# } ?? ""
        let json =
            body ?? #"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-$N"\#(expiryField)}}"#
        let script = """
            #!/bin/sh
            N=$(cat "\(dir.file("count"))" 2>/dev/null || echo 0); N=$((N+1)); echo $N > "\(dir.file("count"))"
            [ -n "$KUBERNETES_EXEC_INFO" ] || { echo "no exec info" >&2; exit 3; }
            [ "$1" = "get-token" ] || { echo "bad args: $*" >&2; exit 4; }
            echo '\(json)' | sed "s/\\$N/$N/"
            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test func cachesUntilExpiry() async throws {
        let dir = try TemporaryDirectory()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let clock = Clock(start)
        let command = try plugin(dir, expiry: "2027-01-15T08:00:00Z")
        let expiry = try #require(KubeTime.parse("2027-01-15T08:00:00Z"))
        clock.set(expiry - 600)
        let provider = ExecCredentialProvider(config: ExecConfig(command: command, args: ["get-token"]), now: { clock.get() })
        #expect(try await provider.credential().token == "tok-1")
        #expect(try await provider.credential().token == "tok-1")
        #expect(await provider.runs == 1)
        clock.set(expiry - 10)  // inside the 30 s refresh skew
        #expect(try await provider.credential().token == "tok-2")
        #expect(await provider.runs == 2)
        await provider.invalidate()
        #expect(try await provider.credential().token == "tok-3")
    }

    @Test func failuresSayWhatWentWrong() async throws {
        let dir = try TemporaryDirectory()
        let failing = ExecCredentialProvider(config: ExecConfig(command: try plugin(dir, expiry: nil), args: ["wrong"]))
        await #expect(throws: KubeCredentialError.self) { _ = try await failing.credential() }
        do {
            _ = try await failing.credential()
        } catch {
            #expect("\(error)".contains("exited with 4: bad args: wrong"))
        }
        let garbage = ExecCredentialProvider(
            config: ExecConfig(command: try plugin(dir, expiry: nil, body: "not json"), args: ["get-token"]))
        await #expect(throws: KubeCredentialError.self) { _ = try await garbage.credential() }
        let missing = ExecCredentialProvider(config: ExecConfig(command: "/nonexistent/aws", args: ["eks", "get-token"]))
        await #expect(throws: KubeCredentialError.self) { _ = try await missing.credential() }
    }
}

/// A settable clock for the cache tests.
final class Clock: @unchecked Sendable {
    // @unchecked: guarded by `lock`.
    private let lock = NSLock()
    private var value: Date
    init(_ value: Date) { self.value = value }
    func get() -> Date { lock.withLock { value } }
    func set(_ date: Date) { lock.withLock { value = date } }
}
