public import EMPModel
public import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// The ``StateStore`` for replicas that share a database: PostgreSQL through postgres-nio, the same statements
/// (``SQLTransaction``) and semantics as ``SQLiteStore``. Write transactions are SERIALIZABLE and re-run on a
/// serialization failure; commits that bump a revision `NOTIFY` every replica's long polls.
///
/// Transaction bodies are synchronous (the ``StateStore`` contract), so each runs on a thread of the store's own
/// pool and waits there for its statements' answers; the event loops never block.
public final class PostgresStore: StateStore {
    /// Where the database is and how to reach it. The password never appears in ``description``.
    public struct Configuration: Sendable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var username: String
        public var password: String?
        public var database: String
        /// `disable`, `require` (encrypt, trust any certificate) or `verify-full` (the default when a CA is given).
        public var sslMode: String
        /// PEM file of the CA that signed the server's certificate (`verify-full`).
        public var caFile: String?
        /// Connections in the pool (each running transaction holds one). Default 10.
        public var maxConnections: Int
        /// How long a transaction waits for a pooled connection before the store answers unavailable. Default 10 s.
        public var acquireTimeout: Duration = .seconds(10)
        /// What long-poll timeouts are measured on (tests pass a manual clock).
        public var clock: any EMPClock

        public init(
            host: String, port: Int = 5432, username: String, password: String? = nil, database: String,
            sslMode: String = "disable", caFile: String? = nil, maxConnections: Int = 10, clock: any EMPClock = SystemClock()
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.sslMode = sslMode
            self.caFile = caFile
            self.maxConnections = maxConnections
            self.clock = clock
        }

        /// Reads `postgres://user[:password]@host[:port]/database[?sslmode=…&sslrootcert=…]`. A password in
        /// the URL is taken, but a `password` given apart (from a file or the environment) wins.
        public static func parse(url: String, password: String? = nil) throws -> Configuration {
            guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
                let host = components.host, !host.isEmpty
            else {
                throw StoreError("store url: \"\(Self.redacted(url))\" is not postgres://user@host[:port]/database")
            }
            let database = String(components.path.drop(while: { $0 == "/" }))
            guard !database.isEmpty else { throw StoreError("store url: no database name after the host") }
            guard let user = components.user, !user.isEmpty else { throw StoreError("store url: no user before the host") }
            let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
            let caFile = query["sslrootcert"]
            let sslMode = query["sslmode"] ?? (caFile == nil ? "disable" : "verify-full")
            guard ["disable", "require", "verify-full"].contains(sslMode) else {
                throw StoreError("store url: sslmode \"\(sslMode)\" is not one of disable, require, verify-full")
            }
            if sslMode == "verify-full", caFile == nil {
                throw StoreError("store url: sslmode verify-full needs sslrootcert (the CA's PEM file)")
            }
            for key in query.keys where !["sslmode", "sslrootcert"].contains(key) {
                throw StoreError("store url: unknown parameter \"\(key)\" (known: sslmode, sslrootcert)")
            }
            return Configuration(
                host: host, port: components.port ?? 5432, username: user,
                password: password ?? components.password.flatMap { $0.isEmpty ? nil : $0 }, database: database,
                sslMode: sslMode, caFile: caFile)
        }

