public import Foundation
import Synchronization

/// The control-plane replicas a client (agent, empctl) may talk to, and the one it uses now: it moves to the next
/// when one cannot be reached, and to the leader a follower names when a write is refused with `not_leader`.
public final class ControlPlaneEndpoints: Sendable {
    /// The URLs, without trailing slashes, in the order given.
    public let urls: [String]
    private let index = Mutex(0)

    /// `list`: one URL or several separated by commas (`https://cp-1:8443,https://cp-2:8443`).
    public init(_ list: String) {
        let urls = list.split(separator: ",").map { part -> String in
            let url = part.trimmingCharacters(in: .whitespaces)
            return url.hasSuffix("/") ? String(url.dropLast()) : url
        }.filter { !$0.isEmpty }
        self.urls = urls.isEmpty ? [list] : urls
    }

    /// The URL in use.
    public var current: String { urls[index.withLock { $0 }] }

    /// After `failed` could not be reached: the next URL (wrapping), unless another caller moved on already.
    public func advance(from failed: String) {
        index.withLock { index in
            if urls[index] == failed { index = (index + 1) % urls.count }
        }
    }

    /// Uses `leader` when it is one of the URLs (a client never follows a follower to an address it was not given:
    /// its credential is for these); returns whether it did.
    @discardableResult public func select(leader: String) -> Bool {
        let leader = leader.hasSuffix("/") ? String(leader.dropLast()) : leader
        guard let found = urls.firstIndex(of: leader) else { return false }
        index.withLock { $0 = found }
        return true
    }
}

extension ControlPlaneEndpoints {
    /// One answer of one replica, as ``withFailover(_:)`` needs it to decide whether to try another.
    public struct Attempt<Reply: Sendable>: Sendable {
        public let status: Int
        public let body: Data
        public let reply: Reply
        public init(status: Int, body: Data, reply: Reply) {
            self.status = status
            self.body = body
            self.reply = reply
        }
    }

    /// Makes one call with failover, the same for every client: `attempt` sends it to a base URL. A replica that
    /// cannot be reached is left for the next URL (each tried once; the last failure is thrown); a follower's
    /// `503 not_leader` sends the call on to the leader it names when that is one of ``urls``, else to the next.
    /// Cancellation is thrown at once.
    public func withFailover<Reply: Sendable>(_ attempt: (String) async throws -> Attempt<Reply>) async throws -> Attempt<Reply> {
        var moves = 0
        while true {
            let base = current
            let answer: Attempt<Reply>
            do {
                answer = try await attempt(base)
            } catch  where moves < urls.count - 1 && !(error is CancellationError) {
                advance(from: base)
                moves += 1
                continue
            }
            if answer.status == 503, urls.count > 1, moves < urls.count,
                let refusal = try? JSONDecoder().decode(NotLeaderAnswer.self, from: answer.body), refusal.error == "not_leader"
            {
                moves += 1
                if let leader = refusal.leader, leader != base, select(leader: leader) { continue }
                advance(from: base)
                continue
            }
            return answer
        }
    }
}

/// A follower's `503 not_leader` body: where the leader is, when it knows.
public struct NotLeaderAnswer: Decodable, Sendable {
    public let error: String
    public let leader: String?
}
