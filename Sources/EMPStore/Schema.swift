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
        return migrator
    }
}
