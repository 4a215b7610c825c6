public import EMPModel
public import Foundation
import GRDB
import NIOConcurrencyHelpers

/// The default ``StateStore``: one SQLite file in WAL mode through GRDB, schema managed by ``Schema``.
///
/// Objects are stored as JSON documents next to the columns queries filter on, so adding a model field
/// needs no schema migration.
public final class SQLiteStore: StateStore {
    /// Tunables; defaults favour durability.
    public struct Configuration: Sendable {
        /// `PRAGMA synchronous`: `FULL` (default) survives power loss, `NORMAL` only process crashes.
        public var synchronousFull: Bool
        /// How long a writer waits for another process's lock. Default 5 s.
        public var busyTimeout: TimeInterval
        /// What long-poll timeouts are measured on (tests pass a manual clock).
        public var clock: any EMPClock

        public init(synchronousFull: Bool = true, busyTimeout: TimeInterval = 5, clock: any EMPClock = SystemClock()) {
            self.synchronousFull = synchronousFull
            self.busyTimeout = busyTimeout
            self.clock = clock
        }
    }

    private let pool: DatabasePool
    /// Wakes long polls after commits that bump a revision.
    let notifier = RevisionNotifier()
    /// Long-poll timeouts run on this clock.
    private let clock: any EMPClock
    /// The database file.
    public let path: String
    /// Heartbeats and usage between flushes.
    let soft = SoftState()
    /// Decoded hosts and EVMs by their stored bytes.
    let documents = DecodedDocuments()
    /// The cause of the last failed write, until a write succeeds again.
    private let lastWriteFailure = NIOLockedValueBox<String?>(nil)

