public import EMPModel
public import Foundation

/// A clock that moves only when a test advances it, so loops and timeouts are tested at exact instants without
/// sleeping: sleepers wake in deadline order when ``advance(by:)`` passes their deadline, and
/// ``waitForSleepers(_:timeout:)`` tells a test that the loops it drives have finished their pass and wait again.
public final class ManualClock: EMPClock, @unchecked Sendable {
    /// A point on the manual clock: the time advanced since the clock was made.
    public struct Instant: InstantProtocol {
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    /// What ``waitForSleepers(_:timeout:)`` throws when the loops never went back to sleep.
    public struct Timeout: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Sleeper {
        let id: UUID
        let deadline: Instant
        let continuation: CheckedContinuation<Void, any Error>
    }

    private let lock = NSLock()
    private var offset: Duration = .zero
    private var sleepers: [Sleeper] = []
    private var cancelledEarly: Set<UUID> = []
    /// The wall-clock date at instant zero.
    public let epoch: Date

    /// A clock whose ``date`` starts at `epoch` (default: now, to the whole second).
    public init(epoch: Date = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))) {
        self.epoch = epoch
    }

    public var now: Instant { lock.withLock { Instant(offset: offset) } }
    public var minimumResolution: Duration { .zero }
    public var date: Date { lock.withLock { epoch.addingTimeInterval(offset.timeInterval) } }
    public var uptime: Duration { lock.withLock { offset } }

    /// How many tasks are sleeping on this clock now.
    public var sleeperCount: Int { lock.withLock { sleepers.count } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        try Task.checkCancellation()
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case wait, wake, cancelled }
                let outcome = lock.withLock { () -> Outcome in
                    if cancelledEarly.remove(id) != nil { return .cancelled }
                    if deadline.offset <= offset { return .wake }
                    sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return .wait
                }
                switch outcome {
                case .wait: break
                case .wake: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let sleeper = lock.withLock { () -> Sleeper? in
                if let index = sleepers.firstIndex(where: { $0.id == id }) { return sleepers.remove(at: index) }
                cancelledEarly.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward and wakes, in deadline order, every sleeper whose deadline has come.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a clock does not go back")
        let due = lock.withLock { () -> [Sleeper] in
            offset += duration
            let due = sleepers.filter { $0.deadline.offset <= offset }.sorted { $0.deadline < $1.deadline }
            sleepers.removeAll { $0.deadline.offset <= offset }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Returns once at least `count` tasks sleep on the clock: the loops woken by the last advance have finished
    /// their pass. Polls in real time; throws ``Timeout`` when they never get there.
    public func waitForSleepers(_ count: Int = 1, timeout: Duration = .seconds(20)) async throws {
        let end = ContinuousClock.now + timeout
        while sleeperCount < count {
            guard ContinuousClock.now < end else {
                throw Timeout(description: "\(sleeperCount) of \(count) expected sleepers on the manual clock after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Advances by `duration` and waits until `sleepers` tasks sleep again: one step of the loops under test.
    public func step(by duration: Duration, sleepers: Int = 1) async throws {
        advance(by: duration)
        try await waitForSleepers(sleepers)
    }
}
