import EMPModel
import Foundation
import GRDB

/// ``StoreWriting`` over one GRDB `Database` inside a transaction. Lives only for the transaction's body.
struct SQLiteTransaction: StoreWriting {
    let db: Database
    /// Told about bumped revisions once the transaction commits (nil for reads).
    let notifier: RevisionNotifier?
    /// Laid over every host and EVM read (heartbeats and usage).
    let soft: SoftState
    /// What this write saved and deleted, for ``soft`` once it commits (nil for reads).
    let commits: CommitLog?
    /// Hosts and EVMs decoded before, by their bytes.
    let documents: DecodedDocuments

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()
    private static let decoder = JSONDecoder()

    private func encode<T: Encodable>(_ value: T) throws -> Data { try Self.encoder.encode(value) }

    private func decode<T: Decodable>(_ type: T.Type, _ rows: [Row]) throws -> [T] {
        try rows.map { row in
            let data: Data = row["data"]
            // Queries of hosts and EVMs select their id too: the memo of decoded documents is keyed by it.
            let id: String? = T.self == EMPModel.Host.self || T.self == EVM.self ? row["id"] : nil
            do {
                return try documents.decode(T.self, id: id, from: data, with: Self.decoder)
            } catch {
                throw StoreError("stored \(T.self) is unreadable: \(error)")
            }
        }
    }

