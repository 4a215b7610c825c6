public import Foundation
import NIOConcurrencyHelpers

/// Who leads the replicas sharing a PostgreSQL store: a lease row with a fencing token that grows with every new
/// leadership. Only the holder's writes land (``PostgresStore/fence(_:)``); a deposed leader's are refused.
public struct Lease: Sendable, Hashable, Codable {
    /// The replica's id.
    public var holder: String
    /// Where clients reach the leader (its advertised URL); may be empty.
    public var address: String
    /// Raised by one each time the lease changes hands: a write carrying an older one is refused.
    public var token: Int64
    public var expiresAt: Date

    public init(holder: String, address: String, token: Int64, expiresAt: Date) {
        self.holder = holder
        self.address = address
        self.token = token
        self.expiresAt = expiresAt
    }
}

/// A write refused because this replica does not lead (or no longer does): the caller should send it to ``leader``.
public struct NotLeader: Error, Sendable, CustomStringConvertible {
    /// The leader's advertised address, when one is known.
    public let leader: String?
    public init(leader: String?) { self.leader = leader }
    public var description: String {
        if let leader, !leader.isEmpty { "this replica does not lead; the leader is \(leader)" } else { "no replica leads yet" }
    }
}

/// What a store's writes are checked against.
enum Fence: Sendable {
    /// One replica, no election: every write goes through.
    case none
    /// Writes go through while the lease row still carries this holder and token.
    case holding(Lease)
    /// Not leading: every write is refused.
    case following
}

extension PostgresStore {
    /// The lease as stored (whoever holds it, expired or not).
    public func leader() async throws -> Lease? {
        try await transaction(.snapshot) { db in try Self.lease(db) }
    }

    /// Takes the lease for `holder` when it is free or expired, or renews it when `holder` already holds it (same
    /// token); returns it, or nil when another replica holds an unexpired lease. `now` comes from the caller's clock:
    /// replicas' clocks must agree to well within `ttl` (NTP does).
    public func acquireLease(holder: String, address: String, ttl: Duration, now: Date) async throws -> Lease? {
        let expiry = now + Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
        return try await transaction(.serializable) { db in
            guard let current = try Self.lease(db) else {
                let lease = Lease(holder: holder, address: address, token: 1, expiresAt: expiry)
                try db.execute(
                    "INSERT INTO leader (id, holder, address, token, expiresAt) VALUES (1, ?, ?, 1, ?)",
                    [.text(holder), .text(address), .real(expiry.timeIntervalSince1970)])
                return lease
            }
            if current.holder != holder && current.expiresAt > now { return nil }
            var lease = current
            if current.holder != holder { lease.token += 1 }
            lease.holder = holder
            lease.address = address
            lease.expiresAt = expiry
            try db.execute(
                "UPDATE leader SET holder = ?, address = ?, token = ?, expiresAt = ? WHERE id = 1",
                [.text(holder), .text(address), .integer(lease.token), .real(expiry.timeIntervalSince1970)])
            return lease
        }
    }

    /// Gives the lease up at once (a clean shutdown), so another replica need not wait for it to expire.
    public func releaseLease(_ lease: Lease) async throws {
        _ = try await transaction(.serializable) { db in
            try db.execute(
                "UPDATE leader SET expiresAt = 0 WHERE id = 1 AND holder = ? AND token = ?", [.text(lease.holder), .integer(lease.token)])
        }
    }

    /// From now on writes land only while `lease` is current (`.holding`), never (`.following`: a follower), or
    /// always (`.none`, the default: one replica without election).
    func setFence(_ fence: Fence) { fenceBox.withLockedValue { $0 = fence } }

    /// Writes land only while `lease` is the stored one; nil refuses every write (this replica follows).
    public func fence(_ lease: Lease?) { setFence(lease.map(Fence.holding) ?? .following) }

    /// Refuses the write unless the fence allows it; called first in every write transaction, so the lease row is
    /// in the transaction's read set and a takeover committed meanwhile fails it (SERIALIZABLE).
    func checkFence(_ db: PostgresSQLConnection) throws {
        switch fenceBox.withLockedValue({ $0 }) {
        case .none:
            return
        case .following:
            throw NotLeader(leader: try Self.lease(db)?.address)
        case .holding(let lease):
            let current = try Self.lease(db)
            guard let current, current.holder == lease.holder, current.token == lease.token else {
                setFence(.following)
                throw NotLeader(leader: current?.address)
            }
        }
    }

    static func lease(_ db: PostgresSQLConnection) throws -> Lease? {
        guard let row = try db.rows("SELECT holder, address, token, expiresAt FROM leader WHERE id = 1", []).first else { return nil }
        return Lease(
            holder: row["holder"].text ?? "", address: row["address"].text ?? "", token: row["token"].integer ?? 0,
            expiresAt: Date(timeIntervalSince1970: row["expiresAt"].real ?? 0))
    }
}
