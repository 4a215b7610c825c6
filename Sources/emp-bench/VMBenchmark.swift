import AsyncHTTPClient
import EMPAgent
import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Libvirt
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Real guests (needs root on Debian; scripts/virt-harness.sh): boot time, live-migration time, downtime and bytes
/// from libvirt's job stats for an idle and a dirtying (32 MiB) 128 MiB TCG guest; then EMP's orchestration —
/// control-plane decision → agent call → completion recorded — beside libvirt's own job time for the same moves.
func vmBenchmark() async throws {
    if let reason = VirtHarness.unavailableReason {
        print("vm: skipped: \(reason)")
        return
    }
    print("vm: 128 MiB TCG guests on two libvirtd hosts (direct kernel boot), 3 runs each")
    let harness = try await VirtHarness.start(hosts: 2)
    defer { Task { try? await harness.stop() } }
    do {
        for (name, cmdline) in [("idle", ""), ("dirtying 32 MiB", " emp_dirty=32")] {
            try await guestFigures(harness, name: name, cmdline: cmdline)
        }
        try await orchestrationOverhead(harness)
    } catch {
        try? await harness.stop()
        throw error
    }
    try await harness.stop()
}

private func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

private func guestFigures(_ harness: VirtHarness, name: String, cmdline: String) async throws {
    let (h1, h2) = (harness.hosts[0], harness.hosts[1])
    let source = try await Connection(uri: h1.uri)
    var boots: [Double] = []
    var migrations: [Double] = []
    var jobs: [Double] = []
    var downtimes: [Double] = []
    var bytes: [Double] = []
    for run in 0..<3 {
        let vm = "bench-\(name.prefix(4))-\(run)"
        let console = "\(h1.directory)/console/\(vm).log"
        var spec = DomainSpec(name: vm, type: .qemu, vcpus: 1, memoryBytes: 128 << 20, serialLogPath: console)
        spec.boot = .kernel(path: harness.kernel, initrd: harness.initrd, cmdline: "console=ttyS0 quiet panic=-1" + cmdline)
        let start = ContinuousClock.now
        let domain = try await source.defineDomain(xml: spec.xml())
        try await domain.start()
        while !((try? String(contentsOfFile: console, encoding: .utf8)) ?? "").contains(cmdline.isEmpty ? "EMP-GUEST-READY" : "EMP-DIRTY") {
            try await Task.sleep(for: .milliseconds(50))
        }
        boots.append(seconds(ContinuousClock.now - start))
        try await Task.sleep(for: .seconds(2))  // let a dirtying guest get going
        let xml = try await domain.xml([.migratable, .secure]).replacingOccurrences(
            of: "\(h1.directory)/console/", with: "\(h2.directory)/console/")
        let moved = ContinuousClock.now
        try await domain.migrate(
            to: h2.uri, parameters: MigrationParameters(destinationXML: xml),
            flags: [.live, .peerToPeer, .persistDestination, .autoConverge])
        migrations.append(seconds(ContinuousClock.now - moved))
        let stats = try await domain.jobStats(completed: true)
        jobs.append(Double(stats.elapsedMilliseconds ?? 0) / 1000)
        downtimes.append(Double(stats.downtimeMilliseconds ?? 0))
        bytes.append(Double(stats.dataProcessedBytes ?? 0) / Double(1 << 20))
        try await domain.undefine()
        let arrived = try await Connection(uri: h2.uri).domain(named: vm)
        try await arrived.destroy()
        try await arrived.undefine()
    }
    report("\(name): boot (create → ready line), median", median(boots), "s", decimals: 2)
    report("\(name): migration API call, median", median(migrations), "s", decimals: 2)
    report("\(name): libvirt job time, median", median(jobs), "s", decimals: 2)
    report("\(name): downtime, median", median(downtimes), "ms", decimals: 0)
    report("\(name): bytes sent, median", median(bytes), "MiB", decimals: 1)
}

