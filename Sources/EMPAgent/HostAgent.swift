import AsyncHTTPClient
public import EMPModel
import Foundation
public import Kube
public import Libvirt
public import Logging
import Synchronization

/// The agent loop: join once, then follow the host's desired EVM set (long poll) and reconcile libvirt to it,
/// and report usage and observed domains every ``AgentConfiguration/reportInterval``.
///
/// Idempotent by construction: every pass lists libvirt's domains and acts only on the difference
/// (``ReconcilePlan``), domain name = EVM id, so a restart at any point converges without duplicates or leaks.
public final class HostAgent: Sendable {
    let configuration: AgentConfiguration
    let client: ControlPlaneClient
    let connection: Connection
    /// Kubernetes, for Node pre-registration; nil turns it off.
    let kube: KubeClient?
    /// The seed ISO writer, or why there is none (then no EVM boots, and `run` says so at start).
    let seedImage: Result<SeedImage, any Error>
    /// Moves domains to other hosts (libvirt unless a test injects another).
    let transport: any MigrationTransport
    /// The deadline of the provider's interruption notice, once seen.
    let interruption = Mutex<Date?>(nil)
    /// Instance names of the domains' runs, for the CPU-time check at the control plane.
    let instances = Mutex(DomainInstances())
    /// When each EVM created here went through its provisioning steps (reported until its domain is gone).
    let steps = Mutex<[String: ProvisioningSteps]>([:])
    /// Incoming migrations already reported prepared.
    let prepared = Mutex<Set<String>>([])
    /// Report interval, poll backoff and interruption polling run on this clock.
    let clock: any EMPClock
    let logger: Logger

    public init(
        configuration: AgentConfiguration, client: ControlPlaneClient, connection: Connection, kube: KubeClient? = nil,
        transport: (any MigrationTransport)? = nil, clock: any EMPClock = SystemClock(), logger: Logger
    ) {
        self.clock = clock
        self.configuration = configuration
        self.client = client
        self.connection = connection
        self.kube = kube
        self.seedImage = Result { try SeedImage.locate(explicit: configuration.isoTool) }
        self.transport = transport ?? LibvirtMigrationTransport(connection: connection, stateDirectory: configuration.stateDirectory)
        self.logger = logger
    }

