import EMPStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// On a follower, refuses every request that could write (anything but GET and HEAD) before a handler runs, with
/// `503 not_leader`, the leader's address in the body's `leader` and the `EMP-Leader` header, and `Retry-After`.
/// Agents and empctl given several URLs resend it there; reads and the agents' long polls are answered here.
struct FollowerRefusal<Context: RequestContext>: RouterMiddleware {
    let leadership: Leadership

    static var leaderHeader: HTTPField.Name { HTTPField.Name("EMP-Leader")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method != .get, request.method != .head, !leadership.isLeader else { return try await next(request, context) }
        return Self.refusal(NotLeader(leader: leadership.leaderAddress))
    }

    struct Body: Encodable {
        let error: String
        let message: String
        let leader: String?
    }

    /// The 503 a follower answers a write with.
    static func refusal(_ error: NotLeader) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let leader = error.leader.flatMap { $0.isEmpty ? nil : $0 }
        let data = (try? encoder.encode(Body(error: "not_leader", message: error.description, leader: leader))) ?? Data()
        var headers: HTTPFields = [.contentType: "application/json", .contentLength: "\(data.count)", .retryAfter: "1"]
        if let leader { headers[leaderHeader] = leader }
        return Response(status: .serviceUnavailable, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