        /// The password from `file` (trimmed; the file should be 0600) or else `EMP_STORE_PASSWORD`; nil for neither.
        public static func password(file: String?, environment: [String: String]) throws -> String? {
            guard let file else { return environment["EMP_STORE_PASSWORD"] }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw StoreError("cannot read the password file \(file)")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// `url` with any password replaced by `***`.
        static func redacted(_ url: String) -> String {
            guard var components = URLComponents(string: url), components.password != nil else { return url }
            components.password = "***"
            return components.string ?? "postgres://***"
        }

        public var description: String {
            "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(sslMode)"
        }

        /// The TLS settings `sslMode` asks for; nil for `disable`.
        func tlsConfiguration() throws -> TLSConfiguration? {
            var tls = TLSConfiguration.makeClientConfiguration()
            switch sslMode {
            case "disable":
                return nil
            case "require":
                tls.certificateVerification = .none
            default:
                tls.certificateVerification = .fullVerification
                if let caFile {
                    do {
                        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                    } catch {
                        throw StoreError("store CA file \(caFile): \(error)")
                    }
                }
            }
            return tls
        }

        func connection() throws -> PostgresConnection.Configuration {
            let tls: PostgresConnection.Configuration.TLS =
                if let settings = try tlsConfiguration() { .require(try NIOSSLContext(configuration: settings)) } else { .disable }
            var configuration = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
            configuration.options.connectTimeout = .seconds(5)
            return configuration
        }

        func client() throws -> PostgresClient.Configuration {
            let tls: PostgresClient.Configuration.TLS = if let settings = try tlsConfiguration() { .require(settings) } else { .disable }
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tls)
            configuration.options.maximumConnections = maxConnections
            configuration.options.connectTimeout = .seconds(5)
            return configuration
        }
    }

    /// The channel commits that bump a revision notify, with the scope as payload.
    static let channel = "emp_revision"

    let configuration: Configuration
    private let client: PostgresClient
    private let threads: NIOThreadPool
    private let logger: Logger
    private let tasks: NIOLockedValueBox<[Task<Void, Never>]> = NIOLockedValueBox([])
    /// The schema migration, run once before the first transaction.
    private let prepared: NIOLockedValueBox<Task<Void, any Error>?> = NIOLockedValueBox(nil)
    let core: StoreCore
    /// What writes are checked against (leader election sets it).
    let fenceBox = NIOLockedValueBox(Fence.none)
    /// One write transaction at a time in this process, as on SQLite: concurrent writers queue here instead of
    /// failing each other's SERIALIZABLE transactions (conflicts then come only from another replica).
    private let lane = WriteLane()

    /// Connects lazily: nothing is sent to PostgreSQL before ``prepare()`` or the first transaction.
    public init(configuration: Configuration, logger: Logger = Logger(label: "emp.store.postgres")) throws {
        self.configuration = configuration
        self.logger = logger
        client = PostgresClient(configuration: try configuration.client(), backgroundLogger: logger)
        threads = NIOThreadPool(numberOfThreads: max(2, configuration.maxConnections))
        threads.start()
        core = StoreCore(clock: configuration.clock)
        let (client, notifier) = (self.client, core.notifier)
        tasks.withLockedValue {
            $0.append(Task { await client.run() })
            $0.append(Task { await Self.listen(configuration: configuration, notifier: notifier, logger: logger) })
        }
    }

    deinit {
        for task in tasks.withLockedValue({ $0 }) { task.cancel() }
        threads.shutdownGracefully { _ in }
    }

    /// Stops the connection pool and the listener (the store is unusable afterwards).
    public func shutdown() async {
        for task in tasks.withLockedValue({ $0 }) { task.cancel() }
        try? await threads.shutdownGracefully()
    }

    /// Applies pending schema migrations (under an advisory lock, so replicas starting together take turns) and
    /// seeds the in-memory heartbeats. Transactions call it first; call it at start to fail fast.
    public func prepare() async throws {
        let task = prepared.withLockedValue { task in
            if let task { return task }
            let new = Task { [self] in try await migrate() }
            task = new
            return new
        }
        do {
            try await task.value
        } catch {
            prepared.withLockedValue { $0 = nil }  // try again next time (PostgreSQL may be back)
            throw error
        }
    }

    private func migrate() async throws {
        try await transaction(.readCommitted, prepare: false) { db in
            try db.execute("SELECT pg_advisory_xact_lock(7267001)", [])
            try db.execute("CREATE TABLE IF NOT EXISTS emp_schema (id TEXT PRIMARY KEY, appliedAt DOUBLE PRECISION NOT NULL)", [])
            let applied = Set(try db.rows("SELECT id FROM emp_schema", []).compactMap { $0["id"].text })
            let known = Set(PostgresSchema.migrations.map(\.id))
            if let unknown = applied.subtracting(known).sorted().first {
                throw StoreError("the PostgreSQL schema has migration \"\(unknown)\", which this version does not know: it is newer")
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.id) {
                // One round trip for the whole migration: its statements as one PL/pgSQL block.
                try db.execute("DO $migration$ BEGIN \(migration.statements.map { $0 + ";" }.joined(separator: " ")) END $migration$", [])
                try db.execute(
                    "INSERT INTO emp_schema (id, appliedAt) VALUES (?, ?)",
                    [.text(migration.id), .real(Date().timeIntervalSince1970)])
            }
        }
        try await seedSoftState(prepare: false)
    }

    /// The schema version (applied migrations, numbered as SQLite's).
    public func schemaVersion() async throws -> Int {
        try await prepare()
        let applied = try await transaction(.snapshot) { db in try db.rows("SELECT id FROM emp_schema", []).count }
        return applied == PostgresSchema.migrations.count ? PostgresSchema.version : applied
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (any StoreReading) throws -> T) async throws -> T {
        let core = self.core
        return try await transaction(.snapshot) { db in
            try body(SQLTransaction(db: db, notifier: nil, soft: core.soft, commits: nil, documents: core.documents))
        }
    }

    public func write<T: Sendable>(_ body: @escaping @Sendable (any StoreWriting) throws -> T) async throws -> T {
        let core = self.core
        await lane.acquire()
        defer { lane.release() }
        do {
            let (result, commits) = try await transaction(.serializable) { [self] db in
                try checkFence(db)
                let commits = CommitLog()
                let result = try body(
                    SQLTransaction(db: db, notifier: core.notifier, soft: core.soft, commits: commits, documents: core.documents))
                return (result, commits)
            }
            commits.apply(to: core.soft)
            core.writeSucceeded()
            return result
        } catch let error as StoreUnavailable {
            core.writeFailed(error.cause)
            throw error
        }
    }

    /// Runs `body` in one transaction on a pooled connection, on a thread of the store's pool: SERIALIZABLE for
    /// writes (re-run up to 10 times when PostgreSQL reports a serialization failure or deadlock), a REPEATABLE
    /// READ snapshot for reads. Connection failures become ``StoreUnavailable``.
    func transaction<T: Sendable>(
        _ isolation: Isolation, prepare: Bool = true, _ body: @escaping @Sendable (PostgresSQLConnection) throws -> T
    ) async throws -> T {
        if prepare { try await self.prepare() }
        let (threads, logger) = (self.threads, self.logger)
        var attempt = 0
        while true {
            attempt += 1
            do {
                let (result, actions) = try await withConnection { connection in
                    try await threads.runIfActive {
                        let db = PostgresSQLConnection(connection, logger: logger)
                        try db.execute(isolation.begin, [])
                        do {
                            let result = try body(db)
                            try db.execute("COMMIT", [])
                            return (result, db.committed)
                        } catch {
                            _ = try? db.execute("ROLLBACK", [])
                            // The caller's own errors pass through untouched; only PostgreSQL's are translated.
                            throw error is PSQLError ? error : BodyFailure(error: error)
                        }
                    }
                }
                for action in actions { action() }
                return result
            } catch let failure as BodyFailure {
                throw failure.error
            } catch let error as PSQLError {
                let state = error.serverInfo?[.sqlState]
                if isolation == .serializable, attempt < 10, state == "40001" || state == "40P01" {
                    try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                    continue
                }
                throw Self.translate(error, configuration: configuration)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The pool's own failures: no connection could be made or had in time.
                throw StoreUnavailable("PostgreSQL at \(configuration.host):\(configuration.port) is unreachable (\(error))")
            }
        }
    }

    /// How a transaction sees others.
    enum Isolation {
        case serializable, snapshot, readCommitted
        var begin: String {
            switch self {
            case .serializable: "BEGIN ISOLATION LEVEL SERIALIZABLE"
            case .snapshot: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            case .readCommitted: "BEGIN ISOLATION LEVEL READ COMMITTED"
            }
        }
    }

    /// An error the transaction's body threw (not PostgreSQL's), carried out of the pool unchanged.
    private struct BodyFailure: Error {
        let error: any Error
    }

    /// A pooled connection for `body`, or ``StoreUnavailable`` when none comes within ``Configuration/acquireTimeout``
    /// (the pool itself would keep trying for a minute while an API request waits).
    private func withConnection<R: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        let (client, timeout, configuration) = (self.client, self.configuration.acquireTimeout, self.configuration)
        // Not a task group: a group waits for its children, and a lease that does not end promptly on cancellation
        // would hold the caller (and the write lane behind it) past the timeout. Here the caller is answered at the
        // timeout and the abandoned lease is cancelled in the background; a transaction that started is awaited.
        let gate = NIOLockedValueBox(LeaseGate<R>())
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
                guard gate.withLockedValue({ $0.begin(continuation) }) else { return }
                let timer = Task {
                    try? await Task.sleep(for: timeout)
                    guard !Task.isCancelled else { return }
                    let (waiting, work) = gate.withLockedValue { gate in gate.expire() }
                    work?.cancel()
                    waiting?.resume(
                        throwing: StoreUnavailable(
                            "PostgreSQL at \(configuration.host):\(configuration.port): no connection within \(timeout)"))
                }
                let work = Task {
                    let result: Result<R, any Error>
                    do {
                        result = .success(
                            try await client.withConnection { connection in
                                guard gate.withLockedValue({ $0.start() }) else { throw CancellationError() }
                                return try await body(connection)
                            })
                    } catch {
                        result = .failure(error)
                    }
                    timer.cancel()
                    gate.withLockedValue { $0.finish() }?.resume(with: result)
                }
                if !gate.withLockedValue({ $0.attach(work) }) { work.cancel() }
            }
        } onCancel: {
            let (waiting, work) = gate.withLockedValue { gate in gate.cancel() }
            work?.cancel()
            waiting?.resume(throwing: CancellationError())
        }
    }

    /// A PostgreSQL error as the API reports it: the environment's fault (unreachable, shutting down, out of
    /// space) as ``StoreUnavailable``, anything else as ``StoreError`` with the server's message.
    static func translate(_ error: PSQLError, configuration: Configuration) -> any Error {
        guard let info = error.serverInfo else {
            return StoreUnavailable("PostgreSQL at \(configuration.host):\(configuration.port) is unreachable (\(error.code))")
        }
        let state = info[.sqlState] ?? ""
        let message = info[.message] ?? "\(error.code)"
        // 08: connection exception; 53: insufficient resources; 57P0x: shutting down; 25006: read-only (a standby).
        if state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57P0") || state == "25006" {
            return StoreUnavailable("PostgreSQL: \(message) (SQLSTATE \(state))")
        }
        return StoreError("PostgreSQL: \(message) (SQLSTATE \(state))")
    }

    /// Keeps one connection LISTENing on ``channel`` and wakes this replica's long polls for each notified scope;
    /// reconnects after a second when the connection drops (and wakes every long poll, as notices may be lost).
    private static func listen(configuration: Configuration, notifier: RevisionNotifier, logger: Logger) async {
        var id = 0
        while !Task.isCancelled {
            id += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try configuration.connection(), id: id, logger: logger)
                defer { Task { try? await connection.close() } }
                try await connection.listen(on: Self.channel) { notifications in
                    notifier.notifyAll()
                    for try await notification in notifications { notifier.notify(notification.payload) }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("store listener reconnects", metadata: ["error": "\(error)"])
            }
            notifier.notifyAll()
            try? await Task.sleep(for: .seconds(1))
        }
    }

    public func writeFailure() async -> String? {
        do {
            try await prepare()
        } catch {
            return "\(error)"
        }
        guard core.lastWriteFailure != nil else { return nil }
        return await core.probe(write: { try await self.write($0) })
    }

    public func endWaits(prefix: String) { core.notifier.endAll(prefix: prefix) }

    public func recordSoftState(host: EMPModel.Host, evms: [EVM], persisted: Bool) {
        core.soft.record(host: host, evms: evms, persisted: persisted)
    }

    public func silentHosts(heartbeatAtOrBefore cutoff: Date, in state: HostState) -> [String] {
        core.soft.silentHosts(heartbeatAtOrBefore: cutoff, in: state)
    }

    public func flushSoftState(batch: Int, evms: Bool) async throws -> Int {
        try await core.flushSoftState(batch: batch, evms: evms, write: { try await self.write($0) })
    }

    public func waitForRevision(_ scope: String, differentFrom known: Int64, timeout: Duration) async throws -> Int64 {
        try await core.waitForRevision(scope, differentFrom: known, timeout: timeout, read: { try await self.read($0) })
    }

    /// Long polls waiting now.
    public var waiterCount: Int { core.notifier.waiterCount }
    public var commitCount: Int { core.commits.withLockedValue { $0 } }

    /// Reads every host's stored heartbeat into memory again, silence counting from `now` (a replica that starts
    /// to lead has seen no reports: the previous leader's were flushed at most a flush interval ago).
    public func reseedSoftState() async throws { try await seedSoftState(prepare: true) }

    /// Every host's stored heartbeat into memory, silence counting from now (at start, and on becoming leader);
    /// `prepare` false while the schema migration itself runs.
    private func seedSoftState(prepare: Bool) async throws {
        let core = self.core
        let hosts = try await transaction(.snapshot, prepare: prepare) { db in
            try SQLTransaction(db: db, notifier: nil, soft: core.soft, commits: nil, documents: core.documents).hosts(pool: nil)
        }
        core.soft.seed(hosts, at: core.clock.date)
    }
}