    /// Opens (creating if needed) the database at `path` and applies pending schema migrations.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        clock = configuration.clock
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        let synchronous = configuration.synchronousFull ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            try Self.restrictFiles(path)
            pool = try DatabasePool(path: path, configuration: config)
            try Schema.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw StoreError("cannot open SQLite database \(path): \(error.message ?? error.description)")
        }
        self.path = path
        // The memory is empty yet, so this reads the stored figures (and fills the memo of decoded hosts).
        let hosts = try pool.read { [soft, documents] db in
            try SQLiteTransaction(db: db, notifier: nil, soft: soft, commits: nil, documents: documents).hosts(pool: nil)
        }
        soft.seed(hosts, at: clock.date)
    }

    /// Opens `emp.sqlite` inside `directory`, creating the directory (mode 0700) when missing.
    public convenience init(directory: String, configuration: Configuration = Configuration()) throws {
        try FileManager.default.createDirectory(
            atPath: directory,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        try self.init(path: (directory as NSString).appendingPathComponent("emp.sqlite"), configuration: configuration)
    }

    /// The database and its WAL and shared-memory files hold secrets' hashes and the pools' bootstrap tokens:
    /// owner-only (0600). SQLite gives the `-wal` and `-shm` files the database file's mode, so creating that
    /// file 0600 first is enough; files of an older store are tightened here too.
    static func restrictFiles(_ path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        for file in [path, path + "-wal", path + "-shm"] where FileManager.default.fileExists(atPath: file) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
        }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        do {
            return try await pool.read { [soft, documents] db in
                try body(SQLiteTransaction(db: db, notifier: nil, soft: soft, commits: nil, documents: documents))
            }
        } catch let error as DatabaseError {
            throw Self.unavailable(error) ?? error
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        let notifier = self.notifier
        let commits = CommitLog()
        do {
            let result = try await pool.write { [soft, documents] db in
                try body(SQLiteTransaction(db: db, notifier: notifier, soft: soft, commits: commits, documents: documents))
            }
            commits.apply(to: soft)
            lastWriteFailure.withLockedValue { $0 = nil }
            return result
        } catch let error as DatabaseError {
            guard let unavailable = Self.unavailable(error) else { throw error }
            lastWriteFailure.withLockedValue { $0 = unavailable.cause }
            throw unavailable
        }
    }

    /// Errors that say the environment, not the request, is at fault: disk full, I/O, read-only, cannot open.
    static func unavailable(_ error: DatabaseError) -> StoreUnavailable? {
        switch error.resultCode {
        case .SQLITE_FULL: StoreUnavailable("database or disk is full (\(error.message ?? "SQLITE_FULL"))")
        case .SQLITE_IOERR: StoreUnavailable("disk I/O error (\(error.message ?? "SQLITE_IOERR"))")
        case .SQLITE_READONLY: StoreUnavailable("the database is read-only (\(error.message ?? "SQLITE_READONLY"))")
        case .SQLITE_CANTOPEN: StoreUnavailable("the database file cannot be opened (\(error.message ?? "SQLITE_CANTOPEN"))")
        case .SQLITE_CORRUPT, .SQLITE_NOTADB: StoreUnavailable("the database is damaged (\(error.message ?? "SQLITE_CORRUPT"))")
        default: nil
        }
    }

    public func writeFailure() async -> String? {
        guard let failure = lastWriteFailure.withLockedValue({ $0 }) else { return nil }
        // A small probe can succeed in WAL pages already allocated while real writes still fail for want of space:
        // below 1 MiB free the store stays unready.
        let directory = (path as NSString).deletingLastPathComponent
        if let free = Self.freeBytes(directory), free < 1 << 20 {
            return "\(failure); \(free) bytes free in \(directory)"
        }
        do {
            _ = try await write { try $0.bumpRevision("readiness-probe") }
            return nil
        } catch let error as StoreUnavailable {
            return error.cause
        } catch {
            return "\(error)"
        }
    }

    /// Bytes available to this process on the file system holding `directory`.
    static func freeBytes(_ directory: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    public func endWaits(prefix: String) { notifier.endAll(prefix: prefix) }

    // MARK: Soft state

    public func recordSoftState(host: EMPModel.Host, evms: [EVM], persisted: Bool) {
        soft.record(host: host, evms: evms, persisted: persisted)
    }

    public func silentHosts(heartbeatAtOrBefore cutoff: Date, in state: HostState) -> [String] {
        soft.silentHosts(heartbeatAtOrBefore: cutoff, in: state)
    }

    public func flushSoftState(batch: Int, evms includeEVMs: Bool) async throws -> Int {
        let (hosts, evms) = soft.dirty()
        // Each object is read through the overlay and written back: the stored document gets the latest figures.
        var written = try await rewrite(hosts, batch: batch) { tx, id in
            guard let host = try tx.host(id) else { return false }
            try tx.save(host)
            return true
        }
        guard includeEVMs else { return written }
        written += try await rewrite(evms, batch: batch) { tx, id in
            guard let evm = try tx.evm(id) else { return false }
            try tx.save(evm)
            return true
        }
        return written
    }

    /// Runs `one` for each id, `batch` per write transaction (short ones: a flush never holds the writer long
    /// enough to delay a placement or a report); returns how many it wrote.
    private func rewrite(
        _ ids: [String], batch: Int, _ one: @escaping @Sendable (any StoreWriting, String) throws -> Bool
    ) async throws -> Int {
        let size = max(1, batch)
        var written = 0
        for start in stride(from: 0, to: ids.count, by: size) {
            let chunk = ids[start..<min(start + size, ids.count)]
            written += try await write { tx in try chunk.reduce(0) { count, id in try one(tx, id) ? count + 1 : count } }
        }
        return written
    }

    /// Hosts and EVMs whose figures are in memory only (not yet flushed).
    public var unflushedSoftState: (hosts: Int, evms: Int) { soft.unflushed }

    /// Long polls waiting now.
    public var waiterCount: Int { notifier.waiterCount }

    public func waitForRevision(_ scope: String, differentFrom known: Int64, timeout: Duration) async throws -> Int64 {
        let deadline = clock.uptime + timeout
        while true {
            let generation = notifier.generation(scope)
            let revision = try await read { try $0.revision(scope) }
            let remaining = deadline - clock.uptime
            if revision != known || remaining <= .zero || Task.isCancelled || notifier.isEnded(scope) { return revision }
            await notifier.wait(scope, since: generation, timeout: remaining, clock: clock)
        }
    }

    /// The schema version the database is at (the number of applied migrations).
    public func schemaVersion() throws -> Int {
        try pool.read { db in try Schema.migrator.appliedIdentifiers(db).count }
    }

    /// `PRAGMA journal_mode` (`wal` for every store this type opens).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// Runs SQLite's own consistency check; returns its findings (`["ok"]` when sound).
    public func integrityCheck() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
    }
}
