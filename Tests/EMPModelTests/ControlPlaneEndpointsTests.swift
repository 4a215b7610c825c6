import EMPModel
import Foundation
import Synchronization
import Testing

/// How agents and empctl pick a control-plane replica: the next one when one cannot be reached, the leader a
/// follower names when it refuses a write, and never an address the operator did not give.
@Suite struct ControlPlaneEndpointsTests {
    struct Unreachable: Error {}

    /// A replica's behaviour in these tests, by base URL.
    enum Replica {
        case down
        case leader
        case follower(naming: String?)
    }

    /// Sends one call through `endpoints` to replicas behaving as `replicas` says; returns who answered, and every
    /// URL tried in order.
    static func call(_ endpoints: ControlPlaneEndpoints, _ replicas: [String: Replica]) async throws -> (String, [String]) {
        let tried = Mutex<[String]>([])
        let answer = try await endpoints.withFailover { base -> ControlPlaneEndpoints.Attempt<String> in
            tried.withLock { $0.append(base) }
            switch replicas[base] ?? .down {
            case .down: throw Unreachable()
            case .leader: return .init(status: 201, body: Data("{}".utf8), reply: base)
            case .follower(let leader):
                let named = leader.map { #","leader":"\#($0)""# } ?? ""
                return .init(status: 503, body: Data(#"{"error":"not_leader","message":"a follower"\#(named)}"#.utf8), reply: base)
            }
        }
        return (answer.reply, tried.withLock { $0 })
    }

    @Test func anUnreachableReplicaIsLeftForTheNextAndTheClientStaysThere() async throws {
        let endpoints = ControlPlaneEndpoints("https://cp-1:8443, https://cp-2:8443/,https://cp-3:8443")
        #expect(endpoints.urls == ["https://cp-1:8443", "https://cp-2:8443", "https://cp-3:8443"])
        let (answered, tried) = try await Self.call(endpoints, ["https://cp-2:8443": .leader])
        #expect(answered == "https://cp-2:8443" && tried == ["https://cp-1:8443", "https://cp-2:8443"])
        let (again, triedAgain) = try await Self.call(endpoints, ["https://cp-2:8443": .leader])
        #expect(again == "https://cp-2:8443" && triedAgain == ["https://cp-2:8443"])
    }

    @Test func aFollowersRefusalGoesStraightToTheLeaderItNames() async throws {
        let endpoints = ControlPlaneEndpoints("https://cp-1:8443,https://cp-2:8443,https://cp-3:8443")
        let replicas: [String: Replica] = [
            "https://cp-1:8443": .follower(naming: "https://cp-3:8443/"), "https://cp-2:8443": .follower(naming: nil),
            "https://cp-3:8443": .leader,
        ]
        let (answered, tried) = try await Self.call(endpoints, replicas)
        #expect(answered == "https://cp-3:8443" && tried == ["https://cp-1:8443", "https://cp-3:8443"])
    }

    @Test func aLeaderAddressTheOperatorDidNotGiveIsNotFollowed() async throws {
        let endpoints = ControlPlaneEndpoints("https://cp-1:8443,https://cp-2:8443")
        let replicas: [String: Replica] = [
            "https://cp-1:8443": .follower(naming: "https://elsewhere:8443"), "https://cp-2:8443": .leader,
        ]
        let (answered, tried) = try await Self.call(endpoints, replicas)
        #expect(answered == "https://cp-2:8443" && tried == ["https://cp-1:8443", "https://cp-2:8443"])
    }

    @Test func everyReplicaDownThrowsAfterTryingEachOnce() async throws {
        let endpoints = ControlPlaneEndpoints("https://cp-1:8443,https://cp-2:8443,https://cp-3:8443")
        let tried = Mutex<[String]>([])
        await #expect(throws: Unreachable.self) {
            _ = try await endpoints.withFailover { base -> ControlPlaneEndpoints.Attempt<String> in
                tried.withLock { $0.append(base) }
                throw Unreachable()
            }
        }
        #expect(tried.withLock { $0 } == ["https://cp-1:8443", "https://cp-2:8443", "https://cp-3:8443"])
    }

    @Test func withOneURLARefusalIsTheAnswerAndCancellationIsNotAFailover() async throws {
        let single = ControlPlaneEndpoints("https://cp-1:8443")
        let (answered, tried) = try await Self.call(single, ["https://cp-1:8443": .follower(naming: "https://cp-1:8443")])
        #expect(answered == "https://cp-1:8443" && tried == ["https://cp-1:8443"])

        let endpoints = ControlPlaneEndpoints("https://cp-1:8443,https://cp-2:8443")
        await #expect(throws: CancellationError.self) {
            _ = try await endpoints.withFailover { _ -> ControlPlaneEndpoints.Attempt<String> in throw CancellationError() }
        }
        #expect(endpoints.current == "https://cp-1:8443")
    }
}
