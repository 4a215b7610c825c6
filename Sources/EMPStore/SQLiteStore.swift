import EMPModel
import Foundation
import GRDB

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

        public init(synchronousFull: Bool = true, busyTimeout: TimeInterval = 5) {
            self.synchronousFull = synchronousFull
            self.busyTimeout = busyTimeout
        }
    }

    private let pool: DatabasePool
    /// Wakes long polls after commits that bump a revision.
    let notifier = RevisionNotifier()
    /// The database file.
    public let path: String

    /// Opens (creating if needed) the database at `path` and applies pending schema migrations.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        var config = GRDB.Configuration()
        config.busyMode = .timeout(configuration.busyTimeout)
        let synchronous = configuration.synchronousFull ? "FULL" : "NORMAL"
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Schema.migrator.migrate(pool)
        } catch let error as DatabaseError {
            throw StoreError("cannot open SQLite database \(path): \(error.message ?? error.description)")
        }
        self.path = path
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

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteTransaction(db: db, notifier: nil)) }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        let notifier = self.notifier
        return try await pool.write { db in try body(SQLiteTransaction(db: db, notifier: notifier)) }
    }

    public func waitForRevision(_ scope: String, differentFrom known: Int64, timeout: Duration) async throws -> Int64 {
        let deadline = ContinuousClock.now + timeout
        while true {
            let generation = notifier.generation(scope)
            let revision = try await read { try $0.revision(scope) }
            let remaining = deadline - ContinuousClock.now
            if revision != known || remaining <= .zero || Task.isCancelled { return revision }
            await notifier.wait(scope, since: generation, timeout: remaining)
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
