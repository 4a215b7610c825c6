import ArgumentParser
import EMPModel
import Foundation

/// `empctl evm create|list|show|delete`.
struct EVMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evm",
        abstract: "Create, list, show and delete EVMs.",
        subcommands: [Create.self, List.self, Show.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create COUNT EVMs in POOL (placed at once, all or none).")
        @OptionGroup var server: ServerOptions
        @Argument var pool: String
        @Option(help: "How many.") var count: Int = 1

        func run() async throws {
            let evms: [EVM] = try await server.client().post("/v1/pools/\(pool)/evms", body: EVMCreateRequest(count: count))
            if server.output == .json { return try printJSON(evms) }
            for evm in evms { print("evm/\(evm.id) placed on \(evm.hostID ?? "?")") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List EVMs.")
        @OptionGroup var server: ServerOptions
        @Option(help: "Only this pool.") var pool: String?
        @Option(help: "Only this host.") var host: String?
        @Option(help: "Only this phase.") var phase: String?

        func run() async throws {
            let query = [("pool", pool), ("host", host), ("phase", phase)].compactMap { key, value in value.map { "\(key)=\($0)" } }
            let evms: [EVM] = try await server.client().list("/v1/evms" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
            if server.output == .json { return try printJSON(evms) }
            var rows = [["NAME", "POOL", "HOST", "PHASE", "SIZE", "NODE"]]
            for evm in evms {
                rows.append([evm.id, evm.poolID, evm.hostID ?? "-", evm.phase.rawValue, evm.shape.resources.description, evm.nodeName])
            }
            print(Table.render(rows))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one EVM.")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let evm: EVM = try await server.client().get("/v1/evms/\(name)")
            try printJSON(evm)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an EVM (its host's agent destroys the domain).")
        @OptionGroup var server: ServerOptions
        @Argument var name: String

        func run() async throws {
            let _: EVM = try await server.client().deleteReturning("/v1/evms/\(name)")
            print("evm/\(name) deleting")
        }
    }
}

/// `empctl events`: what happened and why.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Show the control plane's event log.")
    @OptionGroup var server: ServerOptions
    @Option(help: "Only events about this object, KIND/NAME (pool/p1, host/h1, evm/e1).") var object: String?
    @Option(help: "Only events after this id.") var after: Int64?

    func run() async throws {
        var query: [String] = []
        if let object {
            let parts = object.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, ObjectKind(rawValue: parts[0]) != nil else {
                throw ValidationError(
                    "--object must be KIND/NAME with KIND one of \(ObjectKind.allCases.map(\.rawValue).joined(separator: ", ")) (got \"\(object)\")"
                )
            }
            query += ["kind=\(parts[0])", "id=\(parts[1])"]
        }
        if let after { query.append("after=\(after)") }
        let events: [Event] = try await server.client().list("/v1/events" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        if server.output == .json { return try printJSON(events) }
        var rows = [["TIME", "TYPE", "OBJECT", "REASON", "MESSAGE"]]
        for event in events {
            rows.append([
                ISO8601DateFormatter().string(from: event.time), event.type.rawValue, event.object.description, event.reason, event.message,
            ])
        }
        print(Table.render(rows))
    }
}
