import ArgumentParser
import EMPModel
import EMPScheduling
import Foundation

extension HostCommand {
    /// `empctl host interrupt HOST --deadline 2m`: what an interruption notice does, by hand.
    struct Interrupt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Announce that a host goes away: its EVMs are live-migrated before the deadline (or drained).")
        @OptionGroup var server: ServerOptions
        @Argument var name: String
        @Option(help: "Time left: 90s, 2m, 1h.") var deadline: String?
        @Flag(help: "Withdraw the notice.") var clear = false

        func validate() throws {
            guard clear != (deadline != nil) else { throw ValidationError("give --deadline or --clear") }
            if let deadline { _ = try Self.seconds(deadline) }
        }

        /// `90`, `90s`, `2m`, `1h` → seconds.
        static func seconds(_ text: String) throws -> Double {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
            let unit = text.last.flatMap { units[$0] }
            guard let value = Double(unit == nil ? text : String(text.dropLast())), value > 0 else {
                throw ValidationError("--deadline must be a duration such as 90s, 2m or 1h (got \"\(text)\")")
            }
            return value * (unit ?? 1)
        }

        func run() async throws {
            let body = clear ? InterruptRequest(clear: true) : InterruptRequest(deadlineSeconds: try Self.seconds(deadline!))
            let host: EMPModel.Host = try await server.client().post("/v1/hosts/\(name)/interrupt", body: body)
            print(
                host.deadline.map { "host/\(name) goes away at \(ISO8601DateFormatter().string(from: $0)); evacuating" }
                    ?? "host/\(name) notice cleared")
        }
    }
}

/// `empctl plan [--pool P]`: the rebalancer's current plan, without acting.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plan", abstract: "Preview the rebalancer's plan (dry run).")
    @OptionGroup var server: ServerOptions
    @Option(help: "Only this pool.") var pool: String?

    func run() async throws {
        let plan: RebalancePlan = try await server.client().get("/v1/plan" + (pool.map { "?pool=\($0)" } ?? ""))
        if server.output == .json { return try printJSON(plan) }
        print(PlanTable.render(plan))
    }
}

/// `empctl migrate EVM --to HOST`: one live migration by hand.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Live-migrate one EVM to another host of its pool.")
    @OptionGroup var server: ServerOptions
    @Argument var evm: String
    @Option(help: "Destination host.") var to: String

    func run() async throws {
        let migration: Migration = try await server.client().post("/v1/evms/\(evm)/migrate", body: MigrateRequest(to: to))
        if server.output == .json { return try printJSON(migration) }
        print("migration/\(migration.id) \(migration.from) → \(migration.to) started")
    }
}

/// `empctl migrations [list|cancel ID]`.
struct MigrationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrations", abstract: "List or cancel live migrations.", subcommands: [List.self, Cancel.self],
        defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List migrations, oldest first.")
        @OptionGroup var server: ServerOptions
        @Option(help: "Only this state: preparing, running, completed, failed.") var state: String?
        @Option(help: "Only this EVM.") var evm: String?

        func run() async throws {
            var query: [String] = []
            if let state { query.append("state=\(state)") }
            if let evm { query.append("evm=\(evm)") }
            let migrations: [Migration] = try await server.client().list(
                "/v1/migrations" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
            if server.output == .json { return try printJSON(migrations) }
            var rows = [["ID", "EVM", "FROM", "TO", "REASON", "STATE", "PROGRESS", "MESSAGE"]]
            for m in migrations {
                let progress = m.progress.map { p in
                    let sent = p.dataProcessedBytes.map { Resources.formatBytes(($0 >> 20) << 20) } ?? "?"
                    return "\(sent) sent" + (p.downtimeMilliseconds.map { ", \($0) ms down" } ?? "")
                }
                rows.append([m.id, m.evmID, m.from, m.to, m.reason.rawValue, m.state.rawValue, progress ?? "", m.message ?? ""])
            }
            print(Table.render(rows))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a migration: the EVM stays where it is.")
        @OptionGroup var server: ServerOptions
        @Argument var id: String

        func run() async throws {
            let migration: Migration = try await server.client().post("/v1/migrations/\(id)/cancel")
            print("migration/\(id) \(migration.state == .failed ? "cancelled" : "cancel requested")")
        }
    }
}
