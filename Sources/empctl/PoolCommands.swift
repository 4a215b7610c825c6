import ArgumentParser
import EMPModel
import Foundation

/// `empctl pool create|list|show|update|delete`.
struct PoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Create, list, show, update and delete pools.",
        subcommands: [Create.self, List.self, Show.self, Update.self, Delete.self]
    )

    /// Policy flags shared by `create` and `update`; unset flags leave the value alone.
    struct PolicyOptions: ParsableArguments {
        @Option(help: "CPU overcommit ratio (≥ 1).") var cpuOvercommit: Double?
        @Option(help: "Memory overcommit ratio (≥ 1).") var memoryOvercommit: Double?
        @Option(help: "Fewest EVMs.") var minEvms: Int?
        @Option(help: "Most EVMs.") var maxEvms: Int?
        @Option(help: "Fewest hosts.") var minHosts: Int?
        @Option(help: "Most hosts.") var maxHosts: Int?
        @Option(help: "High watermark of used capacity, in (0, 1].") var watermark: Double?
        @Option(help: "Placement: binpack or spread.") var placement: String?
        @Option(help: "CPU to keep free on EVMs at all times (quantity, e.g. 2).") var headroomCpu: String?
        @Option(help: "Memory to keep free on EVMs at all times (quantity, e.g. 8Gi).") var headroomMemory: String?
        @Option(help: "Warm EVMs to keep booted and joined but held back (0 keeps none).") var warm: Int?
        @Option(help: "How warm EVMs wait: running (instant claim) or paused (no CPU, resumed on claim).") var warmMode: String?
        @Option(
            help: ArgumentHelp(
                "A schedule that raises the floor (repeatable; replaces all schedules): "
                    + "\"name=open;cron=45 8 * * 1-5;timeZone=Asia/Kolkata;duration=7h;minEVMs=20;warm=5\".",
                valueName: "fields"))
        var schedule: [String] = []
        @Flag(help: "Remove every schedule.") var noSchedules = false

        func policy() throws -> PoolSpec.Policy? {
            let policy = PoolSpec.Policy(
                cpuOvercommit: cpuOvercommit, memoryOvercommit: memoryOvercommit, minEVMs: minEvms, maxEVMs: maxEvms,
                minHosts: minHosts, maxHosts: maxHosts, highWatermark: watermark, placement: try placement.map(Self.placement),
                headroom: try headroom(), warm: try warmPolicy(), schedules: try schedules()
            )
            return policy == PoolSpec.Policy() ? nil : policy
        }

        func warmPolicy() throws -> WarmPolicy? {
            guard warm != nil || warmMode != nil else { return nil }
            guard let warm else { throw ValidationError("--warm-mode needs --warm COUNT") }
            var mode = WarmMode.running
            if let warmMode {
                guard let parsed = WarmMode(rawValue: warmMode) else {
                    throw ValidationError("--warm-mode must be running or paused (got \"\(warmMode)\")")
                }
                mode = parsed
            }
            return WarmPolicy(count: warm, mode: mode)
        }

        func schedules() throws -> [CapacitySchedule]? {
            if noSchedules {
                guard schedule.isEmpty else { throw ValidationError("--no-schedules and --schedule exclude each other") }
                return []
            }
            guard !schedule.isEmpty else { return nil }
            return try schedule.enumerated().map { index, text in try Self.schedule(text, index: index) }
        }

        /// `name=…;cron=…;timeZone=…;duration=…;minEVMs=…;warm=…` (the server checks the values and names the field).
        static func schedule(_ text: String, index: Int) throws -> CapacitySchedule {
            var fields: [String: String] = [:]
            for part in text.split(separator: ";") {
                let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2, !pair[0].isEmpty else {
                    throw ValidationError("--schedule #\(index + 1): \"\(part)\" is not key=value")
                }
                fields[pair[0]] = pair[1]
            }
            let known: Set<String> = ["name", "cron", "timeZone", "duration", "minEVMs", "warm"]
            if let unknown = Set(fields.keys).subtracting(known).sorted().first {
                throw ValidationError(
                    "--schedule #\(index + 1): unknown key \"\(unknown)\" (use \(known.sorted().joined(separator: ", ")))")
            }
            guard let name = fields["name"], let cron = fields["cron"], let duration = fields["duration"] else {
                throw ValidationError("--schedule #\(index + 1): name, cron and duration are required")
            }
            func number(_ key: String) throws -> Int? {
                guard let value = fields[key] else { return nil }
                guard let parsed = Int(value) else {
                    throw ValidationError("--schedule #\(index + 1): \(key) must be a number (got \"\(value)\")")
                }
                return parsed
            }
            return CapacitySchedule(
                name: name, cron: cron, timeZone: fields["timeZone"] ?? "UTC", duration: duration, minEVMs: try number("minEVMs"),
                warm: try number("warm"))
        }

        func headroom() throws -> EMPModel.Resources? {
            guard headroomCpu != nil || headroomMemory != nil else { return nil }
            do {
                return try EMPModel.Resources(cpu: headroomCpu ?? "0", memory: headroomMemory ?? "0")
            } catch {
                throw ValidationError("--headroom-cpu / --headroom-memory: \(error)")
            }
        }

        static func placement(_ text: String) throws -> PlacementPolicy {
            guard let value = PlacementPolicy(rawValue: text) else {
                throw ValidationError("--placement must be binpack or spread (got \"\(text)\")")
            }
            return value
        }
    }

    /// How the EVMs' kubelets join the cluster: all three flags or none.
    struct KubeletOptions: ParsableArguments {
        @Option(help: "API server the EVMs' kubelets join (https://host:6443).") var apiServer: String?
        @Option(help: "File with the cluster CA certificate (PEM).") var clusterCa: String?
        @Option(help: "Bootstrap token for the kubelets (kubeadm token create).") var bootstrapToken: String?
        @Option(help: "Extra kubelet flag (repeatable), e.g. --kubelet-arg=--max-pods=58.") var kubeletArg: [String] = []
        @Option(help: "Cluster DNS address for pods on the EVMs (repeatable; default: the kube-system/kube-dns Service's IP).")
        var clusterDns: [String] = []
        @Option(help: "Cluster DNS domain (default cluster.local).") var clusterDomain: String?
        @Option(help: "CRI socket of the EVM image (default unix:///run/containerd/containerd.sock).") var containerRuntimeEndpoint: String?

        func join() throws -> KubeletJoin? {
            let given = [apiServer, clusterCa, bootstrapToken].compactMap { $0 }
            if given.isEmpty {
                guard kubeletArg.isEmpty, clusterDns.isEmpty, clusterDomain == nil, containerRuntimeEndpoint == nil else {
                    throw ValidationError(
                        "--kubelet-arg, --cluster-dns, --cluster-domain and --container-runtime-endpoint need --api-server, --cluster-ca and --bootstrap-token"
                    )
                }
                return nil
            }
            guard let apiServer, let clusterCa, let bootstrapToken else {
                throw ValidationError("--api-server, --cluster-ca and --bootstrap-token go together; give all three")
            }
            guard let ca = try? String(contentsOfFile: clusterCa, encoding: .utf8) else {
                throw ValidationError("--cluster-ca: cannot read \(clusterCa)")
            }
            return KubeletJoin(
                apiServer: apiServer, caCertificate: ca, bootstrapToken: bootstrapToken, extraArgs: kubeletArg,
                clusterDNS: clusterDns.isEmpty ? nil : clusterDns, clusterDomain: clusterDomain,
                containerRuntimeEndpoint: containerRuntimeEndpoint)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a pool with its EVM shape and policy.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "Pool name (lowercase letters, digits, '-').") var name: String
        @Option(help: "vCPUs per EVM.") var vcpus: Int
        @Option(help: "Memory per EVM, a Kubernetes quantity such as 16Gi.") var memory: String
        @Option(help: "Disk per EVM (quantity).") var disk: String?
        @Option(help: "Base image on the hosts.") var image: String?
        @Option(help: "Kubernetes cluster the pool serves.") var cluster: String?
        @OptionGroup var policy: PolicyOptions
        @OptionGroup var kubelet: KubeletOptions

        func run() async throws {
            let body = PoolSpec(
                id: name,
                cluster: cluster,
                shape: PoolSpec.Shape(vcpus: vcpus, memory: memory, disk: disk, image: image),
                policy: try policy.policy(),
                kubelet: try kubelet.join()
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
            let pools: [Pool] = try await server.client().list("/v1/pools")
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
            if server.output == .json { return try printJSON(pool) }
            print(PoolDescription(pool, at: Date()).text)
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a pool's policy, cluster or kubelet join; only the flags given change (the shape is fixed).")
        @OptionGroup var server: ServerOptions
        @Argument var name: String
        @Option(help: "Kubernetes cluster the pool serves.") var cluster: String?
        @OptionGroup var policy: PolicyOptions
        @OptionGroup var kubelet: KubeletOptions
        @Flag(help: "Remove the kubelet join (new EVMs get seeds without one).") var removeKubeletJoin = false

        func run() async throws {
            var change = PoolUpdate(cluster: cluster, policy: try policy.policy())
            if let join = try kubelet.join() {
                guard !removeKubeletJoin else { throw ValidationError("--remove-kubelet-join and --api-server exclude each other") }
                change.kubelet = .some(join)
            } else if removeKubeletJoin {
                change.kubelet = .some(nil)
            }
            guard change != PoolUpdate() else { throw ValidationError("nothing to change: give at least one flag") }
            let pool: Pool = try await server.client().patch("/v1/pools/\(name)", body: change)
            if server.output == .json { return try printJSON(pool) }
            print("pool/\(pool.id) updated")
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
