public import EMPModel
import Foundation
public import Logging

/// Runs this host's outgoing migrations, one task each, and reports their progress and end to the control plane.
///
/// Crash safety: a journal file per migration (`stateDir/migrations/<id>`) is written before the migration starts
/// and removed once its end is reported. After a restart a journalled migration is not started again: the agent
/// waits for any job still running, then reports completed when the domain has left this host and failed when it
/// is still here, so exactly one copy of the domain runs and the control plane's record says where.
public actor MigrationRunner {
    let transport: any MigrationTransport
    let client: ControlPlaneClient
    let credential: Credential
    let journal: String
    /// Recovery polls and report retries wait on this clock.
    let clock: any EMPClock
    let logger: Logger
    private var running: [String: Task<Void, Never>] = [:]
    private var aborted: Set<String> = []
    /// Migrations whose end was reported: never started again, even if a stale desired state lists them.
    private var finished: Set<String> = []

    public init(
        transport: any MigrationTransport, client: ControlPlaneClient, credential: Credential, stateDirectory: String,
        clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.clock = clock
        self.transport = transport
        self.client = client
        self.credential = credential
        self.journal = "\(stateDirectory)/migrations"
        self.logger = logger
    }

    /// Starts new commands and aborts cancelled ones.
    public func handle(_ commands: [MigrationCommand]) {
        for command in commands {
            if command.cancel, running[command.id] != nil, aborted.insert(command.id).inserted {
                logger.notice("aborting migration", metadata: ["migration": "\(command.id)", "evm": "\(command.evmID)"])
                Task { [transport, logger] in
                    do { try await transport.abort(command.evmID) } catch {
                        logger.warning("abort failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            guard running[command.id] == nil, !finished.contains(command.id) else { continue }
            let recovering = FileManager.default.fileExists(atPath: journalPath(command.id))
            if !recovering {
                do {
                    try FileManager.default.createDirectory(atPath: journal, withIntermediateDirectories: true)
                    try Data(command.evmID.utf8).write(to: URL(fileURLWithPath: journalPath(command.id)))
                } catch {
                    logger.error("cannot write the migration journal; not starting", metadata: ["error": "\(error)"])
                    continue
                }
            }
            running[command.id] = Task { await self.run(command, recovering: recovering) }
        }
    }

    private func run(_ command: MigrationCommand, recovering: Bool) async {
        let update: MigrationUpdate
        if recovering {
            update = await recover(command)
        } else if command.cancel {
            update = MigrationUpdate(step: .failed, message: "cancelled before it started")
        } else {
            logger.info(
                "migrating", metadata: ["evm": "\(command.evmID)", "to": "\(command.destinationHost)", "migration": "\(command.id)"])
            do {
                let stats = try await transport.migrate(command.evmID, command: command) { progress in
                    try? await self.client.migration(self.credential, command.id, MigrationUpdate(step: .running, progress: progress))
                }
                update = MigrationUpdate(step: .completed, progress: stats)
            } catch {
                update = MigrationUpdate(step: .failed, message: "\(error)")
            }
        }
        await deliver(update, for: command)
    }

    /// After a restart: let a job still running end, then judge by where the domain runs (a completed migration can
    /// leave an inactive definition here, which the next reconcile removes).
    private func recover(_ command: MigrationCommand) async -> MigrationUpdate {
        while (try? await transport.jobActive(command.evmID)) == true {
            try? await clock.sleep(for: .milliseconds(500))
        }
        if (try? await transport.runsDomain(command.evmID)) == false {
            return MigrationUpdate(step: .completed, message: "the domain left this host while the agent was restarting")
        }
        return MigrationUpdate(step: .failed, message: "the agent restarted during the migration and the domain is still on this host")
    }

    /// Reports the end until the control plane has it, then forgets the journal.
    private func deliver(_ update: MigrationUpdate, for command: MigrationCommand) async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                try await client.migration(credential, command.id, update)
                break
            } catch {
                logger.warning("migration report failed; retrying", metadata: ["error": "\(error)"])
                try? await clock.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
        }
        logger.info("migration \(update.step.rawValue)", metadata: ["evm": "\(command.evmID)", "message": "\(update.message ?? "")"])
        try? FileManager.default.removeItem(atPath: journalPath(command.id))
        finished.insert(command.id)
        running[command.id] = nil
    }

    private func journalPath(_ id: String) -> String { "\(journal)/\(id)" }
}