/// A first-come, first-served lock for async callers (``PostgresStore``'s writes).
final class WriteLane: Sendable {
    private struct State {
        var busy = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = NIOLockedValueBox(State())

    /// Returns once the caller holds the lane; pair with ``release()``.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiting.append(continuation)
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Hands the lane to the next waiter, or frees it.
    func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

/// ``SQLConnection`` over one PostgreSQL connection inside a transaction: `?` placeholders become `$1`, `$2`, …;
/// each statement waits for its answer on the calling thread (one of ``PostgresStore``'s, never an event loop).
final class PostgresSQLConnection: SQLConnection, @unchecked Sendable {
    // @unchecked: used by one transaction body on one thread at a time.
    let connection: PostgresConnection
    let logger: Logger
    private(set) var committed: [@Sendable () -> Void] = []

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    var insertionOrder: String { "seq" }

    func afterCommit(_ action: @escaping @Sendable () -> Void) { committed.append(action) }

    func announce(_ scope: String) throws {
        _ = try rows("SELECT pg_notify(?, ?) AS sent", [.text(PostgresStore.channel), .text(scope)])
    }

    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow] {
        try run(sql, arguments).rows.map { row in
            SQLRow(
                row.map { cell in
                    (cell.columnName, Self.value(cell))
                })
        }
    }