    private func fetch<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: StatementArguments = []) throws -> [T] {
        try decode(type, try Row.fetchAll(db, sql: sql, arguments: arguments))
    }

    private func delete(_ table: String, _ id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM \(table) WHERE id = ?", arguments: [id])
        return db.changesCount > 0
    }

    // MARK: Reading

    func pool(_ id: String) throws -> Pool? {
        try fetch(Pool.self, "SELECT data FROM pool WHERE id = ?", [id]).first
    }

    func pools() throws -> [Pool] {
        try fetch(Pool.self, "SELECT data FROM pool ORDER BY id")
    }

    func host(_ id: String) throws -> EMPModel.Host? {
        var hosts = try fetch(EMPModel.Host.self, "SELECT id, data FROM host WHERE id = ?", [id])
        soft.overlay(&hosts)
        return hosts.first
    }

    func hosts(pool: String?) throws -> [EMPModel.Host] {
        var hosts =
            if let pool {
                try fetch(EMPModel.Host.self, "SELECT id, data FROM host WHERE poolID = ? ORDER BY id", [pool])
            } else {
                try fetch(EMPModel.Host.self, "SELECT id, data FROM host ORDER BY id")
            }
        soft.overlay(&hosts)
        return hosts
    }

    func evm(_ id: String) throws -> EVM? {
        var evms = try fetch(EVM.self, "SELECT id, data FROM evm WHERE id = ?", [id])
        soft.overlay(&evms)
        return evms.first
    }

    /// The WHERE clause for `filter`; nil when nothing can match.
    private static func condition(_ filter: EVMFilter) -> (String, StatementArguments)? {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let poolID = filter.poolID {
            clauses.append("poolID = ?")
            arguments += [poolID]
        }
        if let hostID = filter.hostID {
            clauses.append("hostID = ?")
            arguments += [hostID]
        }
        if let previousHostID = filter.previousHostID {
            clauses.append("previousHostID = ?")
            arguments += [previousHostID]
        }
        if let phases = filter.phases {
            if phases.isEmpty { return nil }
            clauses.append("phase IN (\(Array(repeating: "?", count: phases.count).joined(separator: ",")))")
            for phase in phases.map(\.rawValue).sorted() { arguments += [phase] }
        }
        return (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "), arguments)
    }

    func evms(_ filter: EVMFilter) throws -> [EVM] {
        guard let (condition, arguments) = Self.condition(filter) else { return [] }
        var evms = try fetch(EVM.self, "SELECT id, data FROM evm\(condition) ORDER BY id", arguments)
        soft.overlay(&evms)
        return evms
    }

    func evms(_ filter: EVMFilter, after: String?, limit: Int) throws -> [EVM] {
        guard var (condition, arguments) = Self.condition(filter) else { return [] }
        if let after {
            condition += (condition.isEmpty ? " WHERE " : " AND ") + "id > ?"
            arguments += [after]
        }
        arguments += [max(0, limit)]
        var evms = try fetch(EVM.self, "SELECT id, data FROM evm\(condition) ORDER BY id LIMIT ?", arguments)
        soft.overlay(&evms)
        return evms
    }

    func hosts(pool: String?, after: String?, limit: Int) throws -> [EMPModel.Host] {
        var hosts = try fetch(
            EMPModel.Host.self, "SELECT id, data FROM host WHERE (? IS NULL OR poolID = ?) AND (? IS NULL OR id > ?) ORDER BY id LIMIT ?",
            [pool, pool, after, after, max(0, limit)])
        soft.overlay(&hosts)
        return hosts
    }

    func evmCount(_ filter: EVMFilter) throws -> Int {
        guard let (condition, arguments) = Self.condition(filter) else { return 0 }
        return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM evm\(condition)", arguments: arguments) ?? 0
    }

    func evmExists(_ id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM evm WHERE id = ?)", arguments: [id]) ?? false
    }

    func migration(_ id: String) throws -> Migration? {
        try fetch(Migration.self, "SELECT data FROM migration WHERE id = ?", [id]).first
    }

    func migrations(_ filter: MigrationFilter) throws -> [Migration] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let evmID = filter.evmID {
            clauses.append("evmID = ?")
            arguments += [evmID]
        }
        if let hostID = filter.hostID {
            clauses.append("(fromHost = ? OR toHost = ?)")
            arguments += [hostID, hostID]
        }
        if let states = filter.states {
            if states.isEmpty { return [] }
            clauses.append("state IN (\(Array(repeating: "?", count: states.count).joined(separator: ",")))")
            for state in states.map(\.rawValue).sorted() { arguments += [state] }
        }
        let condition = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        return try fetch(Migration.self, "SELECT data FROM migration\(condition) ORDER BY rowid", arguments)
    }

    func joinToken(_ id: String) throws -> JoinToken? {
        try fetch(JoinToken.self, "SELECT data FROM joinToken WHERE id = ?", [id]).first
    }

    func joinTokens(pool: String?) throws -> [JoinToken] {
        if let pool {
            return try fetch(JoinToken.self, "SELECT data FROM joinToken WHERE poolID = ? ORDER BY id", [pool])
        }
        return try fetch(JoinToken.self, "SELECT data FROM joinToken ORDER BY id")
    }

    func credential(host: String) throws -> AgentCredential? {
        try fetch(AgentCredential.self, "SELECT data FROM credential WHERE hostID = ?", [host]).first
    }

    func credential(secretHash: String) throws -> AgentCredential? {
        try fetch(AgentCredential.self, "SELECT data FROM credential WHERE secretHash = ?", [secretHash]).first
    }

    func events(_ filter: EventFilter) throws -> [Event] {
        var clauses: [String] = []
        var arguments: StatementArguments = []
        if let object = filter.object {
            clauses.append("objectKind = ? AND objectID = ?")
            arguments += [object.kind.rawValue, object.id]
        }
        if let after = filter.after {
            clauses.append("id > ?")
            arguments += [after]
        }
        let condition = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        arguments += [max(0, filter.limit)]
        let rows = try Row.fetchAll(
            db,
            sql: "SELECT id, data FROM event\(condition) ORDER BY id DESC LIMIT ?",
            arguments: arguments
        )
        return try rows.reversed().map { row in
            var event = try decode(Event.self, [row])[0]
            event.id = row["id"]
            return event
        }
    }

    func revision(_ scope: String) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT value FROM revision WHERE scope = ?", arguments: [scope]) ?? 0
    }

    // MARK: Writing

    func save(_ pool: Pool) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO pool (id, data) VALUES (?, ?)",
            arguments: [pool.id, try encode(pool)]
        )
    }

    func deletePool(_ id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM poolSample WHERE poolID = ?", arguments: [id])
        try db.execute(sql: "DELETE FROM poolTotal WHERE poolID = ?", arguments: [id])
        return try delete("pool", id)
    }

    func save(_ host: EMPModel.Host) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO host (id, poolID, data) VALUES (?, ?, ?)",
            arguments: [host.id, host.poolID, try encode(host)]
        )
        commits?.add(.host(host))
    }

    func deleteHost(_ id: String) throws -> Bool {
        try db.execute(sql: "DELETE FROM credential WHERE hostID = ?", arguments: [id])
        commits?.add(.hostDeleted(id))
        documents.forget(host: id)  // harmless if the transaction rolls back: the next read decodes again
        return try delete("host", id)
    }

    func save(_ evm: EVM) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO evm (id, poolID, hostID, previousHostID, phase, data) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [evm.id, evm.poolID, evm.hostID, evm.previousHostID, evm.phase.rawValue, try encode(evm)]
        )
        commits?.add(.evm(evm))
    }

    func deleteEVM(_ id: String) throws -> Bool {
        commits?.add(.evmDeleted(id))
        documents.forget(evm: id)
        return try delete("evm", id)
    }

    func save(_ migration: Migration) throws {
        try db.execute(
            sql: """
                INSERT INTO migration (id, evmID, fromHost, toHost, state, data) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(id) DO UPDATE SET evmID = excluded.evmID, fromHost = excluded.fromHost,
                  toHost = excluded.toHost, state = excluded.state, data = excluded.data
                """,
            arguments: [
                migration.id, migration.evmID, migration.from, migration.to, migration.state.rawValue,
                try encode(migration),
            ]
        )
    }

    func save(_ token: JoinToken) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO joinToken (id, poolID, data) VALUES (?, ?, ?)",
            arguments: [token.id, token.poolID, try encode(token)]
        )
    }

    func deleteJoinToken(_ id: String) throws -> Bool { try delete("joinToken", id) }

    func evmCountsByHost(pool: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT hostID, COUNT(*) AS count FROM evm WHERE poolID = ? AND hostID IS NOT NULL GROUP BY hostID", arguments: [pool])
        {
            counts[row["hostID"]] = row["count"]
        }
        return counts
    }

    func poolSamples(pool: String, since: Date) throws -> [PoolSample] {
        try fetch(
            PoolSample.self, "SELECT data FROM poolSample WHERE poolID = ? AND at >= ? ORDER BY at",
            [pool, since.timeIntervalSince1970])
    }

    func latestPoolSample(pool: String) throws -> (latest: PoolSample, first: Date)? {
        guard
            let latest = try fetch(PoolSample.self, "SELECT data FROM poolSample WHERE poolID = ? ORDER BY at DESC LIMIT 1", [pool])
                .first,
            let first = try Double.fetchOne(db, sql: "SELECT MIN(since) FROM poolTotal WHERE poolID = ?", arguments: [pool])
        else { return nil }
        return (latest, Date(timeIntervalSince1970: first))
    }

    func hostSamples(host: String, since: Date) throws -> [HostSample] {
        try fetch(
            HostSample.self, "SELECT data FROM hostSample WHERE hostID = ? AND at >= ? ORDER BY at", [host, since.timeIntervalSince1970])
    }

    func save(_ sample: HostSample) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO hostSample (hostID, at, data) VALUES (?, ?, ?)",
            arguments: [sample.hostID, sample.at.timeIntervalSince1970, try encode(sample)])
    }

    func deleteHostSamples(before cutoff: Date) throws -> Int {
        try db.execute(sql: "DELETE FROM hostSample WHERE at < ?", arguments: [cutoff.timeIntervalSince1970])
        return db.changesCount
    }

    func save(_ sample: PoolSample) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO poolSample (poolID, at, data) VALUES (?, ?, ?)",
            arguments: [sample.poolID, sample.at.timeIntervalSince1970, try encode(sample)])
        try db.execute(
            sql: "INSERT OR IGNORE INTO poolTotal (poolID, since) VALUES (?, ?)",
            arguments: [sample.poolID, sample.at.timeIntervalSince1970])
    }

    func deletePoolSamples(before cutoff: Date) throws -> Int {
        try db.execute(
            sql: """
                DELETE FROM poolSample WHERE at < ?
                AND at < (SELECT MAX(at) FROM poolSample AS newest WHERE newest.poolID = poolSample.poolID)
                """,
            arguments: [cutoff.timeIntervalSince1970])
        return db.changesCount
    }

    func save(_ credential: AgentCredential) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO credential (hostID, secretHash, data) VALUES (?, ?, ?)",
            arguments: [credential.hostID, credential.secretHash, try encode(credential)]
        )
    }

    func append(_ event: Event) throws -> Event {
        try db.execute(
            sql: "INSERT INTO event (objectKind, objectID, data) VALUES (?, ?, ?)",
            arguments: [event.object.kind.rawValue, event.object.id, try encode(event)]
        )
        var stored = event
        stored.id = db.lastInsertedRowID
        return stored
    }

    func bumpRevision(_ scope: String) throws -> Int64 {
        try db.execute(
            sql: """
                INSERT INTO revision (scope, value) VALUES (?, 1)
                ON CONFLICT(scope) DO UPDATE SET value = value + 1
                """,
            arguments: [scope]
        )
        if let notifier {
            db.afterNextTransaction(onCommit: { _ in notifier.notify(scope) })
        }
        return try revision(scope)
    }
}

/// The saves and deletes of one write transaction, handed to ``SoftState`` once it commits.
final class CommitLog: @unchecked Sendable {
    // @unchecked: used by one write transaction at a time (GRDB's writer), then read after it returns.
    enum Change {
        case host(EMPModel.Host)
        case hostDeleted(String)
        case evm(EVM)
        case evmDeleted(String)
    }

    private(set) var changes: [Change] = []

    func add(_ change: Change) { changes.append(change) }

    func apply(to soft: SoftState) {
        for change in changes {
            switch change {
            case .host(let host): soft.committed(host)
            case .hostDeleted(let id): soft.removed(host: id)
            case .evm(let evm): soft.committed(evm)
            case .evmDeleted(let id): soft.removed(evm: id)
            }
        }
    }
}
