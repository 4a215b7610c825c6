import ArgumentParser

/// `empctl`: the operator's command line for EMP.
@main
struct Empctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "empctl",
        abstract: "Operate an EMP elastic machine pool.",
        subcommands: [
            PoolCommand.self, HostCommand.self, EVMCommand.self, PlanCommand.self, MigrateCommand.self, MigrationsCommand.self,
            EventsCommand.self, CostCommand.self, ProfileCommand.self, WhatIf.self, SimCommand.self, SimulateCommand.self,
        ]
    )
}

/// `empctl whatif …`: run EMP's algorithms offline on a snapshot file.
struct WhatIf: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whatif",
        abstract: "Run EMP's scheduling algorithms offline on a JSON snapshot (format: docs/whatif.md).",
        subcommands: [WhatIfPlace.self, WhatIfPack.self, WhatIfPlan.self]
    )
}

/// Output format shared by commands that print results.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case table
    case json
}
