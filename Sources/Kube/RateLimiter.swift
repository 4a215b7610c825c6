import Foundation
import NIOConcurrencyHelpers

/// Client-side token bucket (QPS with a burst), like client-go's, so a hot loop cannot flood the API server.
public final class RateLimiter: Sendable {
    private struct State {
        var tokens: Double
        var last: ContinuousClock.Instant
    }

    public let qps: Double
    public let burst: Int
    private let state: NIOLockedValueBox<State>

    /// `qps` ≤ 0 disables limiting.
    public init(qps: Double, burst: Int) {
        self.qps = qps
        self.burst = max(1, burst)
        self.state = NIOLockedValueBox(State(tokens: Double(max(1, burst)), last: .now))
    }

    /// Takes one token, sleeping until one is available.
    public func acquire() async throws {
        guard qps > 0 else { return }
        let wait: Double = state.withLockedValue { state in
            let now = ContinuousClock.now
            let elapsed = now - state.last
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            state.tokens = min(Double(burst), state.tokens + seconds * qps)
            state.last = now
            state.tokens -= 1
            return state.tokens >= 0 ? 0 : -state.tokens / qps
        }
        if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
    }
}
