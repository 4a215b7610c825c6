import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Testing

/// The stores every store test runs against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }

    /// The kinds this run covers: `EMP_TEST_STORES` (`sqlite`, or `sqlite,postgres`), every kind when unset.
    /// `make test` runs the store tests on SQLite in the unit step and on both in `test-postgres`, where nothing
    /// else competes for the CPU.
    static var selected: [StoreKind] {
        guard let list = ProcessInfo.processInfo.environment["EMP_TEST_STORES"] else { return allCases }
        return list.split(separator: ",").compactMap { StoreKind(rawValue: String($0)) }
    }
}

/// Opens stores of one kind on one database of the test's own: a temporary directory's SQLite file, or a fresh
/// PostgreSQL database on the server `make test` starts.
struct StoreHarness: Sendable {
    let kind: StoreKind
    let dir: TemporaryDirectory
    let postgresURL: String?

    /// For PostgreSQL, a fresh database on `server` (default: the shared server of `make test`).
    init(_ kind: StoreKind, server: String? = nil) throws {
        self.kind = kind
        dir = try TemporaryDirectory()
        postgresURL = kind == .postgres ? try TestPostgres.freshDatabase(server: server) : nil
    }

    /// A store on the harness's database (each call a new one: "reopening" for SQLite, another replica's view for
    /// PostgreSQL).
    /// The PostgreSQL store is prepared (schema applied) before it is returned, so a test's first wait does not
    /// include it.
    func open(clock: any EMPClock = SystemClock()) async throws -> any StateStore {
        switch kind {
        case .sqlite:
            return try SQLiteStore(directory: dir.file("data"), configuration: .init(clock: clock))
        case .postgres:
            var configuration = try PostgresStore.Configuration.parse(url: postgresURL ?? "")
            configuration.clock = clock
            configuration.maxConnections = 4
            let store = try PostgresStore(configuration: configuration)
            try await store.prepare()
            return store
        }
    }

    /// The schema version the store reports.
    func schemaVersion(_ store: any StateStore) async throws -> Int {
        switch store {
        case let sqlite as SQLiteStore: try sqlite.schemaVersion()
        case let postgres as PostgresStore: try await postgres.schemaVersion()
        default: -1
        }
    }
}