    @discardableResult func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    private func run(_ sql: String, _ arguments: [SQLValue]) throws -> PostgresQueryResult {
        var binds = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .text(let text): binds.append(text)
            case .blob(let data): try binds.append(data)
            case .integer(let integer): binds.append(integer)
            case .real(let real): binds.append(real)
            case .null: binds.appendNull()
            }
        }
        // A statement sent on a connection PostgreSQL has just dropped can be left unanswered for ever (found by
        // crashing the server under load): the write would hold the write lane and every write after it. So a
        // closed connection is refused at once, and no statement is waited for longer than `statementDeadline`.
        guard !connection.isClosed else { throw StoreUnavailable("PostgreSQL closed the connection") }
        let eventLoop = connection.eventLoop
        let answer = eventLoop.makePromise(of: PostgresQueryResult.self)
        let deadline = eventLoop.scheduleTask(in: Self.statementDeadline) { answer.fail(StatementDeadline()) }
        defer { deadline.cancel() }
        connection.query(PostgresQuery(unsafeSQL: Self.numbered(sql), binds: binds), logger: logger).cascade(to: answer)
        do {
            return try answer.futureResult.wait()
        } catch is StatementDeadline {
            let _: EventLoopFuture<Void> = connection.close()
            throw StoreUnavailable("PostgreSQL did not answer a statement within \(Self.statementDeadline.nanoseconds / 1_000_000_000) s")
        }
    }

    /// How long a statement may go unanswered before its connection is given up (EMP's statements are small).
    static let statementDeadline = TimeAmount.seconds(30)

    private struct StatementDeadline: Error {}

    /// `sql` with each `?` replaced by `$1`, `$2`, … (the statements hold no `?` inside literals).
    static func numbered(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 8)
        var index = 0
        for character in sql {
            if character == "?" {
                index += 1
                result += "$\(index)"
            } else {
                result.append(character)
            }
        }
        return result
    }

    static func value(_ cell: PostgresCell) -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .bytea: return (try? cell.decode(Data.self)).map(SQLValue.blob) ?? .null
        case .int8, .int4, .int2: return (try? cell.decode(Int64.self)).map(SQLValue.integer) ?? .null
        case .float8, .float4: return (try? cell.decode(Double.self)).map(SQLValue.real) ?? .null
        case .bool: return (try? cell.decode(Bool.self)).map { .integer($0 ? 1 : 0) } ?? .null
        default: return (try? cell.decode(String.self)).map(SQLValue.text) ?? .null
        }
    }
}

