import Foundation

/// The PostgreSQL server `scripts/with-postgres.sh` starts for `make test` (its URL in `EMP_TEST_POSTGRES_URL`):
/// each test gets a database of its own, made with `psql`.
public enum TestPostgres {
    /// The server's URL, or an error that says how to get one.
    public static func serverURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["EMP_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw TestPostgresError(
                "EMP_TEST_POSTGRES_URL is not set: run the tests through `make test`, or under scripts/with-postgres.sh")
        }
        return url
    }

    /// Creates an empty database with a fresh name on `server` (default: the shared one) and returns its URL.
    public static func freshDatabase(server: String? = nil) throws -> String {
        let server = try server ?? serverURL()
        let name = "emp_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
        let psql = try ChildProcess("/usr/bin/env", ["psql", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", "CREATE DATABASE \(name)"])
        guard psql.wait() == 0 else {
            throw TestPostgresError("psql could not create database \(name): \(psql.errorOutput.joined(separator: "\n"))")
        }
        guard let slash = server.lastIndex(of: "/") else { return server }
        return server[..<slash] + "/" + name
    }
}

/// The test PostgreSQL server is missing or refused a request.
public struct TestPostgresError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A PostgreSQL server of one test's own, for tests that crash and restart the database under load (the shared
/// server of `make test` must stay up for every other test). Same recipe as `scripts/with-postgres.sh`: Debian's
/// server binaries, a temporary data directory, loopback on a free port, fsync off; as root it runs as `postgres`.
public final class TestPostgresServer: Sendable {
    /// A superuser URL on the server's `postgres` database; make a database per test with
    /// ``TestPostgres/freshDatabase(server:)``.
    public let url: String
    let directory: String
    let port: Int
    let bin: String
    let asOwner: String

    /// Creates the cluster (`initdb`) and starts the server.
    public init() throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard let version = versions.compactMap(Int.init).max() else {
            throw TestPostgresError("no PostgreSQL server under /usr/lib/postgresql (Debian: apt-get install postgresql)")
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("emp-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        url = "postgres://emp@127.0.0.1:\(port)/postgres"
        if getuid() == 0 {
            try Self.shell("chown postgres '\(directory)'", log: "/dev/null")
            asOwner = "runuser -u postgres -- "
        } else {
            asOwner = ""
        }
        try run("initdb -D '\(directory)/data' -U emp --auth=trust -E UTF8")
        try start()
    }

    /// Starts the server (again) on the same port and data, and returns once it accepts connections.
    public func start() throws {
        try run(
            "pg_ctl -D '\(directory)/data' -l '\(directory)/server.log' -w -t 60 -o "
                + "'-h 127.0.0.1 -p \(port) -k \(directory) -c fsync=off -c max_connections=200' start")
    }

    /// Stops the server as a crash does (`-m immediate`: no checkpoint, every connection cut at once).
    public func crash() throws {
        try run("pg_ctl -D '\(directory)/data' -m immediate -w stop")
    }

    /// Stops the server and removes its files.
    public func destroy() {
        try? crash()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func run(_ command: String) throws {
        try Self.shell(asOwner + "'\(bin)/" + command.prefix { $0 != " " } + "'" + command.drop { $0 != " " }, log: "\(directory)/ctl.log")
    }

    /// Runs `command` under bash with its output appended to `log`, and waits for it. Not through Foundation's
    /// `Process`: that learns of a child's exit from a descriptor the child inherits, and the server `pg_ctl start`
    /// leaves behind would hold it open for ever. Here the child gets only standard input, output and error
    /// (every other descriptor of the test process is closed in it), and `waitpid` reaps it.
    private static func shell(_ command: String, log: String) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // bash closes every other descriptor it inherited before it runs the command.
        let closeTheRest = #"for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done; "#
        let words: [String] = ["/bin/bash", "-c", closeTheRest + command]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", &actions, nil, arguments, environ)
        guard spawned == 0 else { throw TestPostgresError("could not start /bin/bash for `\(command)`: errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let tail = (try? String(contentsOfFile: log, encoding: .utf8)).map { String($0.suffix(2000)) } ?? ""
            throw TestPostgresError("`\(command)` failed (wait status \(status)): \(tail)")
        }
    }
}
