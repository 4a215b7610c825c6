import Foundation

/// A value bound to or read from a statement: the few types the schema uses, the same on SQLite and PostgreSQL.
enum SQLValue: Sendable, Hashable {
    case text(String)
    case blob(Data)
    case integer(Int64)
    case real(Double)
    case null

    var text: String? { if case .text(let value) = self { value } else { nil } }
    var blob: Data? { if case .blob(let value) = self { value } else { nil } }
    var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .real(let value): Int64(value)
        default: nil
        }
    }
    var real: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }
}

/// Swift values that bind as an ``SQLValue`` (nil binds NULL).
protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension Data: SQLBindable { var sqlValue: SQLValue { .blob(self) } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .integer(self) } }
extension Int: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Double: SQLBindable { var sqlValue: SQLValue { .real(self) } }
extension Optional: SQLBindable where Wrapped: SQLBindable { var sqlValue: SQLValue { self?.sqlValue ?? .null } }

/// One result row, its values by column name (in lower case: PostgreSQL folds unquoted names, SQLite keeps them).
struct SQLRow {
    var values: [String: SQLValue]
    init(_ values: [(String, SQLValue)]) {
        self.values = Dictionary(values.map { ($0.0.lowercased(), $0.1) }, uniquingKeysWith: { first, _ in first })
    }
    subscript(_ column: String) -> SQLValue { values[column.lowercased()] ?? .null }
}

/// What ``SQLTransaction`` needs from a database inside one transaction. Statements use `?` placeholders and the
/// SQL both SQLite (3.35 or later) and PostgreSQL accept; each connection translates what differs.
protocol SQLConnection {
    /// Runs a statement that returns rows.
    func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [SQLRow]
    /// Runs a statement and returns how many rows it changed.
    @discardableResult func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// Tells other processes sharing the database that `scope`'s revision changed, once this transaction commits.
    func announce(_ scope: String) throws
    /// Runs `action` once the transaction commits (never when it rolls back).
    func afterCommit(_ action: @escaping @Sendable () -> Void)
    /// The column that orders a table's rows by insertion (`rowid` on SQLite, a sequence on PostgreSQL).
    var insertionOrder: String { get }
}
