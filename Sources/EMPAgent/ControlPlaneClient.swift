public import AsyncHTTPClient
public import EMPModel
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The agent's side of the agent API (HTTP/JSON): join, long-poll desired state, report.
public struct ControlPlaneClient: Sendable {
    let http: HTTPClient
    let baseURL: String

    public init(http: HTTPClient, baseURL: String) {
        self.http = http
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    /// Trades a join token for a credential.
    public func join(_ request: JoinRequest) async throws -> JoinResponse {
        try await send(.POST, "/v1/agent/join", body: request, bearer: nil, timeout: .seconds(30))
    }

    /// Waits (up to `wait` seconds) for the host's desired state to move past `revision`.
    public func desired(_ credential: Credential, after revision: Int64, wait: Int) async throws -> DesiredState {
        try await send(
            .GET,
            "/v1/agent/hosts/\(credential.hostID)/desired?revision=\(revision)&wait=\(wait)",
            body: Optional<Int>.none,
            bearer: credential.secret,
            timeout: .seconds(Int64(wait) + 15)
        )
    }

    /// Sends usage and observed domains (the heartbeat).
    public func report(_ credential: Credential, _ report: HostReport) async throws {
        let _: IgnoredBody = try await send(
            .POST, "/v1/agent/hosts/\(credential.hostID)/report", body: report, bearer: credential.secret, timeout: .seconds(30)
        )
    }

    /// Reports a migration's step (prepared, progress, completed, failed).
    public func migration(_ credential: Credential, _ id: String, _ update: MigrationUpdate) async throws {
        let _: IgnoredBody = try await send(
            .POST, "/v1/agent/hosts/\(credential.hostID)/migrations/\(id)", body: update, bearer: credential.secret, timeout: .seconds(30))
    }

    private struct IgnoredBody: Decodable {}

    private func send<Body: Encodable, Reply: Decodable>(
        _ method: HTTPMethod,
        _ path: String,
        body: Body?,
        bearer: String?,
        timeout: TimeAmount
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        if let body { request.body = .bytes(ByteBuffer(data: try WireJSON.encoder().encode(body))) }
        let response = try await http.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        guard (200..<300).contains(response.status.code) else {
            let message = (try? WireJSON.decoder().decode(APIErrorBody.self, from: Data(buffer: bytes)))?.message ?? String(buffer: bytes)
            throw ControlPlaneError(status: Int(response.status.code), message: message)
        }
        return try WireJSON.decoder().decode(Reply.self, from: Data(buffer: bytes))
    }
}

/// The control plane's JSON error body.
struct APIErrorBody: Decodable {
    let error: String
    let message: String
}

/// A refusal from the control plane: its HTTP status and message.
public struct ControlPlaneError: Error, Sendable, CustomStringConvertible {
    public let status: Int
    public let message: String
    public var description: String { "control plane answered \(status): \(message)" }
}
