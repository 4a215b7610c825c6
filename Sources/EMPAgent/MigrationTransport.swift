public import EMPModel
import Foundation
public import Libvirt

/// How the agent moves a domain to another host: libvirt in production; tests inject their own to exercise the
/// success, slow and abort paths where the libvirt test driver cannot migrate.
public protocol MigrationTransport: Sendable {
    /// Runs the migration of EVM `evmID`'s domain per `command`, calling `progress` while it runs. Returns the
    /// completed job's statistics when it succeeded; throws libvirt's error when it failed or was aborted.
    func migrate(
        _ evmID: String, command: MigrationCommand, progress: @escaping @Sendable (MigrationProgress) async -> Void
    ) async throws -> MigrationProgress?
    /// Aborts the running migration of `evmID` (the domain stays on this host).
    func abort(_ evmID: String) async throws
    /// True while a migration job of `evmID` is still running in the hypervisor (after an agent restart).
    func jobActive(_ evmID: String) async throws -> Bool
    /// True while `evmID`'s domain runs (is active) on this host. After a completed migration the source may keep an
    /// inactive definition (see ``LibvirtMigrationTransport``), so being defined says nothing about where it runs.
    func runsDomain(_ evmID: String) async throws -> Bool
}

/// `virDomainMigrateToURI3`: live, peer-to-peer, persisted on the destination, auto-converge; destination XML
/// from `VIR_DOMAIN_XML_MIGRATABLE` with this host's state directory rewritten to the destination's; progress from
/// job stats every `pollInterval`; post-copy after the first pass when asked. The source definition is removed
/// here rather than by libvirt (`VIR_MIGRATE_UNDEFINE_SOURCE`), after reading the completed job's statistics
/// (bytes, downtime), which libvirt drops with the definition; a crash in between leaves an inactive definition
/// that the next reconcile removes (the EVM is no longer this host's).
public struct LibvirtMigrationTransport: MigrationTransport {
    let connection: Connection
    let stateDirectory: String
    let pollInterval: Duration

    public init(connection: Connection, stateDirectory: String, pollInterval: Duration = .milliseconds(500)) {
        self.connection = connection
        self.stateDirectory = stateDirectory
        self.pollInterval = pollInterval
    }

    /// The domain's XML for the destination: this host's per-EVM paths (seed, console log) moved under the
    /// destination agent's state directory.
    public static func destinationXML(_ xml: String, from source: String, to destination: String?) -> String {
        guard let destination, destination != source else { return xml }
        return xml.replacingOccurrences(of: "'\(source)/", with: "'\(destination)/").replacingOccurrences(
            of: "\"\(source)/", with: "\"\(destination)/")
    }

    public func migrate(
        _ evmID: String, command: MigrationCommand, progress: @escaping @Sendable (MigrationProgress) async -> Void
    ) async throws -> MigrationProgress? {
        let domain = try await connection.domain(named: evmID)
        let live = try await domain.xml([.migratable, .secure])
        let persistent = try await domain.xml([.migratable, .secure, .inactive])
        let parameters = MigrationParameters(
            destinationXML: Self.destinationXML(live, from: stateDirectory, to: command.destinationStateDirectory),
            persistXML: Self.destinationXML(persistent, from: stateDirectory, to: command.destinationStateDirectory),
            migrationURI: command.destinationAddress)
        var flags = MigrationFlags.evmLive
        if command.postCopy { flags.insert(.postCopy) }
        let poller = Task {
            var switched = false
            while !Task.isCancelled {
                try? await Task.sleep(for: pollInterval)
                guard let stats = try? await domain.jobStats(), stats.type == .unbounded || stats.type == .bounded else { continue }
                if command.postCopy, !switched, (stats.memoryIteration ?? 0) >= 1 {
                    switched = (try? await domain.startPostCopy()) != nil
                }
                var current = Self.progress(stats)
                current.postCopyActive = switched ? true : nil
                await progress(current)
            }
        }
        defer { poller.cancel() }
        try await domain.migrate(to: command.destinationURI, parameters: parameters, flags: flags)
        poller.cancel()
        let completed = (try? await domain.jobStats(completed: true)).map(Self.progress)
        if try await domain.isActive() == false { try await domain.undefine() }
        return completed
    }

    public func abort(_ evmID: String) async throws {
        try await connection.domain(named: evmID).abortJob()
    }

    public func jobActive(_ evmID: String) async throws -> Bool {
        guard let domain = try await connection.domainIfExists(named: evmID) else { return false }
        let type = try await domain.jobStats().type
        return type == .bounded || type == .unbounded
    }

    public func runsDomain(_ evmID: String) async throws -> Bool {
        guard let domain = try await connection.domainIfExists(named: evmID) else { return false }
        return try await domain.isActive()
    }

    static func progress(_ stats: JobStats) -> MigrationProgress {
        let page = stats.memoryPageSize ?? 4096
        return MigrationProgress(
            elapsedMilliseconds: stats.elapsedMilliseconds, dataTotalBytes: stats.dataTotalBytes,
            dataProcessedBytes: stats.dataProcessedBytes,
            dataRemainingBytes: stats.dataRemainingBytes,
            memoryDirtyRateBytesPerSecond: stats.memoryDirtyRatePagesPerSecond.map { $0 * page },
            iteration: stats.memoryIteration, downtimeMilliseconds: stats.downtimeMilliseconds)
    }
}
