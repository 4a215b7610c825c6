public import Foundation

/// The one time source of every loop and time-dependent decision: Swift's `Clock` for waiting and measuring, plus
/// the wall-clock `Date` that records store, read from the same source so a test's manual clock moves both.
public protocol EMPClock: Clock, Sendable where Duration == Swift.Duration {
    /// The wall-clock time at ``now``: what events, heartbeats and expiries store.
    var date: Date { get }
    /// Monotonic time since an arbitrary origin fixed for the process: windows and timers compare these, so they
    /// work through an existential (`any EMPClock`) and never jump with the wall clock.
    var uptime: Duration { get }
}

/// The production clock: monotonic `ContinuousClock` instants for waits and windows, `Date()` for records.
public struct SystemClock: EMPClock {
    public typealias Instant = ContinuousClock.Instant
    private let base = ContinuousClock()
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Instant { base.now }
    public var minimumResolution: Duration { base.minimumResolution }
    public var date: Date { Date() }
    public var uptime: Duration { base.now - Self.origin }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await base.sleep(until: deadline, tolerance: tolerance)
    }
}

extension Duration {
    /// The duration in seconds as a `TimeInterval`, for comparing with `Date` differences.
    public var timeInterval: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
