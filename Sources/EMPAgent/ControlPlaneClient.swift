public import AsyncHTTPClient
public import EMPModel
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The agent's side of the agent API (HTTP/JSON): join, long-poll desired state, report. Given several
/// control-plane URLs (comma-separated), it moves to the next when one cannot be reached and to the leader when a
/// follower refuses a write.
public struct ControlPlaneClient: Sendable {
    let http: HTTPClient
    let endpoints: ControlPlaneEndpoints

    public init(http: HTTPClient, baseURL: String) {
        self.http = http
        self.endpoints = ControlPlaneEndpoints(baseURL)
    }

    /// The URL in use now.
    public var baseURL: String { endpoints.current }

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
        let payload = try body.map { ByteBuffer(data: try WireJSON.encoder().encode($0)) }
        let answer = try await endpoints.withFailover { base in
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            request.headers.add(name: "Content-Type", value: "application/json")
            if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
            if let payload { request.body = .bytes(payload) }
            let response = try await http.execute(request, timeout: timeout)
            let bytes = try await response.body.collect(upTo: 16 << 20)
            return .init(status: Int(response.status.code), body: Data(buffer: bytes), reply: response)
        }
        return try Self.decode(answer.reply, answer.body)
    }

    private static func decode<Reply: Decodable>(_ response: HTTPClientResponse, _ body: Data) throws -> Reply {
        guard (200..<300).contains(response.status.code) else {
            let message = (try? WireJSON.decoder().decode(APIErrorBody.self, from: body))?.message ?? String(decoding: body, as: UTF8.self)
            throw ControlPlaneError(status: Int(response.status.code), message: message)
        }
        return try WireJSON.decoder().decode(Reply.self, from: body)
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
