import EMPControlPlane
import EMPStore
import EMPTesting
import Foundation
import Testing

/// `store:` in the control plane's file: SQLite by default, PostgreSQL with its password kept out of the YAML.
@Suite struct StoreConfigurationTests {
    func load(_ yaml: String, _ dir: TemporaryDirectory) throws -> ControlPlaneConfiguration {
        let file = dir.file("cp.yaml")
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return try ConfigurationFile.load(file).apply(to: ControlPlaneConfiguration())
    }

    @Test func postgresTakesItsPasswordFromAFile() throws {
        let dir = try TemporaryDirectory()
        try "pg-secret\n".write(toFile: dir.file("pw"), atomically: true, encoding: .utf8)
        let configuration = try load(
            """
            store:
              type: postgres
              url: postgres://emp@db.internal:5433/emp?sslmode=verify-full&sslrootcert=/etc/emp/pg-ca.pem
              passwordFile: \(dir.file("pw"))
              maxConnections: 20
            """, dir)
        let postgres = try #require(configuration.postgres)
        #expect(postgres.host == "db.internal" && postgres.port == 5433 && postgres.database == "emp")
        #expect(postgres.password == "pg-secret" && postgres.maxConnections == 20 && postgres.sslMode == "verify-full")
        #expect(!"\(postgres)".contains("pg-secret"))
        #expect(try load("store: {type: sqlite}", dir).postgres == nil)
        #expect(try load("listen: 127.0.0.1:0", dir).postgres == nil)
    }

    @Test(arguments: [
        ("store: {type: mysql}", "store.type: \"mysql\" is not sqlite or postgres"),
        ("store: {type: postgres}", "store.url: required for type postgres"),
        ("store: {type: postgres, url: \"postgres://emp@db/emp\", maxConnections: 0}", "store.maxConnections must be between 1 and 200"),
        ("store: {type: postgres, url: \"postgres://emp@db/emp\", passwordFile: /nonexistent/pw}", "store.passwordFile: cannot read"),
        ("store: {type: postgres, url: \"http://db/emp\"}", "is not postgres://"),
        ("store: {url: \"postgres://emp@db/emp\"}", "store: url and passwordFile are for type postgres"),
    ])
    func mistakesAreNamed(yaml: String, expected: String) throws {
        let dir = try TemporaryDirectory()
        #expect {
            try load(yaml, dir)
        } throws: { "\($0)".contains(expected) }
    }
}
