import EMPModel
import Foundation

/// ``StoreWriting`` over one database connection inside a transaction, the same statements on SQLite and
/// PostgreSQL. Lives only for the transaction's body.
struct SQLTransaction: StoreWriting {
    let db: any SQLConnection
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

    private func decode<T: Decodable>(_ type: T.Type, _ rows: [SQLRow]) throws -> [T] {
        try rows.map { row in
            let data = row["data"].blob ?? Data()
            // Queries of hosts and EVMs select their id too: the memo of decoded documents is keyed by it.
            let id: String? = T.self == EMPModel.Host.self || T.self == EVM.self ? row["id"].text : nil
            do {
                return try documents.decode(T.self, id: id, from: data, with: Self.decoder)
            } catch {
                throw StoreError("stored \(T.self) is unreadable: \(error)")
            }
        }
    }

    private func fetch<T: Decodable>(_ type: T.Type, _ sql: String, _ arguments: [any SQLBindable] = []) throws -> [T] {
        try decode(type, try db.rows(sql, arguments.map(\.sqlValue)))
    }

    /// The first column of the first row as an integer.
    private func integer(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int64? {
        try db.rows(sql, arguments.map(\.sqlValue)).first?.values.values.first?.integer
    }

    @discardableResult private func run(_ sql: String, _ arguments: [any SQLBindable]) throws -> Int {
        try db.execute(sql, arguments.map(\.sqlValue))
    }

    /// Inserts a row, or replaces the one with the same `key` (the conflict clause both databases accept).
    private func upsert(_ table: String, key: [String], _ values: KeyValuePairs<String, any SQLBindable>) throws {
        let columns = values.map(\.key)
        let updates = columns.filter { !key.contains($0) }.map { "\($0) = excluded.\($0)" }
        try run(
            """
            INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))
            ON CONFLICT (\(key.joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))
            """, values.map(\.value))
    }

    private func delete(_ table: String, _ id: String) throws -> Bool {
        try run("DELETE FROM \(table) WHERE id = ?", [id]) > 0
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
    private static func condition(_ filter: EVMFilter) -> (String, [any SQLBindable])? {
        var clauses: [String] = []
        var arguments: [any SQLBindable] = []
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
            arguments += phases.map(\.rawValue).sorted()
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
        var clauses = ["TRUE"]
        var arguments: [any SQLBindable] = []
        if let pool {
            clauses.append("poolID = ?")
            arguments.append(pool)
        }
        if let after {
            clauses.append("id > ?")
            arguments.append(after)
        }
        var hosts = try fetch(
            EMPModel.Host.self, "SELECT id, data FROM host WHERE \(clauses.joined(separator: " AND ")) ORDER BY id LIMIT ?",
            arguments + [max(0, limit)])
        soft.overlay(&hosts)
        return hosts
    }

    func evmCount(_ filter: EVMFilter) throws -> Int {
        guard let (condition, arguments) = Self.condition(filter) else { return 0 }
        return Int(try integer("SELECT COUNT(*) FROM evm\(condition)", arguments) ?? 0)
    }

    func evmExists(_ id: String) throws -> Bool {
        try !db.rows("SELECT 1 AS found FROM evm WHERE id = ?", [.text(id)]).isEmpty
    }

    func migration(_ id: String) throws -> Migration? {
        try fetch(Migration.self, "SELECT data FROM migration WHERE id = ?", [id]).first
    }

    func migrations(_ filter: MigrationFilter) throws -> [Migration] {
        var clauses: [String] = []
        var arguments: [any SQLBindable] = []
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
            arguments += states.map(\.rawValue).sorted()
        }
        let condition = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        return try fetch(Migration.self, "SELECT data FROM migration\(condition) ORDER BY \(db.insertionOrder)", arguments)
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

    func hostLaunches(pool: String?) throws -> [HostLaunch] {
        if let pool {
            return try fetch(HostLaunch.self, "SELECT data FROM hostLaunch WHERE poolID = ? ORDER BY id", [pool])
        }
        return try fetch(HostLaunch.self, "SELECT data FROM hostLaunch ORDER BY id")
    }

    func hostLaunch(_ id: String) throws -> HostLaunch? {
        try fetch(HostLaunch.self, "SELECT data FROM hostLaunch WHERE id = ?", [id]).first
    }

    func hostLaunch(joinToken: String) throws -> HostLaunch? {
        try fetch(HostLaunch.self, "SELECT data FROM hostLaunch WHERE joinTokenID = ?", [joinToken]).first
    }

    func credential(host: String) throws -> AgentCredential? {
        try fetch(AgentCredential.self, "SELECT data FROM credential WHERE hostID = ?", [host]).first
    }

    func credential(secretHash: String) throws -> AgentCredential? {
        try fetch(AgentCredential.self, "SELECT data FROM credential WHERE secretHash = ?", [secretHash]).first
    }

    func events(_ filter: EventFilter) throws -> [Event] {
        var clauses: [String] = []
        var arguments: [any SQLBindable] = []
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
        let rows = try db.rows("SELECT id, data FROM event\(condition) ORDER BY id DESC LIMIT ?", arguments.map(\.sqlValue))
        return try rows.reversed().map { row in
            var event = try decode(Event.self, [row])[0]
            event.id = row["id"].integer ?? 0
            return event
        }
    }

    func revision(_ scope: String) throws -> Int64 {
        try integer("SELECT value FROM revision WHERE scope = ?", [scope]) ?? 0
    }

    // MARK: Writing

    func save(_ pool: Pool) throws {
        try upsert("pool", key: ["id"], ["id": pool.id, "data": try encode(pool)])
    }

    func deletePool(_ id: String) throws -> Bool {
        _ = try run("DELETE FROM poolSample WHERE poolID = ?", [id])
        _ = try run("DELETE FROM poolTotal WHERE poolID = ?", [id])
        return try delete("pool", id)
    }

    func save(_ host: EMPModel.Host) throws {
        try upsert("host", key: ["id"], ["id": host.id, "poolID": host.poolID, "data": try encode(host)])
        commits?.add(.host(host))
    }

    func deleteHost(_ id: String) throws -> Bool {
        _ = try run("DELETE FROM credential WHERE hostID = ?", [id])
        commits?.add(.hostDeleted(id))
        documents.forget(host: id)  // harmless if the transaction rolls back: the next read decodes again
        return try delete("host", id)
    }

    func save(_ evm: EVM) throws {
        try upsert(
            "evm", key: ["id"],
            [
                "id": evm.id, "poolID": evm.poolID, "hostID": evm.hostID, "previousHostID": evm.previousHostID,
                "phase": evm.phase.rawValue, "data": try encode(evm),
            ])
        commits?.add(.evm(evm))
    }

    func deleteEVM(_ id: String) throws -> Bool {
        commits?.add(.evmDeleted(id))
        documents.forget(evm: id)
        return try delete("evm", id)
    }

    func save(_ migration: Migration) throws {
        try upsert(
            "migration", key: ["id"],
            [
                "id": migration.id, "evmID": migration.evmID, "fromHost": migration.from, "toHost": migration.to,
                "state": migration.state.rawValue, "data": try encode(migration),
            ])
    }

    func save(_ token: JoinToken) throws {
        try upsert("joinToken", key: ["id"], ["id": token.id, "poolID": token.poolID, "data": try encode(token)])
    }

    func deleteJoinToken(_ id: String) throws -> Bool { try delete("joinToken", id) }

    func save(_ launch: HostLaunch) throws {
        try upsert(
            "hostLaunch", key: ["id"],
            ["id": launch.id, "poolID": launch.poolID, "joinTokenID": launch.joinTokenID, "data": try encode(launch)])
    }

    func deleteHostLaunch(_ id: String) throws -> Bool { try delete("hostLaunch", id) }

    func evmCountsByHost(pool: String) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.rows(
            "SELECT hostID, COUNT(*) AS count FROM evm WHERE poolID = ? AND hostID IS NOT NULL GROUP BY hostID", [.text(pool)])
        {
            guard let host = row["hostID"].text else { continue }
            counts[host] = Int(row["count"].integer ?? 0)
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
            let first = try db.rows("SELECT MIN(since) AS since FROM poolTotal WHERE poolID = ?", [.text(pool)]).first?["since"].real
        else { return nil }
        return (latest, Date(timeIntervalSince1970: first))
    }

    func hostSamples(host: String, since: Date) throws -> [HostSample] {
        try fetch(
            HostSample.self, "SELECT data FROM hostSample WHERE hostID = ? AND at >= ? ORDER BY at", [host, since.timeIntervalSince1970])
    }

    func save(_ sample: HostSample) throws {
        try upsert(
            "hostSample", key: ["hostID", "at"],
            ["hostID": sample.hostID, "at": sample.at.timeIntervalSince1970, "data": try encode(sample)])
    }

    func deleteHostSamples(before cutoff: Date) throws -> Int {
        try run("DELETE FROM hostSample WHERE at < ?", [cutoff.timeIntervalSince1970])
    }

    func save(_ sample: PoolSample) throws {
        try upsert(
            "poolSample", key: ["poolID", "at"],
            ["poolID": sample.poolID, "at": sample.at.timeIntervalSince1970, "data": try encode(sample)])
        _ = try run(
            "INSERT INTO poolTotal (poolID, since) VALUES (?, ?) ON CONFLICT (poolID) DO NOTHING",
            [sample.poolID, sample.at.timeIntervalSince1970])
    }

    func deletePoolSamples(before cutoff: Date) throws -> Int {
        try run(
            """
            DELETE FROM poolSample WHERE at < ?
            AND at < (SELECT MAX(at) FROM poolSample AS newest WHERE newest.poolID = poolSample.poolID)
            """,
            [cutoff.timeIntervalSince1970])
    }

    func save(_ credential: AgentCredential) throws {
        try upsert(
            "credential", key: ["hostID"],
            ["hostID": credential.hostID, "secretHash": credential.secretHash, "data": try encode(credential)])
    }

    func append(_ event: Event) throws -> Event {
        let rows = try db.rows(
            "INSERT INTO event (objectKind, objectID, data) VALUES (?, ?, ?) RETURNING id",
            [.text(event.object.kind.rawValue), .text(event.object.id), .blob(try encode(event))])
        var stored = event
        stored.id = rows.first?["id"].integer ?? 0
        return stored
    }

    func bumpRevision(_ scope: String) throws -> Int64 {
        let rows = try db.rows(
            """
            INSERT INTO revision (scope, value) VALUES (?, 1)
            ON CONFLICT (scope) DO UPDATE SET value = revision.value + 1 RETURNING value
            """,
            [.text(scope)])
        try db.announce(scope)
        if let notifier {
            db.afterCommit { notifier.notify(scope) }
        }
        return rows.first?["value"].integer ?? 0
    }
}

/// The saves and deletes of one write transaction, handed to ``SoftState`` once it commits.
final class CommitLog: @unchecked Sendable {
    // @unchecked: used by one write transaction at a time (the store's writer), then read after it returns.
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
