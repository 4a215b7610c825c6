public import EMPModel
public import Foundation
import Synchronization

/// Console logins. A login with an operator or viewer token starts a session, kept in memory with a server-side
/// expiry (a restart logs everyone out); each session has its own CSRF token for the forms that act.
final class ConsoleSessions: Sendable {
    /// What a session may do: operators act, viewers only look.
    enum Role: String, Sendable {
        case `operator`
        case viewer
    }

    struct Session: Sendable {
        let id: String
        let role: Role
        let csrf: String
        let expires: Date
    }

    private let sessions = Mutex<[String: Session]>([:])
    let lifetime: TimeInterval
    let clock: any EMPClock
    /// Set on graceful shutdown: the live-update streams end.
    let closing = Atomic<Bool>(false)

    init(lifetime: TimeInterval, clock: any EMPClock) {
        self.lifetime = lifetime
        self.clock = clock
    }

    func start(_ role: Role) -> Session {
        let session = Session(id: Secrets.random(), role: role, csrf: Secrets.random(), expires: clock.date.addingTimeInterval(lifetime))
        let now = clock.date
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expires > now }
            sessions[session.id] = session
        }
        return session
    }

    /// The live session with this id; an expired one is forgotten.
    func session(_ id: String?) -> Session? {
        guard let id else { return nil }
        let now = clock.date
        return sessions.withLock { sessions in
            guard let session = sessions[id] else { return nil }
            guard session.expires > now else {
                sessions[id] = nil
                return nil
            }
            return session
        }
    }

    func end(_ id: String) { _ = sessions.withLock { $0.removeValue(forKey: id) } }
}

/// The console's state in memory, shared by its routes, the autoscaler (pending pods) and shutdown (ends streams).
public struct ConsoleState: Sendable {
    let sessions: ConsoleSessions
    public let pending: PendingBoard
    public let plans: PlanBoard

    public init(sessionLifetime: TimeInterval = 12 * 3600, clock: any EMPClock = SystemClock()) {
        sessions = ConsoleSessions(lifetime: sessionLifetime, clock: clock)
        pending = PendingBoard()
        plans = PlanBoard()
    }

    /// Ends the live-update streams (graceful shutdown; the store's waits on ``ConsoleRoutes/updatesScope`` must end
    /// too).
    public func close() { sessions.closing.store(true, ordering: .relaxed) }
}
