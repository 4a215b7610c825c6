import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Kube
import Libvirt
import Logging
import Testing

/// Real EVMs: 128 MiB TCG guests under libvirtd + QEMU on two daemon "hosts", driven by the control plane and two
/// `emp-agent` processes. Runs as root on Debian (CI); elsewhere it is skipped with the reason.
@Suite(.serialized, .enabled(if: VirtHarness.unavailableReason == nil, Comment(rawValue: VirtHarness.unavailableReason ?? "")))
struct RealVMTests {
    @Test(.timeLimit(.minutes(10)))
    func bootMigrateAbortInterruptAndCrash() async throws {
        let harness = try await VirtHarness.start(hosts: 2)
        let cluster = try RealCluster(harness: harness)
        do {
            try await cluster.start()
            try await scenarios(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
        // Nothing left behind: no daemon of this harness and no namespace.
        let namespaces = try await ChildProcess.output("/usr/sbin/ip", ["netns", "list"])
        #expect(!namespaces.contains("emp-h"), "namespaces left: \(namespaces)")
    }

    /// A paused or saved warm EVM on real QEMU: booted, its Node joined, then suspended or written to disk with
    /// libvirt's managed save; a Pending pod claims it and the guest goes on where it stopped, without a reboot.
    /// Prints the claim time (decision → domain running).
    @Test(.timeLimit(.minutes(10)), arguments: [WarmMode.paused, .saved])
    func aHeldWarmGuestResumesWhereItStopped(mode: WarmMode) async throws {
        let harness = try await VirtHarness.start(hosts: 1)
        let cluster = try RealCluster(harness: harness, nodeReadyAfter: nil)
        var autoscaler: Task<Void, any Error>?
        do {
            try await cluster.start()
            var settings = Autoscaler.Settings()
            settings.idleWindow = .milliseconds(200)
            settings.tick = .milliseconds(100)
            settings.reserved = .zero  // 128 MiB guests: nothing held back for a kubelet
            let scaler = Autoscaler(
                client: cluster.kube!, store: cluster.built.store, settings: settings, logger: Logger(label: "autoscaler"))
            autoscaler = Task { try await scaler.run() }
            try await warmScenario(cluster, mode: mode)
        } catch {
            autoscaler?.cancel()
            await cluster.stop()
            throw error
        }
        autoscaler?.cancel()
        await cluster.stop()
    }

    func warmScenario(_ cluster: RealCluster, mode: WarmMode) async throws {
        let patched = try await cluster.call(
            "PATCH", "/v1/pools/vm", #"{"policy": {"warm": {"count": 1, "mode": "\#(mode.rawValue)"}}}"#)
        #expect(patched.status == 200, "\(String(decoding: patched.body, as: UTF8.self))")
        #expect(try await eventually(timeout: .seconds(60)) { try await cluster.evms().first?.phase == .warm })
        let warm = try #require(try await cluster.evms().first)
        let host = try #require(warm.hostID)
        // The guest boots and ticks; then its "kubelet joins" (the Node turns Ready) and the agent suspends it.
        #expect(
            try await eventually(timeout: .seconds(90)) { cluster.lastTick(warm.id, on: host) >= 2 },
            "the warm guest did not boot: \(cluster.console(warm.id, on: host).suffix(300))")
        try await cluster.markNodeReady(warm.id)
        let held: DomainState = mode == .paused ? .paused : .shutoff
        #expect(try await eventually(timeout: .seconds(60)) { try await cluster.domainState(warm.id, on: host) == held })
        let stoppedAt = cluster.lastTick(warm.id, on: host)

        // A pod that tolerates EVMs (not the warm taint) goes Pending; the autoscaler claims the warm EVM.
        let kube = cluster.kube!
        _ = try await kube.resources(Namespace.self).create(Namespace(name: "warm"))
        var pod = Pod(name: "app", namespace: "warm")
        pod.spec.tolerations = [Toleration(key: Profile.taintKey, value: "true", effect: "NoSchedule")]
        pod.spec.nodeSelector = [Profile.ownedLabel: "true"]
        pod.spec.containers = [Container(name: "c", image: "alpine", requests: ["memory": "16Mi"])]
        _ = try await kube.resources(Pod.self, namespace: "warm").create(pod)
        #expect(try await eventually(timeout: .seconds(30)) { try await cluster.evm(warm.id)?.claimedAt != nil })
        var runningAt: Date?
        _ = try await eventually(timeout: .seconds(30), interval: .milliseconds(5)) {
            guard try await cluster.domainState(warm.id, on: host) == .running else { return false }
            runningAt = Date()
            return true
        }
        let claimed = try #require(try await cluster.evm(warm.id))
        let decided = try #require(claimed.claimedAt)
        let resumed = try #require(runningAt, "the claimed domain was not resumed")
        print("warm claim (\(mode.rawValue)): decision → domain running \(Int(resumed.timeIntervalSince(decided) * 1000)) ms")
        #expect(claimed.phase == .running && claimed.warm == nil)
        // Ticking again from where it stopped: the next tick follows the last one, and it never booted twice.
        #expect(try await eventually(timeout: .seconds(20)) { cluster.lastTick(warm.id, on: host) > stoppedAt })
        let console = cluster.console(warm.id, on: host)
        #expect(console.components(separatedBy: "EMP-GUEST-READY").count == 2, "the guest rebooted")
        #expect(console.contains("EMP-TICK \(stoppedAt + 1)"), "ticks did not resume from \(stoppedAt)")
        #expect(
            try await eventually(timeout: .seconds(30)) {
                try await kube.resources(Pod.self, namespace: "warm").get("app").spec.nodeName == warm.nodeName
            }, "the pod did not land on the claimed EVM")
    }

    func scenarios(_ cluster: RealCluster) async throws {
        // 1. A pool and two EVMs: both boot (the console shows the ready line).
        #expect(try await cluster.call("POST", "/v1/pools/vm/evms", #"{"count": 2}"#).status == 201)
        let ids = try await cluster.evms().map(\.id).sorted()
        #expect(ids.count == 2)
        #expect(try await eventually(timeout: .seconds(60)) { try await cluster.evms().allSatisfy { $0.phase == .running } })
        let home = try #require(try await cluster.evm(ids[0])?.hostID)
        let other = cluster.names.first { $0 != home }!
        for id in ids {
            let host = try #require(try await cluster.evm(id)?.hostID)
            #expect(
                try await eventually(timeout: .seconds(90)) { cluster.console(id, on: host).contains("EMP-GUEST-READY") },
                "\(id) did not boot on \(host): \(cluster.console(id, on: host).suffix(300))")
        }

        // 2. Maintenance: the planner evacuates; the guests move live (ticks go on, no second boot).
        let onHome = try await cluster.evms().filter { $0.hostID == home }.map(\.id)
        let ticksBefore = Dictionary(uniqueKeysWithValues: onHome.map { ($0, cluster.lastTick($0, on: home)) })
        var nodesBefore: [String: String] = [:]
        for id in onHome { nodesBefore[id] = try #require(try await cluster.node(id)?.metadata.uid) }
        #expect(try await cluster.call("POST", "/v1/hosts/\(home)/maintenance", #"{"enabled": true}"#).status == 200)
        let evacuated = try await eventually(timeout: .seconds(120)) {
            try await cluster.evms().allSatisfy { $0.hostID == other && $0.phase == .running }
        }
        let moves = try await cluster.built.store.read { try $0.migrations(.all) }
        #expect(evacuated, "evacuation of \(home) did not finish: \(moves)")
        for id in onHome {
            let migration = try #require(try await cluster.migrations(id).last)
            #expect(migration.state == .completed && migration.reason == .evacuate)
            #expect((migration.progress?.dataProcessedBytes ?? 0) > 0, "no bytes reported for \(id)")
            #expect(try await eventually(timeout: .seconds(20)) { cluster.lastTick(id, on: other) > ticksBefore[id]! + 1 })
            #expect(!cluster.console(id, on: other).contains("EMP-GUEST-READY"), "\(id) rebooted on \(other)")
            // The same Node object throughout (never deleted and re-created); its host label follows the EVM.
            #expect(try await cluster.node(id)?.metadata.uid == nodesBefore[id])
            #expect(try await eventually { try await cluster.node(id)?.metadata.labels[Profile.hostLabel] == other })
        }
        #expect(try await cluster.runningDomains(home).isEmpty)
        #expect(try await cluster.runningDomains(other) == ids)
        let (source, target) = try await cluster.built.store.read { (try $0.host(home)!, try $0.host(other)!) }
        #expect(source.allocated == .zero)
        #expect(target.allocated.memoryBytes == 2 * (128 << 20))
        #expect(try await cluster.call("POST", "/v1/hosts/\(home)/maintenance", #"{"enabled": false}"#).status == 200)

        // 3. Abort: a throttled migration, cancelled, leaves the guest running where it was; the move is failed.
        let slow = ids[0]
        let domain = try await Connection(uri: cluster.libvirtURI(other)).domain(named: slow)
        try await domain.setMigrationMaxSpeed(mebibytesPerSecond: 1)
        let started = try await cluster.call("POST", "/v1/evms/\(slow)/migrate", #"{"to": "\#(home)"}"#)
        #expect(started.status == 202, "\(String(decoding: started.body, as: UTF8.self))")
        #expect(
            try await eventually(timeout: .seconds(30)) { (try await cluster.migrations(slow).last?.progress?.dataProcessedBytes ?? 0) > 0 }
        )
        let running = try #require(try await cluster.migrations(slow).last)
        #expect(try await cluster.call("POST", "/v1/migrations/\(running.id)/cancel").status == 200)
        #expect(try await eventually(timeout: .seconds(30)) { try await cluster.migrations(slow).last?.state == .failed })
        #expect(try await cluster.migrations(slow).last?.message?.contains("cancel") == true)
        #expect(try await cluster.evm(slow)?.hostID == other)
        #expect(try await cluster.runningDomains(other) == ids)
        #expect(try await cluster.runningDomains(home).isEmpty)
        try await domain.setMigrationMaxSpeed(mebibytesPerSecond: 8192)

        // 4. Interruption: the host's metadata says it goes away in 60 s; its guests leave in time and keep running.
        let metadata = try await NoticeServer.start()
        cluster.killAgent(other)
        try await cluster.startAgent(other, interruptionURL: "\(metadata.url)/\(other)")
        let deadline = Date().addingTimeInterval(60)
        metadata.announce(other, at: deadline)
        #expect(
            try await eventually(timeout: .seconds(60)) {
                try await cluster.evms().allSatisfy { $0.hostID == home && $0.phase == .running }
            })
        #expect(Date() < deadline)
        #expect(try await cluster.runningDomains(home) == ids)
        #expect(try await cluster.host(other)?.deadline != nil)
        metadata.clear(other)
        #expect(try await cluster.call("POST", "/v1/hosts/\(other)/interrupt", #"{"clear": true}"#).status == 200)
        cluster.killAgent(other)
        try await cluster.startAgent(other)
        _ = try await eventually(timeout: .seconds(20)) { try await cluster.host(other)?.state == .ready }

        // 5. Crash: kill -9 the destination's agent during a migration and restart it: one running copy, and the
        // control plane's record says where.
        let crashing = ids[1]
        let throttled = try await Connection(uri: cluster.libvirtURI(home)).domain(named: crashing)
        try await throttled.setMigrationMaxSpeed(mebibytesPerSecond: 16)
        #expect(try await cluster.call("POST", "/v1/evms/\(crashing)/migrate", #"{"to": "\#(other)"}"#).status == 202)
        _ = try await eventually(timeout: .seconds(30)) { try await cluster.migrations(crashing).last?.state == .running }
        cluster.killAgent(other)  // SIGKILL: gone at once, mid-migration (the throttled job keeps running in libvirt)
        try await cluster.startAgent(other)
        #expect(try await eventually(timeout: .seconds(90)) { try await cluster.migrations(crashing).last?.state.isActive == false })
        let recorded = try #require(try await cluster.evm(crashing)?.hostID)
        let copies =
            try await cluster.runningDomains(home).filter { $0 == crashing } + cluster.runningDomains(other).filter { $0 == crashing }
        #expect(copies.count == 1, "running copies of \(crashing): \(copies)")
        #expect(try await cluster.runningDomains(recorded).contains(crashing), "the record says \(recorded)")
        try await metadata.stop()

        // 5b. Stop: SIGTERM the source's agent during a migration. It exits 0 within 5 s without aborting the job
        // (libvirt runs it; the journal covers it); restarted, it reports the end: one running copy, where the
        // record says.
        let stopping = try #require(try await cluster.evms().first { $0.hostID == home && $0.phase == .running }?.id)
        let leaving = try await Connection(uri: cluster.libvirtURI(home)).domain(named: stopping)
        try await leaving.setMigrationMaxSpeed(mebibytesPerSecond: 16)
        #expect(try await cluster.call("POST", "/v1/evms/\(stopping)/migrate", #"{"to": "\#(other)"}"#).status == 202)
        _ = try await eventually(timeout: .seconds(30)) { try await cluster.migrations(stopping).last?.state == .running }
        let agent = try #require(cluster.agent(home))
        let (status, took) = agent.stop(SIGTERM)
        #expect(status == 0, "stderr: \(agent.errorOutput.suffix(10))")
        #expect(took < .seconds(5))
        #expect(!agent.errorOutput.joined(separator: "\n").contains("Fatal error"))
        cluster.killAgent(home)
        try await cluster.startAgent(home)
        #expect(try await eventually(timeout: .seconds(90)) { try await cluster.migrations(stopping).last?.state.isActive == false })
        let landed = try #require(try await cluster.evm(stopping)?.hostID)
        let stoppedCopies =
            try await cluster.runningDomains(home).filter { $0 == stopping } + cluster.runningDomains(other).filter { $0 == stopping }
        #expect(stoppedCopies.count == 1, "running copies of \(stopping): \(stoppedCopies)")
        #expect(try await cluster.runningDomains(landed).contains(stopping), "the record says \(landed)")

        // 6. Usage: a guest told to dirty 64 MiB (kernel argument emp_dirty=64) reports clearly more RSS at the
        // control plane, within two report intervals of starting to dirty, than the idle guests.
        let idle = try await cluster.evms().compactMap { $0.used?.memoryBytes }.max() ?? 0
        #expect(idle > 0, "no RSS reported for the idle guests")
        for name in cluster.names where name != other { #expect(try await cluster.call("POST", "/v1/hosts/\(name)/cordon").status == 200) }
        cluster.killAgent(other)
        try await cluster.startAgent(other, cmdline: "console=ttyS0 quiet panic=-1 emp_dirty=64")
        _ = try await eventually(timeout: .seconds(20)) { try await cluster.host(other)?.state == .ready }
        let created = try await cluster.call("POST", "/v1/pools/vm/evms", #"{"count": 1}"#)
        let hostsNow = try await cluster.built.store.read { try $0.hosts() }
        #expect(created.status == 201, "\(String(decoding: created.body, as: UTF8.self)); hosts: \(hostsNow)")
        let dirty = try #require(try await cluster.evms().map(\.id).first { !ids.contains($0) })
        #expect(try await cluster.evm(dirty)?.hostID == other)
        #expect(try await eventually(timeout: .seconds(90)) { cluster.console(dirty, on: other).contains("EMP-DIRTY 64MiB") })
        // Two report intervals (1 s each) after the guest started dirtying, plus the time to write 64 MiB.
        let grew = try await eventually(timeout: .seconds(10)) {
            (try await cluster.evm(dirty)?.used?.memoryBytes ?? 0) > idle + (32 << 20)
        }
        let rss = try await cluster.evm(dirty)?.used?.memoryBytes ?? 0
        #expect(grew, "dirtying guest RSS \(rss >> 20) MiB vs idle \(idle >> 20) MiB")

        // 7. Contention signals: steal time (the vCPU threads' run-queue delay) and the guest's own memory figures
        // from the virtio balloon's statistics (the guest loads the driver; libvirt polls it every 10 s) reach the
        // control plane for a real guest.
        let signalled = try await eventually(timeout: .seconds(60)) {
            let contention = try await cluster.evm(dirty)?.contention
            return contention?.stealMillis != nil && contention?.memory?.swapInBytes != nil && contention?.memory?.availableBytes != nil
        }
        let contention = try await cluster.evm(dirty)?.contention
        #expect(signalled, "contention reported: \(String(describing: contention))")
        #expect((contention?.memory?.availableBytes ?? 0) > 0)
    }
}

/// EC2's spot `instance-action` document per host on loopback; 404 while there is no notice.
final class NoticeServer: Sendable {
    final class Notices: @unchecked Sendable {
        // @unchecked: guarded by `lock`.
        let lock = NSLock()
        var byHost: [String: String] = [:]
    }

    let notices: Notices
    let task: ServingTask
    let url: String

    private init(notices: Notices, task: ServingTask, url: String) {
        self.notices = notices
        self.task = task
        self.url = url
    }

    static func start() async throws -> NoticeServer {
        let notices = Notices()
        let router = Router()
        router.get("{host}") { _, context -> Response in
            let host = try context.parameters.require("host")
            guard let body = notices.lock.withLock({ notices.byHost[host] }) else { return Response(status: .notFound) }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { signal.yield($0.localAddress?.port ?? 0) })
        let task = ServingTask(app)
        var port = 0
        for await bound in ready {
            port = bound
            break
        }
        return NoticeServer(notices: notices, task: task, url: "http://127.0.0.1:\(port)")
    }

    func announce(_ host: String, at time: Date) {
        notices.lock.withLock { notices.byHost[host] = #"{"action": "terminate", "time": "\#(time.formatted(.iso8601))"}"# }
    }

    func clear(_ host: String) { notices.lock.withLock { notices.byHost[host] = nil } }

    func stop() async throws { await task.stop() }
}
