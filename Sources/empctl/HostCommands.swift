import ArgumentParser
import EMPModel
import Foundation

/// `empctl host token|list|show|cordon|uncordon|maintenance|interrupt`.
struct HostCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "host",
        abstract: "Join tokens and host operations.",
        subcommands: [Token.self, List.self, Show.self, Cordon.self, Uncordon.self, Maintenance.self, Interrupt.self, Rejoin.self]
    )

    struct Token: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a one-time join token for a new host of POOL.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Pool the host will join.") var pool: String
        @Option(help: "Lifetime in seconds (default 3600, at most 604800).") var ttl: Int?
        @Option(name: .customLong("host"), help: "Only this host id may join with the token.") var hostID: String?

        func run() async throws {
            let created: TokenCreated = try await server.client().post(
                "/v1/pools/\(pool)/tokens", body: TokenCreateRequest(ttlSeconds: ttl, hostID: hostID))
            if server.output == .json { return try printJSON(created) }
            print(created.token)
            FileHandle.standardError.write(Data("join token for pool \(pool), valid until \(created.expiresAt); shown once\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List hosts.")
        @OptionGroup var server: ServerOptions
        @Option(help: "Only hosts of this pool.") var pool: String?

        func run() async throws {
            let hosts: [EMPModel.Host] = try await server.client().list("/v1/hosts" + (pool.map { "?pool=\($0)" } ?? ""))
            if server.output == .json { return try printJSON(hosts) }
            var rows = [["NAME", "POOL", "STATE", "CAPACITY", "ALLOCATED", "USED", "LAST HEARTBEAT", "INSTANCE", "INSTANCE STATE"]]
            for host in hosts {
                let provider = host.provider
                rows.append([
                    host.id, host.poolID, host.effectiveState.rawValue, host.capacity.description, host.allocated.description,
                    host.used.description, host.lastHeartbeat.map { ISO8601DateFormatter().string(from: $0) } ?? "never",
                    provider.map {
                        [$0.machineID ?? $0.launchID, $0.instanceType, $0.lifecycle == .spot ? "spot" : nil].compactMap { $0 }.joined(
                            separator: " ")
                    } ?? "-",
                    provider?.machineState ?? "-",
                ])
            }
            print(Table.render(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one host.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let host: EMPModel.Host = try await server.client().get("/v1/hosts/\(name)")
            try printJSON(host)
        }
    }

    struct Rejoin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Let a reinstalled machine with the same hostUUID take over a host; its old credential is revoked then.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let _: EMPModel.Host = try await server.client().post("/v1/hosts/\(name)/rejoin")
            print("host/\(name) may rejoin once with its hostUUID and a join token of its pool")
        }
    }

    struct Cordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop placing new EVMs on a host.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let _: EMPModel.Host = try await server.client().post("/v1/hosts/\(name)/cordon")
            print("host/\(name) cordoned")
        }
    }

    struct Uncordon: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Allow new EVMs on a host again.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let _: EMPModel.Host = try await server.client().post("/v1/hosts/\(name)/uncordon")
            print("host/\(name) uncordoned")
        }
    }

    struct Maintenance: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn maintenance on (evacuate) or off.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String
        @Argument(help: "on or off.") var state: String

        func validate() throws {
            guard state == "on" || state == "off" else { throw ValidationError("state must be on or off (got \"\(state)\")") }
        }

        func run() async throws {
            let _: EMPModel.Host = try await server.client().post(
                "/v1/hosts/\(name)/maintenance", body: MaintenanceRequest(enabled: state == "on"))
            print("host/\(name) maintenance \(state)")
        }
    }
}
