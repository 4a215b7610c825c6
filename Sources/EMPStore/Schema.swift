import EMPModel
import Foundation
import GRDB

/// Versioned schema migrations. Append new migrations; never edit a released one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: pools, hosts, evms, migrations, tokens, events, revisions") { db in
            try db.create(table: "pool") { t in
                t.primaryKey("id", .text)
                t.column("data", .blob).notNull()
            }
            try db.create(table: "host") { t in
                t.primaryKey("id", .text)
                t.column("poolID", .text).notNull().indexed()
                t.column("data", .blob).notNull()
            }
            try db.create(table: "evm") { t in
                t.primaryKey("id", .text)
                t.column("poolID", .text).notNull().indexed()
                t.column("hostID", .text).indexed()
                t.column("phase", .text).notNull()
                t.column("data", .blob).notNull()
            }
            try db.create(table: "migration") { t in
                t.primaryKey("id", .text)
                t.column("evmID", .text).notNull().indexed()
                t.column("fromHost", .text).notNull()
                t.column("toHost", .text).notNull()
                t.column("state", .text).notNull()
                t.column("data", .blob).notNull()
            }
            try db.create(table: "joinToken") { t in
                t.primaryKey("id", .text)
                t.column("poolID", .text).notNull()
                t.column("data", .blob).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("objectKind", .text).notNull()
                t.column("objectID", .text).notNull()
                t.column("data", .blob).notNull()
            }
            try db.create(index: "event_object", on: "event", columns: ["objectKind", "objectID"])
            try db.create(table: "revision") { t in
                t.primaryKey("scope", .text)
                t.column("value", .integer).notNull()
            }
        }
        migrator.registerMigration("v2: agent credentials") { db in
            try db.create(table: "credential") { t in
                t.primaryKey("hostID", .text)
                t.column("data", .blob).notNull()
            }
        }
        migrator.registerMigration("v3: credentials found by their hash") { db in
            try db.alter(table: "credential") { t in t.add(column: "secretHash", .text) }
            for row in try Row.fetchAll(db, sql: "SELECT hostID, data FROM credential") {
                let data: Data = row["data"]
                let credential = try JSONDecoder().decode(AgentCredential.self, from: data)
                try db.execute(
                    sql: "UPDATE credential SET secretHash = ? WHERE hostID = ?", arguments: [credential.secretHash, credential.hostID])
            }
            try db.create(index: "credential_secretHash", on: "credential", columns: ["secretHash"], unique: true)
        }
        migrator.registerMigration("v4: indexes for per-host queries at fleet scale") { db in
            // The EVMs that left a host (its long poll's `departed`) found by index instead of decoding the pool.
            try db.alter(table: "evm") { t in t.add(column: "previousHostID", .text) }
            for row in try Row.fetchAll(db, sql: "SELECT id, data FROM evm") {
                let data: Data = row["data"]
                let id: String = row["id"]
                guard let previous = (try? JSONDecoder().decode(PreviousHost.self, from: data))?.previousHostID else { continue }
                try db.execute(sql: "UPDATE evm SET previousHostID = ? WHERE id = ?", arguments: [previous, id])
            }
            try db.create(index: "evm_previousHostID", on: "evm", columns: ["previousHostID"])
            // A host's migrations (every long-poll answer) and the active ones (placement, planning) by index,
            // not by scanning every migration ever recorded.
            try db.create(index: "migration_fromHost", on: "migration", columns: ["fromHost"])
            try db.create(index: "migration_toHost", on: "migration", columns: ["toHost"])
            try db.create(index: "migration_state", on: "migration", columns: ["state"])
        }
        migrator.registerMigration("v5: pool and host samples (cost and usage history)") { db in
            try db.create(table: "poolSample") { t in
                t.column("poolID", .text).notNull()
                t.column("at", .double).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["poolID", "at"])
            }
            try db.create(index: "poolSample_at", on: "poolSample", columns: ["at"])
            // Each host's limit, allocation and use a minute, kept a day (the host page's chart).
            try db.create(table: "hostSample") { t in
                t.column("hostID", .text).notNull()
                t.column("at", .double).notNull()
                t.column("data", .blob).notNull()
                t.primaryKey(["hostID", "at"])
            }
            try db.create(index: "hostSample_at", on: "hostSample", columns: ["at"])
            // When each pool's running total began: kept when old samples are pruned.
            try db.create(table: "poolTotal") { t in
                t.primaryKey("poolID", .text)
                t.column("since", .double).notNull()
            }
        }
        migrator.registerMigration("v6: host launches (host providers' bookkeeping)") { db in
            try db.create(table: "hostLaunch") { t in
                t.primaryKey("id", .text)
                t.column("poolID", .text).notNull()
                t.column("joinTokenID", .text).notNull()
                t.column("data", .blob).notNull()
            }
            try db.create(index: "hostLaunch_joinToken", on: "hostLaunch", columns: ["joinTokenID"])
        }
        return migrator
    }

    /// The one field v4 reads from stored EVM documents (an unreadable one is left for the planner to report).
    private struct PreviousHost: Decodable {
        let previousHostID: String?
    }
}
