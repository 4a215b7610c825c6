import ArgumentParser
import AsyncHTTPClient
import EMPModel
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Yams

/// Where empctl finds the control plane: flags, then `EMP_SERVER` / `EMP_TOKEN`, then `~/.config/emp/config.yaml`
/// (`server:`, `token:`).
struct ServerOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "Control plane URL, or several replicas' separated by commas (default: EMP_SERVER or ~/.config/emp/config.yaml).")
    var server: String?

    @Option(name: .long, help: "Operator token (default: EMP_TOKEN or ~/.config/emp/config.yaml).")
    var token: String?

    @Option(name: .shortAndLong, help: "Output: table or json.")
    var output: OutputFormat = .table

    /// The stored defaults.
    struct File: Decodable {
        var server: String?
        var token: String?
    }

    func client() throws -> APIClient {
        // Empty variables count as unset.
        let environment = ProcessInfo.processInfo.environment.filter { !$0.value.isEmpty }
        let path = (environment["HOME"] ?? "~") + "/.config/emp/config.yaml"
        var file: File?
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            do {
                file = try YAMLDecoder().decode(File.self, from: text)
            } catch {
                throw ValidationError("\(path): \(error)")
            }
        }
        guard let server = server ?? environment["EMP_SERVER"] ?? file?.server else {
            throw ValidationError("no control plane given: use --server, EMP_SERVER or server: in \(path)")
        }
        guard let token = token ?? environment["EMP_TOKEN"] ?? file?.token else {
            throw ValidationError("no operator token given: use --token, EMP_TOKEN or token: in \(path)")
        }
        return APIClient(server: server.hasSuffix("/") ? String(server.dropLast()) : server, token: token)
    }
}

/// The operator API over HTTP; control-plane errors become ``APIFailure`` with the server's message and field.
/// Given several replicas' URLs it fails over between them and follows a follower's `not_leader` to the leader.
struct APIClient: Sendable {
    let endpoints: ControlPlaneEndpoints
    let token: String

    init(server: String, token: String) {
        endpoints = ControlPlaneEndpoints(server)
        self.token = token
    }

    /// The replica in use.
    var server: String { endpoints.current }

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send(.GET, path, body: nil)
    }

    /// Every item of a paged list endpoint, following `EMP-Continue` page by page (`limit` per call).
    func list<T: Decodable>(_ path: String, as type: T.Type = T.self, limit: Int = 500) async throws -> [T] {
        var items: [T] = []
        var token: String?
        repeat {
            let separator = path.contains("?") ? "&" : "?"
            let (data, headers) = try await exchange(
                .GET, path + separator + "limit=\(limit)" + (token.map { "&continue=\($0)" } ?? ""), body: nil)
            items += try WireJSON.decoder().decode([T].self, from: data)
            token = headers.first(name: "EMP-Continue")
        } while token != nil
        return items
    }

    func post<T: Decodable>(_ path: String, body: some Encodable = EmptyBody(), as type: T.Type = T.self) async throws -> T {
        try await send(.POST, path, body: String(decoding: try WireJSON.encoder().encode(body), as: UTF8.self))
    }

    func patch<T: Decodable>(_ path: String, body: some Encodable, as type: T.Type = T.self) async throws -> T {
        try await send(.PATCH, path, body: String(decoding: try WireJSON.encoder().encode(body), as: UTF8.self))
    }

    func delete(_ path: String) async throws {
        _ = try await raw(.DELETE, path, body: nil)
    }

    func deleteReturning<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await send(.DELETE, path, body: nil)
    }

    private func send<T: Decodable>(_ method: HTTPMethod, _ path: String, body: String?) async throws -> T {
        let data = try await raw(method, path, body: body)
        return try WireJSON.decoder().decode(T.self, from: data)
    }

    /// The response body of a successful call.
    func raw(_ method: HTTPMethod, _ path: String, body: String?) async throws -> Data {
        try await exchange(method, path, body: body).0
    }

    /// The response body and headers of a successful call.
    func exchange(_ method: HTTPMethod, _ path: String, body: String?) async throws -> (Data, HTTPHeaders) {
        let answer: ControlPlaneEndpoints.Attempt<HTTPClientResponse>
        do {
            answer = try await endpoints.withFailover { base in
                var request = HTTPClientRequest(url: base + path)
                request.method = method
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
                request.headers.add(name: "Content-Type", value: "application/json")
                if let body { request.body = .bytes(ByteBuffer(string: body)) }
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                let data = Data(buffer: try await response.body.collect(upTo: 64 << 20))
                return .init(status: Int(response.status.code), body: data, reply: response)
            }
        } catch {
            throw APIFailure(message: "cannot reach the control plane at \(endpoints.current): \(error)", field: nil)
        }
        let (response, data) = (answer.reply, answer.body)
        guard (200..<300).contains(response.status.code) else {
            struct Body: Decodable {
                let message: String
                let field: String?
            }
            let parsed = try? JSONDecoder().decode(Body.self, from: data)
            throw APIFailure(
                message: parsed?.message ?? "HTTP \(response.status.code): \(String(decoding: data, as: UTF8.self))",
                field: parsed?.field
            )
        }
        return (data, response.headers)
    }
}

/// A refusal from the control plane, printed as `error: <message> (field: <name>)`.
struct APIFailure: Error, CustomStringConvertible {
    let message: String
    let field: String?
    var description: String { field.map { "\(message) (field: \($0))" } ?? message }
}

/// Prints `value` as JSON (for `-o json`).
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = WireJSON.encoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// `{}`.
struct EmptyBody: Encodable {}
