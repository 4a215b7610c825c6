import ArgumentParser
import EMPModel
import Foundation

/// `empctl pool create|list|show|delete`.
struct PoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Create, list, show and delete pools.",
        subcommands: [Create.self, List.self, Show.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a pool with its EVM shape and policy.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Pool name (lowercase letters, digits, '-').") var name: String
        @Option(help: "vCPUs per EVM.") var vcpus: Int
        @Option(help: "Memory per EVM, a Kubernetes quantity such as 16Gi.") var memory: String
        @Option(help: "Disk per EVM (quantity).") var disk: String?
        @Option(help: "Base image on the hosts.") var image: String?
        @Option(help: "Kubernetes cluster the pool serves.") var cluster: String?
        @Option(help: "CPU overcommit ratio (≥ 1).") var cpuOvercommit: Double?
        @Option(help: "Memory overcommit ratio (≥ 1).") var memoryOvercommit: Double?
        @Option(help: "Fewest EVMs.") var minEvms: Int?
        @Option(help: "Most EVMs.") var maxEvms: Int?
        @Option(help: "Fewest hosts.") var minHosts: Int?
        @Option(help: "Most hosts.") var maxHosts: Int?
        @Option(help: "High watermark of used capacity, in (0, 1].") var watermark: Double?
        @Option(help: "Placement: binpack or spread.") var placement: String?

        static func placement(_ text: String) throws -> PlacementPolicy {
            guard let value = PlacementPolicy(rawValue: text) else {
                throw ValidationError("--placement must be binpack or spread (got \"\(text)\")")
            }
            return value
        }

        func run() async throws {
            let body = PoolSpec(
                id: name,
                cluster: cluster,
                shape: PoolSpec.Shape(vcpus: vcpus, memory: memory, disk: disk, image: image),
                policy: PoolSpec.Policy(
                    cpuOvercommit: cpuOvercommit, memoryOvercommit: memoryOvercommit, minEVMs: minEvms, maxEVMs: maxEvms,
                    minHosts: minHosts, maxHosts: maxHosts, highWatermark: watermark, placement: try placement.map(Self.placement)
                )
            )
            let pool: Pool = try await server.client().post("/v1/pools", body: body)
            if server.output == .json { return try printJSON(pool) }
            print("pool/\(pool.id) created")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pools.")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let pools: [Pool] = try await server.client().get("/v1/pools")
            if server.output == .json { return try printJSON(pools) }
            var rows = [["NAME", "EVM SHAPE", "CPU×", "MEM×", "EVMS", "HOSTS", "WATERMARK", "PLACEMENT"]]
            for pool in pools {
                rows.append([
                    pool.id, pool.shape.resources.description, "\(pool.policy.cpuOvercommit)", "\(pool.policy.memoryOvercommit)",
                    "\(pool.policy.minEVMs)-\(pool.policy.maxEVMs)", "\(pool.policy.minHosts)-\(pool.policy.maxHosts)",
                    "\(Int(pool.policy.highWatermark * 100))%", pool.policy.placement.rawValue,
                ])
            }
            print(Table.render(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one pool.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let pool: Pool = try await server.client().get("/v1/pools/\(name)")
            try printJSON(pool)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a pool (only when it has no hosts and no EVMs).")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            try await server.client().delete("/v1/pools/\(name)")
            print("pool/\(name) deleted")
        }
    }
}
