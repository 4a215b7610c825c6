import Crypto
import Foundation
import GRDB

/// `emp-control-plane store copy`: moves every object from a SQLite store into an empty PostgreSQL one (the
/// upgrade path to replicas), then checks each table's row count and checksum on both sides. Run it with the
/// control plane stopped: rows written during the copy would be missed.
public enum StoreCopy {
    /// What was copied, per table: rows and the checksum both sides agree on.
    public struct TableReport: Sendable, Equatable {
        public let table: String
        public let rows: Int
        public let checksum: String
    }

    /// The tables' columns and the order rows are copied in: the schema both stores share (PostgreSQL's
    /// `migration.seq` is left to its sequence, filled in SQLite's row order, so migrations keep their order).
    static let layout: [(table: String, columns: [String], order: String)] = [
        ("pool", ["id", "data"], "id"),
        ("host", ["id", "poolID", "data"], "id"),
        ("evm", ["id", "poolID", "hostID", "previousHostID", "phase", "data"], "id"),
        ("migration", ["id", "evmID", "fromHost", "toHost", "state", "data"], "rowid"),
        ("joinToken", ["id", "poolID", "data"], "id"),
        ("event", ["id", "objectKind", "objectID", "data"], "id"),
        ("revision", ["scope", "value"], "scope"),
        ("credential", ["hostID", "secretHash", "data"], "hostID"),
        ("poolSample", ["poolID", "at", "data"], "poolID, at"),
        ("hostSample", ["hostID", "at", "data"], "hostID, at"),
        ("poolTotal", ["poolID", "since"], "poolID"),
        ("hostLaunch", ["id", "poolID", "joinTokenID", "data"], "id"),
    ]

    /// Copies `source` into `target`; refuses (changing nothing) when the target holds any object, and throws
    /// naming the table when a count or checksum differs afterwards.
    public static func copy(from source: SQLiteStore, to target: PostgresStore) async throws -> [TableReport] {
        try await target.prepare()
        let occupied = try await target.transaction(.snapshot) { db in
            try layout.compactMap { entry -> (String, Int64)? in
                let count = try db.rows("SELECT COUNT(*) AS n FROM \(entry.table)", []).first?["n"].integer ?? 0
                return count > 0 ? (entry.table, count) : nil
            }
        }
        if let (table, count) = occupied.first {
            throw StoreError("the target database is not empty: table \(table) has \(count) rows; copy only into a new database")
        }
        var reports: [TableReport] = []
        for entry in layout {
            let rows = try source.rawRows("SELECT \(entry.columns.joined(separator: ", ")) FROM \(entry.table) ORDER BY \(entry.order)")
            let insert =
                "INSERT INTO \(entry.table) (\(entry.columns.joined(separator: ", "))) VALUES (\(entry.columns.map { _ in "?" }.joined(separator: ", ")))"
            try await target.transaction(.serializable) { db in
                for row in rows { try db.execute(insert, entry.columns.map { row[$0] }) }
                if entry.table == "event", let last = rows.last?["id"].integer {
                    _ = try db.rows("SELECT setval(pg_get_serial_sequence('event', 'id'), ?) AS id", [.integer(last)])
                }
            }
            let copied = try await target.transaction(.snapshot) { db in
                try db.rows("SELECT \(entry.columns.joined(separator: ", ")) FROM \(entry.table)", [])
            }
            let (expected, found) = (checksum(rows, columns: entry.columns), checksum(copied, columns: entry.columns))
            guard copied.count == rows.count, expected == found else {
                throw StoreError(
                    "table \(entry.table): \(rows.count) rows read, \(copied.count) found after the copy; checksums \(expected) and \(found)"
                )
            }
            reports.append(TableReport(table: entry.table, rows: rows.count, checksum: expected))
        }
        return reports
    }

    /// SHA-256 over the sorted SHA-256s of the rows, each over its values tagged with their types: equal on both
    /// stores when every row arrived unchanged, whatever order each database lists them in.
    static func checksum(_ rows: [SQLRow], columns: [String]) -> String {
        func hex<D: Sequence<UInt8>>(_ digest: D) -> String { digest.map { String(format: "%02x", $0) }.joined() }
        var table = SHA256()
        for row in rows.map({ row in hex(SHA256.hash(data: encoded(row, columns: columns))) }).sorted() {
            table.update(data: Data(row.utf8))
        }
        return hex(table.finalize())
    }

    private static func encoded(_ row: SQLRow, columns: [String]) -> Data {
        func length(_ count: Int) -> Data { withUnsafeBytes(of: Int64(count).bigEndian) { Data($0) } }
        var data = Data()
        for column in columns {
            switch row[column] {
            case .null: data += [0]
            case .integer(let value): data += [1] + withUnsafeBytes(of: value.bigEndian) { Data($0) }
            case .real(let value): data += [2] + withUnsafeBytes(of: value.bitPattern.bigEndian) { Data($0) }
            case .text(let value): data += [3] + length(value.utf8.count) + Data(value.utf8)
            case .blob(let value): data += [4] + length(value.count) + value
            }
        }
        return data
    }
}

extension SQLiteStore {
    /// Rows of a statement, as the stores' common values.
    func rawRows(_ sql: String) throws -> [SQLRow] {
        try pool.read { db in try SQLiteConnection(db).rows(sql, []) }
    }

    /// `emp-control-plane store backup`: a consistent copy of the live database into `path` (SQLite's online
    /// backup API: writers go on meanwhile), created owner-only (0600). Refuses an existing file.
    public func backup(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StoreError("backup target \(path) exists; choose a new file")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw StoreError("cannot create backup file \(path)")
        }
        do {
            let target = try DatabaseQueue(path: path)
            try pool.backup(to: target)
            try target.close()
        } catch let error as DatabaseError {
            try? FileManager.default.removeItem(atPath: path)
            throw StoreError("backup to \(path) failed: \(error.message ?? error.description)")
        }
    }
}