/// Who answers a ``PostgresStore`` caller waiting for a pooled connection: the transaction once it started, or the
/// acquire timeout or the caller's cancellation before that, whichever comes first; the others do nothing.
struct LeaseGate<R: Sendable>: Sendable {
    private var waiting: CheckedContinuation<R, any Error>?
    private var work: Task<Void, Never>?
    private var started = false
    private var over = false

    /// Records the caller; false when it was cancelled already (then it has been answered).
    mutating func begin(_ continuation: CheckedContinuation<R, any Error>) -> Bool {
        if over {
            continuation.resume(throwing: CancellationError())
            return false
        }
        waiting = continuation
        return true
    }

    /// Records the work; false when the caller was answered already (the work should be cancelled).
    mutating func attach(_ work: Task<Void, Never>) -> Bool {
        self.work = work
        return !over
    }

    /// A connection came: the transaction may start unless the caller was answered already.
    mutating func start() -> Bool {
        guard !over else { return false }
        started = true
        return true
    }

    /// The work ended: the caller to answer with its result, if not answered yet.
    mutating func finish() -> CheckedContinuation<R, any Error>? {
        defer { (waiting, over) = (nil, true) }
        return over ? nil : waiting
    }

    /// The acquire timeout: the caller to answer and the lease to cancel, unless a transaction started.
    mutating func expire() -> (CheckedContinuation<R, any Error>?, Task<Void, Never>?) {
        guard !started, !over else { return (nil, nil) }
        defer { (waiting, over) = (nil, true) }
        return (waiting, work)
    }

    /// The caller was cancelled: answer it and cancel the work (a started transaction is cancelled too).
    mutating func cancel() -> (CheckedContinuation<R, any Error>?, Task<Void, Never>?) {
        guard !over else { return (nil, work) }
        defer { (waiting, over) = (nil, true) }
        return (waiting, work)
    }
}