    /// Runs until cancelled.
    public func run() async throws {
        _ = try seedImage.get()
        let credential = try await ensureJoined()
        logger.info("agent running", metadata: ["host": "\(credential.hostID)", "pool": "\(credential.poolID)"])
        if kube == nil { logger.notice("Node pre-registration is off: no kubeconfig given (--kubeconfig)") }
        let runner = MigrationRunner(
            transport: transport, client: client, credential: credential, stateDirectory: configuration.stateDirectory, clock: clock,
            logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.followDesiredState(credential, runner: runner) }
            group.addTask { try await self.reportLoop(credential) }
            if let url = self.configuration.interruptionURL {
                group.addTask { try await self.watchInterruption(url, credential) }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    // MARK: Join

    /// The stored credential, or a new one from the join token.
    public func ensureJoined() async throws -> Credential {
        if let stored = try Credential.load(from: configuration.stateDirectory) { return stored }
        guard let token = configuration.joinToken else {
            throw AgentError("not joined yet and no join token given (--join-token)")
        }
        let inventory = try await self.inventory()
        let answer = try await client.join(JoinRequest(token: token, hostID: configuration.hostID, inventory: inventory))
        let credential = Credential(hostID: answer.hostID, poolID: answer.poolID, secret: answer.credential)
        try credential.save(to: configuration.stateDirectory)
        logger.info("joined", metadata: ["host": "\(answer.hostID)", "pool": "\(answer.poolID)"])
        return credential
    }

    /// What the host is: from libvirt.
    public func inventory() async throws -> HostInventory {
        let info = try await connection.nodeInfo()
        return HostInventory(
            hostname: try await connection.hostname(),
            cores: info.cpus,
            memoryBytes: try await connection.totalMemoryBytes(),
            cpuModel: info.cpuModel,
            hostUUID: try await connection.hostUUID(),
            libvirtVersion: try await connection.libraryVersion(),
            hypervisorVersion: try await connection.hypervisorVersion(),
            migrationURI: configuration.migrationURI,
            migrationAddress: configuration.migrationAddress,
            stateDirectory: configuration.stateDirectory
        )
    }

    // MARK: Desired state

    private func followDesiredState(_ credential: Credential, runner: MigrationRunner) async throws {
        var revision: Int64 = -1
        var desired = DesiredState(revision: -1, evms: [])
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                let state = try await client.desired(credential, after: revision, wait: configuration.pollWait)
                revision = state.revision
                desired = state
                backoff = .milliseconds(200)
            } catch is CancellationError {
                return
            } catch {
                logger.warning("desired-state poll failed; retrying", metadata: ["error": "\(error)", "in": "\(backoff)"])
                try await clock.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(10))
            }
            await reconcileLogged(desired, hostID: credential.hostID)
            await prepareIncoming(desired, credential)
            await runner.handle(desired.outgoing)
        }
    }

    private func reconcileLogged(_ desired: DesiredState, hostID: String) async {
        do {
            try await reconcile(
                desired.evms, hostID: hostID, kubelet: desired.kubelet, incoming: desired.incoming.map(\.evm.id), departed: desired.departed
            )
        } catch is CancellationError {
            return  // stopping
        } catch {
            logger.error("reconcile failed", metadata: ["error": "\(error)"])
        }
    }

    /// Makes libvirt (and, with Kubernetes, the Nodes) match `desired` once. Errors on one domain do not stop the
    /// others. An EVM whose Node cannot be registered, or whose seed cannot be written, is not booted this pass.
    public func reconcile(
        _ desired: [EVM], hostID: String, kubelet: KubeletJoin? = nil, incoming: [String] = [], departed: [String] = []
    ) async throws {
        let plan = ReconcilePlan(desired: desired, observed: try await observe(), incoming: Set(incoming))
        let registrar = kube.map { NodeRegistrar(client: $0, hostID: hostID, logger: logger) }
        try FileManager.default.createDirectory(atPath: "\(configuration.stateDirectory)/console", withIntermediateDirectories: true)
        for evm in plan.create {
            if let registrar {
                do {
                    try await registrar.ensure(evm)
                    record(evm.id) { $0.nodeRegisteredAt = $0.nodeRegisteredAt ?? self.clock.date }
                } catch {
                    logger.error("node registration failed; not booting the EVM yet", metadata: ["evm": "\(evm.id)", "error": "\(error)"])
                    continue
                }
            }
            await attempt("create", evm.id) {
                let seed = CloudInitSeed(evm: evm, hostID: hostID, kubelet: kubelet)
                try await self.seedImage.get().write(try seed.files(), to: self.configuration.seedPath(for: evm.id))
                self.record(evm.id) { $0.seedWrittenAt = self.clock.date }
                let spec = self.configuration.domainSpec(for: evm)
                if !spec.disks.isEmpty {
                    try await DiskOverlay.ensure(
                        base: DiskOverlay.basePath(evm.shape.image, directory: self.configuration.imageDirectory),
                        overlay: self.configuration.diskPath(for: evm.id), sizeBytes: evm.shape.diskBytes)
                }
                let domain = try await self.connection.defineDomain(xml: spec.xml())
                self.record(evm.id) { $0.definedAt = self.clock.date }
                try await domain.start()
                self.record(evm.id) { $0.bootedAt = self.clock.date }
            }
        }
        for name in plan.start {
            await attempt("start", name) { try await self.connection.domain(named: name).start() }
        }
        for name in plan.suspend {
            await attempt("suspend", name) { try await self.connection.domain(named: name).suspend() }
        }
        for name in plan.resume {
            await attempt("resume", name) { try await self.connection.domain(named: name).resume() }
        }
        for name in plan.save {
            await attempt("save to disk", name) { try await self.connection.domain(named: name).managedSave() }
        }
        for name in plan.remove {
            await attempt("remove", name) {
                guard let domain = try await self.connection.domainIfExists(named: name) else { return }
                if try await domain.isActive() { try await domain.destroy() }
                try await domain.undefine()
            }
        }
        // One listing of what the pass left behind serves the seed clean-up and the Node sync.
        let remaining = try await observe()
        let wanted = desired.filter { $0.phase != .deleting && $0.phase != .lost }
        removeOrphanFiles(keeping: Set(wanted.map(\.id)).union(remaining.map(\.name)).union(incoming))
        if let registrar {
            try await registrar.sync(wanted: wanted, domains: Set(remaining.compactMap { $0.metadata?.evmID }), departed: Set(departed))
        }
    }

    /// Deletes seed ISOs and disk overlays of EVMs that are neither wanted nor defined (removed, or a crash between
    /// undefine and cleanup).
    private func removeOrphanFiles(keeping names: Set<String>) {
        for (folder, suffix) in [("seeds", ".iso"), ("disks", ".qcow2")] {
            let directory = "\(configuration.stateDirectory)/\(folder)"
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in files where file.hasSuffix(suffix) && !names.contains(String(file.dropLast(suffix.count))) {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(file)")
            }
        }
    }

    /// Notes a provisioning step of `evm` for the next reports.
    private func record(_ evm: String, _ step: (inout ProvisioningSteps) -> Void) {
        steps.withLock { step(&$0[evm, default: ProvisioningSteps()]) }
    }

    private func attempt(_ action: String, _ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
            logger.info("\(action) \(name)")
        } catch {
            logger.error("\(action) \(name) failed", metadata: ["error": "\(error)"])
        }
    }

    /// libvirt's domains with their EMP metadata.
    func observe() async throws -> [ReconcilePlan.Observed] {
        var observed: [ReconcilePlan.Observed] = []
        for listing in try await connection.listDomains() {
            let metadata = try await listing.domain.empMetadata()
            observed.append(
                .init(name: listing.domain.name, metadata: metadata, active: listing.state.isActive, paused: listing.state == .paused))
        }
        return observed
    }

    // MARK: Reports

    private func reportLoop(_ credential: Credential) async throws {
        while !Task.isCancelled {
            do {
                try await client.report(credential, try await makeReport())
            } catch is CancellationError {
                return
            } catch {
                logger.warning("report failed", metadata: ["error": "\(error)"])
            }
            try await clock.sleep(for: configuration.reportInterval)
        }
    }

    /// Usage from `virConnectGetAllDomainStats` for EMP's domains, and the host total.
    public func makeReport() async throws -> HostReport {
        let ours = Dictionary(
            try await observe().compactMap { domain in domain.metadata.map { (domain.name, $0) } },
            uniquingKeysWith: { a, _ in a }
        )
        var used = Resources.zero
        var domains: [DomainReport] = []
        let listing = try await connection.allDomainStats()
        instances.withLock { $0.forget(except: Set(listing.map(\.uuid))) }
        let present = Set(listing.map(\.name))
        let provisioning = steps.withLock { steps in
            steps = steps.filter { present.contains($0.key) || $0.value.definedAt == nil }
            return steps
        }
        for stats in listing where ours[stats.name] != nil {
            let steal = stats.vcpus.compactMap(\.delayNanoseconds).reduce(Int64(0), +)
            domains.append(
                DomainReport(
                    evmID: stats.name,
                    running: stats.state?.isActive ?? false,
                    rssBytes: stats.balloonRSSBytes,
                    cpuTimeNanoseconds: stats.cpuTimeNanoseconds,
                    stealNanoseconds: stats.vcpus.isEmpty ? nil : steal,
                    instance: instances.withLock { $0.instance(uuid: stats.uuid, id: stats.id, cpuTime: stats.cpuTimeNanoseconds) },
                    swap: Self.guestMemory(stats),
                    provisioning: provisioning[stats.name]
                )
            )
            used.memoryBytes += stats.balloonRSSBytes ?? 0
        }
        return HostReport(used: used, domains: domains, interruptionDeadline: interruption.withLock { $0 })
    }

    /// The balloon's guest statistics, when the guest reports any.
    static func guestMemory(_ stats: DomainStats) -> GuestMemory? {
        let memory = GuestMemory(
            swapInBytes: stats.balloonSwapInBytes, swapOutBytes: stats.balloonSwapOutBytes, unusedBytes: stats.balloonUnusedBytes,
            availableBytes: stats.balloonAvailableBytes)
        return memory == GuestMemory() ? nil : memory
    }
}
