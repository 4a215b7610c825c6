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

    let pool: DatabasePool
    /// The database file.
    public let path: String
    let core: StoreCore
    var soft: SoftState { core.soft }

    /// Opens (creating if needed) the database at `path` and applies pending schema migrations.
    public init(path: String, configuration: Configuration = Configuration()) throws {
        core = StoreCore(clock: configuration.clock)
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
        let hosts = try pool.read { [core] db in
            try SQLTransaction(db: SQLiteConnection(db), notifier: nil, soft: core.soft, commits: nil, documents: core.documents)
                .hosts(pool: nil)
        }
        core.soft.seed(hosts, at: core.clock.date)
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
            return try await pool.read { [core] db in
                try body(SQLTransaction(db: SQLiteConnection(db), notifier: nil, soft: core.soft, commits: nil, documents: core.documents))
            }
        } catch let error as DatabaseError {
            throw Self.unavailable(error) ?? error
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        let commits = CommitLog()
        do {
            let result = try await pool.write { [core] db in
                try body(
                    SQLTransaction(
                        db: SQLiteConnection(db), notifier: core.notifier, soft: core.soft, commits: commits, documents: core.documents))
            }
            commits.apply(to: core.soft)
            core.writeSucceeded()
            return result
        } catch let error as DatabaseError {
            guard let unavailable = Self.unavailable(error) else { throw error }
            core.writeFailed(unavailable.cause)
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
        guard let failure = core.lastWriteFailure else { return nil }
        // A small probe can succeed in WAL pages already allocated while real writes still fail for want of space:
        // below 1 MiB free the store stays unready.
        let directory = (path as NSString).deletingLastPathComponent
        if let free = Self.freeBytes(directory), free < 1 << 20 {
            return "\(failure); \(free) bytes free in \(directory)"
        }
        return await core.probe(write: { try await self.write($0) })
    }

    /// Bytes available to this process on the file system holding `directory`.
    static func freeBytes(_ directory: String) -> Int64? {
        var stats = statvfs()
        guard statvfs(directory, &stats) == 0 else { return nil }
        return Int64(stats.f_bavail) * Int64(stats.f_frsize)
    }

    public func endWaits(prefix: String) { core.notifier.endAll(prefix: prefix) }

    // MARK: Soft state

    public func recordSoftState(host: EMPModel.Host, evms: [EVM], persisted: Bool) {
        soft.record(host: host, evms: evms, persisted: persisted)
    }

    public func silentHosts(heartbeatAtOrBefore cutoff: Date, in state: HostState) -> [String] {
        soft.silentHosts(heartbeatAtOrBefore: cutoff, in: state)
    }

    public func flushSoftState(batch: Int, evms: Bool) async throws -> Int {
        try await core.flushSoftState(batch: batch, evms: evms, write: { try await self.write($0) })
    }

    /// Hosts and EVMs whose figures are in memory only (not yet flushed).
    public var unflushedSoftState: (hosts: Int, evms: Int) { soft.unflushed }

    /// Long polls waiting now.
    public var waiterCount: Int { core.notifier.waiterCount }
    public var commitCount: Int { core.commits.withLockedValue { $0 } }

    public func waitForRevision(_ scope: String, differentFrom known: Int64, timeout: Duration) async throws -> Int64 {
        try await core.waitForRevision(scope, differentFrom: known, timeout: timeout, read: { try await self.read($0) })
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

/// ``SQLConnection`` over one GRDB `Database` inside a transaction.
struct SQLiteConnection: SQLConnection {
    let db: Database
    init(_ db: Database) { self.db = db }

    var insertionOrder: String { "rowid" }

    /// One process per SQLite store: the in-process notifier is all there is to tell.
    func announce(_ scope: String) {}

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
            SQLRow(
                row.map { column, value in
                    switch value.storage {
                    case .null: (column, .null)
                    case .int64(let value): (column, .integer(value))
                    case .double(let value): (column, .real(value))
                    case .string(let value): (column, .text(value))
                    case .blob(let value): (column, .blob(value))
                    }
                })
        }
    }

    @discardableResult func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try db.execute(sql: sql, arguments: Self.arguments(arguments))
        return db.changesCount
    }

    func afterCommit(_ action: @escaping @Sendable () -> Void) {
        db.afterNextTransaction(onCommit: { _ in action() })
    }

    static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(
            values.map { value -> (any DatabaseValueConvertible)? in
                switch value {
                case .text(let text): text
                case .blob(let data): data
                case .integer(let integer): integer
                case .real(let real): real
                case .null: nil
                }
            })
    }
}