/// Five manual migrations of one EVM back and forth through the control plane and two in-process agents:
/// decision (the API call that records the migration) → completion recorded, beside libvirt's job time.
private func orchestrationOverhead(_ harness: VirtHarness) async throws {
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let dir = try TemporaryDirectory(prefix: "emp-bench-vm")
    var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("cp"), operatorTokens: ["bench"])
    configuration.port = 0
    configuration.rebalancer.enabled = false
    let (ready, signal) = AsyncStream<Int>.makeStream()
    let built = try ControlPlane.build(configuration: configuration, logger: logger, onServerRunning: { signal.yield($0) })
    let server = ServingTask(built.service)
    defer { Task { await server.stop() } }
    var port = 0
    for await bound in ready {
        port = bound
        break
    }
    let url = "http://127.0.0.1:\(port)"
    func call(_ method: String, _ path: String, _ json: String = "{}") async throws -> Data {
        var request = HTTPClientRequest(url: url + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer bench")
        request.body = .bytes(ByteBuffer(string: json))
        return Data(buffer: try await HTTPClient.shared.execute(request, timeout: .seconds(30)).body.collect(upTo: 1 << 20))
    }
    try await built.store.write { tx in
        try tx.save(Pool(id: "vm", shape: EVMShape(vcpus: 1, memoryBytes: 128 << 20), createdAt: Date()))
    }
    struct Token: Decodable { let token: String }
    var agents: [Task<Void, any Error>] = []
    defer { for agent in agents { agent.cancel() } }
    for (index, host) in harness.hosts.enumerated() {
        let token = try JSONDecoder().decode(Token.self, from: try await call("POST", "/v1/pools/vm/tokens")).token
        var agentConfiguration = AgentConfiguration(
            controlPlaneURL: url, joinToken: token, hostID: "h\(index + 1)", libvirtURI: host.uri,
            stateDirectory: dir.file("agent-\(index)"),
            domainType: .qemu, reportInterval: .seconds(1), pollWait: 5, kernel: harness.kernel, initrd: harness.initrd,
            kernelCommandLine: "console=ttyS0 quiet panic=-1")
        agentConfiguration.migrationURI = host.uri
        let agent = HostAgent(
            configuration: agentConfiguration, client: ControlPlaneClient(http: HTTPClient.shared, baseURL: url),
            connection: try await Connection(uri: host.uri), logger: logger)
        agents.append(Task { try await agent.run() })
    }
    _ = try await call("POST", "/v1/pools/vm/evms", #"{"count": 1}"#)
    guard try await eventually(timeout: .seconds(120), { try await built.store.read { try $0.evms(.all).first?.phase == .running } }) else {
        throw TestSupportError("the benchmark EVM did not start")
    }
    try await Task.sleep(for: .seconds(8))  // let the guest boot
    var totals: [Double] = []
    var jobs: [Double] = []
    for _ in 0..<5 {
        let evm = try await built.store.read { try $0.evms(.all).first! }
        let target = evm.hostID == "h1" ? "h2" : "h1"
        _ = try await call("POST", "/v1/evms/\(evm.id)/migrate", #"{"to": "\#(target)"}"#)
        guard
            try await eventually(
                timeout: .seconds(60),
                {
                    try await built.store.read { try $0.migrations(MigrationFilter(evmID: evm.id)).last?.state == .completed }
                })
        else { throw TestSupportError("a benchmark migration did not complete") }
        let migration = try await built.store.read { try $0.migrations(MigrationFilter(evmID: evm.id)).last! }
        totals.append(migration.finishedAt!.timeIntervalSince(migration.createdAt))
        jobs.append(Double(migration.progress?.elapsedMilliseconds ?? 0) / 1000)
        try await Task.sleep(for: .seconds(1))
    }
    report("orchestrated: decision → completion recorded, median", median(totals), "s", decimals: 2)
    report("orchestrated: libvirt job time of the same moves, median", median(jobs), "s", decimals: 2)
    report("orchestrated: EMP's overhead (difference), median", median(zip(totals, jobs).map { $0 - $1 }), "s", decimals: 2)
}
