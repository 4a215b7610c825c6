public import AsyncHTTPClient
public import EMPModel
public import Foundation
public import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// An AWS access key, possibly temporary. Its description never shows the secret or the session token, so it may
/// appear in a log line by accident without leaking.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?
    /// When temporary credentials stop working; nil for long-term keys.
    public var expiration: Date?
    /// Where they came from (`environment`, `profile default in /root/.aws/credentials`, `instance metadata`).
    public var source: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil, source: String) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    public var description: String { "AWSCredentials(\(accessKeyID), from \(source), secret redacted)" }
}

/// One place credentials can come from; nil when it has none to offer (the chain then asks the next).
public protocol AWSCredentialSource: Sendable {
    func load() async throws -> AWSCredentials?
}

/// Why no credentials could be had.
public struct AWSCredentialError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
public struct EnvironmentCredentials: AWSCredentialSource {
    let environment: [String: String]
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) { self.environment = environment }

    public func load() async throws -> AWSCredentials? {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty else { return nil }
        guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw AWSCredentialError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        }
        let token = environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token, source: "environment")
    }
}

/// A profile of the shared credentials file (`~/.aws/credentials`, or `AWS_SHARED_CREDENTIALS_FILE`).
public struct ProfileCredentials: AWSCredentialSource {
    public let path: String
    public let profile: String

    public init(path: String, profile: String) {
        self.path = path
        self.profile = profile
    }

    /// The file and profile the environment names, as the AWS CLI reads them.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, profile: String? = nil) {
        let home = environment["HOME"] ?? NSHomeDirectory()
        self.init(
            path: environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "\(home)/.aws/credentials",
            profile: profile ?? environment["AWS_PROFILE"] ?? "default")
    }

    public func load() async throws -> AWSCredentials? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw AWSCredentialError("cannot read the AWS credentials file \(path)")
        }
        let sections = Self.parse(text)
        guard let values = sections[profile] else { return nil }
        guard let key = values["aws_access_key_id"], let secret = values["aws_secret_access_key"] else {
            throw AWSCredentialError("\(path): profile \(profile) lacks aws_access_key_id or aws_secret_access_key")
        }
        return AWSCredentials(
            accessKeyID: key, secretAccessKey: secret, sessionToken: values["aws_session_token"],
            source: "profile \(profile) in \(path)")
    }

    /// INI sections (`[name]`, `[profile name]`) to their `key = value` lines.
    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)).trimmingCharacters(in: .whitespaces) }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            sections[current]?[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return sections
    }
}

/// The EC2 instance metadata service's role credentials, IMDSv2 only: a session token is fetched with `PUT
/// /latest/api/token` first and sent with every read, as AWS recommends (IMDSv1 can be turned off on the instance).
public struct InstanceMetadataCredentials: AWSCredentialSource {
    let endpoint: String
    let client: HTTPClient
    let timeout: TimeAmount

    /// `endpoint` defaults to `AWS_EC2_METADATA_SERVICE_ENDPOINT` or `http://169.254.169.254`.
    public init(endpoint: String? = nil, client: HTTPClient, timeout: TimeAmount = .seconds(2)) {
        let configured = endpoint ?? ProcessInfo.processInfo.environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        self.endpoint = configured.hasSuffix("/") ? String(configured.dropLast()) : configured
        self.client = client
        self.timeout = timeout
    }

    /// The role credentials document, in IMDS's capitalised keys.
    struct RoleCredentials: Decodable {
        var accessKeyID: String
        var secretAccessKey: String
        var token: String?
        var expiration: Date?

        enum CodingKeys: String, CodingKey {
            case accessKeyID = "AccessKeyId"
            case secretAccessKey = "SecretAccessKey"
            case token = "Token"
            case expiration = "Expiration"
        }
    }

    public func load() async throws -> AWSCredentials? {
        var tokenRequest = HTTPClientRequest(url: "\(endpoint)/latest/api/token")
        tokenRequest.method = .PUT
        tokenRequest.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "21600")
        let token = try await text(tokenRequest, what: "session token")
        let roles = try await get("/latest/meta-data/iam/security-credentials/", token: token, what: "role list")
        guard let role = roles.split(whereSeparator: \.isNewline).first.map(String.init), !role.isEmpty else {
            throw AWSCredentialError("instance metadata: the instance has no IAM role (instance profile)")
        }
        let body = try await get("/latest/meta-data/iam/security-credentials/\(role)", token: token, what: "credentials of role \(role)")
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let credentials = try? decoder.decode(RoleCredentials.self, from: Data(body.utf8)) else {
            throw AWSCredentialError("instance metadata: the credentials of role \(role) are not the expected JSON")
        }
        return AWSCredentials(
            accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.token,
            expiration: credentials.expiration, source: "instance metadata (role \(role))")
    }

    func get(_ path: String, token: String, what: String) async throws -> String {
        var request = HTTPClientRequest(url: endpoint + path)
        request.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        return try await text(request, what: what)
    }

    func text(_ request: HTTPClientRequest, what: String) async throws -> String {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout)
        } catch {
            throw AWSCredentialError("instance metadata at \(endpoint) unreachable (\(what)): \(error)")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw AWSCredentialError("instance metadata: \(what) answered HTTP \(response.status.code)")
        }
        return String(buffer: body)
    }
}

/// The sources in order — environment, shared credentials file, instance metadata — as the AWS SDKs look; the
/// credentials found are kept and loaded again five minutes before they expire.
public actor AWSCredentialChain: AWSCredentialSource {
    let sources: [any AWSCredentialSource]
    let clock: any EMPClock
    /// Refresh this long before the expiration.
    let refreshBefore: TimeInterval
    var cached: AWSCredentials?

    public init(sources: [any AWSCredentialSource], clock: any EMPClock = SystemClock(), refreshBefore: TimeInterval = 300) {
        self.sources = sources
        self.clock = clock
        self.refreshBefore = refreshBefore
    }

    /// The usual chain: environment, then `profile` (or `AWS_PROFILE`) of the shared file, then IMDSv2.
    public static func standard(profile: String?, client: HTTPClient, clock: any EMPClock = SystemClock()) -> AWSCredentialChain {
        AWSCredentialChain(
            sources: [EnvironmentCredentials(), ProfileCredentials(profile: profile), InstanceMetadataCredentials(client: client)],
            clock: clock)
    }

    public func load() async throws -> AWSCredentials? { try await credentials() }

    /// Credentials valid for at least `refreshBefore` more (or without expiry); throws naming every source tried.
    public func credentials() async throws -> AWSCredentials {
        if let cached, cached.expiration.map({ $0.timeIntervalSince(clock.date) > refreshBefore }) ?? true { return cached }
        var failures: [String] = []
        for source in sources {
            do {
                if let found = try await source.load() {
                    cached = found
                    return found
                }
            } catch {
                failures.append("\(error)")
            }
        }
        if let cached, let expiration = cached.expiration, expiration > clock.date { return cached }
        throw AWSCredentialError(
            "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in the shared credentials file, or an instance profile"
                + (failures.isEmpty ? "" : " (\(failures.joined(separator: "; ")))"))
    }
}
