public import Foundation

/// Runs a kubeconfig `exec` credential plugin (client.authentication.k8s.io/v1) and caches what it prints
/// until the credential's `expirationTimestamp` (a credential without one is kept for the process's life).
public actor ExecCredentialProvider {
    /// What a plugin returns.
    public struct Credential: Sendable, Hashable {
        public var token: String?
        public var clientCertificatePEM: Data?
        public var clientKeyPEM: Data?
        public var expiresAt: Date?
    }

    let config: ExecConfig
    let now: @Sendable () -> Date
    /// Refresh this long before the stated expiry. Default 30 s.
    let skew: TimeInterval
    private var cached: Credential?
    /// How many times the plugin ran (tests check caching).
    public private(set) var runs = 0

    public init(config: ExecConfig, skew: TimeInterval = 30, now: @escaping @Sendable () -> Date = { Date() }) {
        self.config = config
        self.skew = skew
        self.now = now
    }

    /// The cached credential, or a fresh one from the plugin.
    public func credential() async throws -> Credential {
        if let cached, cached.expiresAt.map({ $0.timeIntervalSince(now()) > skew }) ?? true {
            return cached
        }
        let fresh = try await run()
        cached = fresh
        return fresh
    }

    /// Forgets the cached credential (after a 401).
    public func invalidate() { cached = nil }

    private struct ExecCredential: Decodable {
        struct Status: Decodable {
            var token: String?
            var clientCertificateData: String?
            var clientKeyData: String?
            var expirationTimestamp: String?
        }
        var apiVersion: String?
        var kind: String?
        var status: Status?
    }

    private func run() async throws -> Credential {
        runs += 1
        let apiVersion = config.apiVersion ?? "client.authentication.k8s.io/v1"
        let command = ([config.command] + (config.args ?? [])).joined(separator: " ")
        let exited = AsyncStream<Int32>.makeStream()
        let (stdout, stderr) = (Pipe(), Pipe())
        do {
            _ = try await ProcessLaunch.run {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: config.command.hasPrefix("/") ? config.command : "/usr/bin/env")
                process.arguments = (config.command.hasPrefix("/") ? [] : [config.command]) + (config.args ?? [])
                var environment = ProcessInfo.processInfo.environment
                for variable in config.env ?? [] { environment[variable.name] = variable.value }
                environment["KUBERNETES_EXEC_INFO"] =
                    #"{"apiVersion":"\#(apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
                process.environment = environment
                process.standardOutput = stdout
                process.standardError = stderr
                process.standardInput = FileHandle.nullDevice
                process.terminationHandler = {
                    exited.continuation.yield($0.terminationStatus)
                    exited.continuation.finish()
                }
                return process
            }
        } catch {
            let hint = config.installHint.map { " (\($0))" } ?? ""
            throw KubeCredentialError("cannot run credential plugin \(config.command): \(error)\(hint)")
        }
        var status: Int32 = -1
        for await code in exited.stream { status = code }
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard status == 0 else {
            throw KubeCredentialError(
                "credential plugin \(command) exited with \(status): \(errors.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let decoded: ExecCredential
        do {
            decoded = try JSONDecoder().decode(ExecCredential.self, from: output)
        } catch {
            throw KubeCredentialError("credential plugin \(command) printed no ExecCredential JSON: \(error)")
        }
        guard decoded.kind == "ExecCredential", let status = decoded.status else {
            throw KubeCredentialError("credential plugin \(command) printed kind \(decoded.kind ?? "nil") without status")
        }
        var expiry: Date?
        if let timestamp = status.expirationTimestamp {
            guard let parsed = KubeTime.parse(timestamp) else {
                throw KubeCredentialError("credential plugin \(command): expirationTimestamp \"\(timestamp)\" is not RFC 3339")
            }
            expiry = parsed
        }
        guard status.token != nil || (status.clientCertificateData != nil && status.clientKeyData != nil) else {
            throw KubeCredentialError("credential plugin \(command) returned neither a token nor a client certificate and key")
        }
        return Credential(
            token: status.token,
            clientCertificatePEM: status.clientCertificateData.map { Data($0.utf8) },
            clientKeyPEM: status.clientKeyData.map { Data($0.utf8) },
            expiresAt: expiry
        )
    }
}

/// A credential could not be obtained (plugin failed, printed garbage, or no token file).
public struct KubeCredentialError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
