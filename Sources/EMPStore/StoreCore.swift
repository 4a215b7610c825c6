import EMPModel
import Foundation
import NIOConcurrencyHelpers

/// What every store keeps in this process beside its database: heartbeats and usage between flushes, the memo
/// of decoded documents, the long polls' wake-ups and the last write failure. ``SQLiteStore`` and
/// ``PostgresStore`` share it, and with it the soft-state flush and the long-poll loop.
final class StoreCore: Sendable {
    /// Heartbeats and usage between flushes.
    let soft = SoftState()
    /// Decoded hosts and EVMs by their stored bytes.
    let documents = DecodedDocuments()
    /// Wakes long polls after commits that bump a revision.
    let notifier = RevisionNotifier()
    /// Long-poll timeouts run on this clock.
    let clock: any EMPClock
    private let failure = NIOLockedValueBox<String?>(nil)

    init(clock: any EMPClock) { self.clock = clock }

    /// The cause of the last failed write, until a write succeeds again.
    var lastWriteFailure: String? { failure.withLockedValue { $0 } }
    func writeFailed(_ cause: String) { failure.withLockedValue { $0 = cause } }
    func writeSucceeded() {
        failure.withLockedValue { $0 = nil }
        commits.withLockedValue { $0 &+= 1 }
    }

    /// Write transactions committed through this store object.
    let commits = NIOLockedValueBox(0)

    typealias Write = @Sendable (@escaping @Sendable (any StoreWriting) throws -> Int) async throws -> Int

    /// Tries a small write after a failed one: nil when it works, else why not.
    func probe(write: Write) async -> String? {
        do {
            _ = try await write { Int(try $0.bumpRevision("readiness-probe")) }
            return nil
        } catch let error as StoreUnavailable {
            return error.cause
        } catch {
            return "\(error)"
        }
    }

    /// Writes the heartbeats and usage held in memory only, `batch` objects per write transaction.
    func flushSoftState(batch: Int, evms includeEVMs: Bool, write: Write) async throws -> Int {
        let (hosts, evms) = soft.dirty()
        // Each object is read through the overlay and written back: the stored document gets the latest figures.
        var written = try await rewrite(hosts, batch: batch, write: write) { tx, id in
            guard let host = try tx.host(id) else { return false }
            try tx.save(host)
            return true
        }
        guard includeEVMs else { return written }
        written += try await rewrite(evms, batch: batch, write: write) { tx, id in
            guard let evm = try tx.evm(id) else { return false }
            try tx.save(evm)
            return true
        }
        return written
    }

    /// Runs `one` for each id, `batch` per write transaction (short ones: a flush never holds the writer long
    /// enough to delay a placement or a report); returns how many it wrote.
    private func rewrite(
        _ ids: [String], batch: Int, write: Write, _ one: @escaping @Sendable (any StoreWriting, String) throws -> Bool
    ) async throws -> Int {
        let size = max(1, batch)
        var written = 0
        for start in stride(from: 0, to: ids.count, by: size) {
            let chunk = ids[start..<min(start + size, ids.count)]
            written += try await write { tx in try chunk.reduce(0) { count, id in try one(tx, id) ? count + 1 : count } }
        }
        return written
    }

    /// The long poll: `scope`'s revision once it differs from `known`, or when `timeout` passes.
    func waitForRevision(
        _ scope: String, differentFrom known: Int64, timeout: Duration,
        read: @Sendable (@escaping @Sendable (any StoreReading) throws -> Int64) async throws -> Int64
    ) async throws -> Int64 {
        let deadline = clock.uptime + timeout
        while true {
            let generation = notifier.generation(scope)
            let revision = try await read { try $0.revision(scope) }
            let remaining = deadline - clock.uptime
            if revision != known || remaining <= .zero || Task.isCancelled || notifier.isEnded(scope) { return revision }
            await notifier.wait(scope, since: generation, timeout: remaining, clock: clock)
        }
    }
}
