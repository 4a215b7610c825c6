import Foundation

/// PostgreSQL's versioned schema: the same tables, columns and indexes as SQLite's ``Schema`` at the same version.
/// Append new migrations (and their SQLite twins); never edit a released one.
enum PostgresSchema {
    /// Identifier and statements of each migration, in order. Every TEXT column sorts bytewise (`COLLATE "C"`), as
    /// SQLite's do: lists, pages (`id > ?`) and ids come out in the same order on both stores, whatever locale the
    /// database was created with.
    static var migrations: [(id: String, statements: [String])] {
        written.map { migration in
            (migration.id, migration.statements.map { $0.replacingOccurrences(of: " TEXT", with: #" TEXT COLLATE "C""#) })
        }
    }

    private static let written: [(id: String, statements: [String])] = [
        (
            "v6: pools, hosts, evms, migrations, tokens, events, revisions, credentials, samples, host launches",
            [
                "CREATE TABLE pool (id TEXT PRIMARY KEY, data BYTEA NOT NULL)",
                "CREATE TABLE host (id TEXT PRIMARY KEY, poolID TEXT NOT NULL, data BYTEA NOT NULL)",
                "CREATE INDEX host_poolID ON host (poolID)",
                """
                CREATE TABLE evm (id TEXT PRIMARY KEY, poolID TEXT NOT NULL, hostID TEXT, previousHostID TEXT,
                  phase TEXT NOT NULL, data BYTEA NOT NULL)
                """,
                "CREATE INDEX evm_poolID ON evm (poolID)",
                "CREATE INDEX evm_hostID ON evm (hostID)",
                "CREATE INDEX evm_previousHostID ON evm (previousHostID)",
                // `seq` orders migrations as SQLite's rowid does (an update keeps it).
                """
                CREATE TABLE migration (seq BIGSERIAL, id TEXT PRIMARY KEY, evmID TEXT NOT NULL, fromHost TEXT NOT NULL,
                  toHost TEXT NOT NULL, state TEXT NOT NULL, data BYTEA NOT NULL)
                """,
                "CREATE INDEX migration_evmID ON migration (evmID)",
                "CREATE INDEX migration_fromHost ON migration (fromHost)",
                "CREATE INDEX migration_toHost ON migration (toHost)",
                "CREATE INDEX migration_state ON migration (state)",
                "CREATE TABLE joinToken (id TEXT PRIMARY KEY, poolID TEXT NOT NULL, data BYTEA NOT NULL)",
                "CREATE TABLE event (id BIGSERIAL PRIMARY KEY, objectKind TEXT NOT NULL, objectID TEXT NOT NULL, data BYTEA NOT NULL)",
                "CREATE INDEX event_object ON event (objectKind, objectID)",
                "CREATE TABLE revision (scope TEXT PRIMARY KEY, value BIGINT NOT NULL)",
                "CREATE TABLE credential (hostID TEXT PRIMARY KEY, secretHash TEXT UNIQUE, data BYTEA NOT NULL)",
                """
                CREATE TABLE poolSample (poolID TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL,
                  PRIMARY KEY (poolID, at))
                """,
                "CREATE INDEX poolSample_at ON poolSample (at)",
                """
                CREATE TABLE hostSample (hostID TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, data BYTEA NOT NULL,
                  PRIMARY KEY (hostID, at))
                """,
                "CREATE INDEX hostSample_at ON hostSample (at)",
                "CREATE TABLE poolTotal (poolID TEXT PRIMARY KEY, since DOUBLE PRECISION NOT NULL)",
                "CREATE TABLE hostLaunch (id TEXT PRIMARY KEY, poolID TEXT NOT NULL, joinTokenID TEXT NOT NULL, data BYTEA NOT NULL)",
                "CREATE INDEX hostLaunch_joinToken ON hostLaunch (joinTokenID)",
                // One row: who leads the replicas, until when, and the fencing token each new leadership raises.
                """
                CREATE TABLE leader (id INTEGER PRIMARY KEY CHECK (id = 1), holder TEXT NOT NULL, address TEXT NOT NULL,
                  token BIGINT NOT NULL, expiresAt DOUBLE PRECISION NOT NULL)
                """,
            ]
        )
    ]

    /// The schema version a full migration reaches: SQLite's numbering, so both stores report the same.
    static let version = 6

    /// The tables that hold EMP's objects (what `store copy` copies and checks), in dependency order.
    static let tables = [
        "pool", "host", "evm", "migration", "joinToken", "event", "revision", "credential", "poolSample", "hostSample",
        "poolTotal", "hostLaunch",
    ]
}
