import ArgumentParser
import EMPStore
import Foundation

/// `emp-control-plane store …`: the store's offline tools.
struct StoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store", abstract: "Copy a store to PostgreSQL, or back a SQLite store up.",
        subcommands: [Copy.self, Backup.self])

    /// `store copy --from sqlite:DIR --to postgres:URL`.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy every object of a SQLite store into an empty PostgreSQL database, then check counts and checksums.",
            discussion: "Stop the control plane first. The password comes from --password-file or EMP_STORE_PASSWORD.")

        @Option(help: "sqlite:DIR, the control plane's data directory (holding emp.sqlite).")
        var from: String

        @Option(help: "postgres:postgres://user@host[:port]/database[?sslmode=verify-full&sslrootcert=CA.pem]")
        var to: String

        @Option(help: "File holding the PostgreSQL password (mode 0600).")
        var passwordFile: String?

        func run() async throws {
            guard from.hasPrefix("sqlite:") else { throw ValidationError("--from must be sqlite:DIR (got \"\(from)\")") }
            guard to.hasPrefix("postgres:") else { throw ValidationError("--to must be postgres:URL") }
            let directory = String(from.dropFirst("sqlite:".count))
            let file = (directory as NSString).appendingPathComponent("emp.sqlite")
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no SQLite store at \(file)") }
            let password: String?
            do {
                password = try PostgresStore.Configuration.password(file: passwordFile, environment: ProcessInfo.processInfo.environment)
            } catch {
                throw ValidationError("--password-file: \(error)")
            }
            let configuration: PostgresStore.Configuration
            do {
                configuration = try PostgresStore.Configuration.parse(url: String(to.dropFirst("postgres:".count)), password: password)
            } catch {
                throw ValidationError("--to: \(error)")
            }
            let source = try SQLiteStore(path: file)
            let target = try PostgresStore(configuration: configuration)
            defer { Task { await target.shutdown() } }
            let reports = try await StoreCopy.copy(from: source, to: target)
            for report in reports {
                print(
                    "\(report.table.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(report.rows).leftPadded(8)) rows  sha256 \(report.checksum.prefix(16))"
                )
            }
            print("copied \(reports.reduce(0) { $0 + $1.rows }) rows into \(configuration); counts and checksums match")
        }
    }

    /// `store backup --from DIR --to FILE`.
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent copy of a SQLite store to a new file while the control plane runs.",
            discussion:
                "Restore: stop the control plane, replace DIR/emp.sqlite with the copy (removing emp.sqlite-wal and -shm), start it.")

        @Option(help: "The control plane's data directory (holding emp.sqlite).")
        var from: String = "/var/lib/emp"

        @Option(help: "The backup file to create (must not exist).")
        var to: String

        func run() async throws {
            let file = (from as NSString).appendingPathComponent("emp.sqlite")
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("no SQLite store at \(file)") }
            try SQLiteStore(path: file).backup(to: to)
            print("backed up \(file) to \(to)")
        }
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
