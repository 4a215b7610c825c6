import AsyncHTTPClient
import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// What the console costs at fleet size (issue 17): a pool of 1,000 hosts and 10,000 EVMs with a day of pool samples
/// and one minute of host samples. The pool dashboard (one read transaction: counts, 200 EVM rows, every host, the
/// rebalancer's dry run, 24 h of charts) and the pools page, beside the JSON the same data costs through the API
/// (`GET /v1/hosts?pool=` first page + `GET /v1/evms?pool=&limit=200`); and one cost-sampler pass.
func consoleBenchmark() async throws {
    let hosts = 1000
    let evmsPerHost = 10
    print("console: pool dashboard at \(hosts) hosts / \(hosts * evmsPerHost) EVMs, beside the API's JSON of the same lists")
    var logger = Logger(label: "bench")
    logger.logLevel = .critical
    let dir = try TemporaryDirectory(prefix: "emp-bench-console")
    var configuration = ControlPlaneConfiguration(dataDirectory: dir.file("cp"), operatorTokens: ["bench-operator-token"])
    configuration.port = 0
    configuration.rebalancer.enabled = false
    let (ready, signal) = AsyncStream<Int>.makeStream()
    let built = try ControlPlane.build(configuration: configuration, logger: logger, onServerRunning: { signal.yield($0) })
    let epoch = Date()
    try await built.store.write { tx in
        try tx.save(
            Pool(
                id: "fleet", shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)),
                policy: PoolPolicy(cpuOvercommit: 4, memoryOvercommit: 1.5, maxEVMs: 100_000), createdAt: epoch))
        for h in 0..<hosts {
            let id = String(format: "bm-%04d", h)
            try tx.save(
                Host(
                    id: id, poolID: "fleet", capacity: Resources(cpuMillis: 96_000, memoryBytes: .gibibytes(384)),
                    allocated: Resources(cpuMillis: Int64(evmsPerHost) * 4000, memoryBytes: .gibibytes(16 * Int64(evmsPerHost))),
                    used: Resources(cpuMillis: 4000, memoryBytes: .gibibytes(40)), lastHeartbeat: epoch))
            for e in 0..<evmsPerHost {
                var evm = EVM(
                    id: "\(id)-\(e)", poolID: "fleet", hostID: id, shape: EVMShape(vcpus: 4, memoryBytes: .gibibytes(16)), phase: .running,
                    nodeName: "\(id)-\(e)", createdAt: epoch)
                evm.used = Resources(cpuMillis: 400, memoryBytes: .gibibytes(4))
                try tx.save(evm)
            }
        }
        // A day of the pool's minutes, for the charts.
        for minute in 0..<1440 {
            try tx.save(
                PoolSample(
                    poolID: "fleet", at: epoch.addingTimeInterval(Double(minute - 1440) * 60), hostsHourly: 4608, evmsHourly: 7680,
                    savedTotal: Double(minute) * 51.2, limit: Resources(cpuMillis: 384_000_000, memoryBytes: .gibibytes(576_000)),
                    allocated: Resources(cpuMillis: 40_000_000, memoryBytes: .gibibytes(160_000)),
                    used: Resources(cpuMillis: 4_000_000, memoryBytes: .gibibytes(40_000)), runningEVMs: 10_000))
        }
    }
    // What the rebalancer does every pass: plan every pool; the dashboard shows that plan instead of planning again.
    let planner = RebalancerService(
        store: built.store, settings: configuration.rebalancer, kube: nil, plans: built.console.plans, logger: logger)
    let planned = try await measure(1) { _ = try await planner.tick() }
    report("rebalancer pass (plans every pool; the dashboard reuses it)", planned.seconds * 1000, "ms", decimals: 1)
    let sampler = CostSampler(store: built.store, settings: .init(), logger: logger)
    let pass = await measure(3) { await sampler.sampleOnce() }
    report("cost sampler: one pass (1,000 host samples + the pool's)", pass.seconds / 3 * 1000, "ms", decimals: 1)

    let server = ServingTask(built.service)
    var port = 0
    for await bound in ready {
        port = bound
        break
    }
    let url = "http://127.0.0.1:\(port)"
    // The login answers 303 with the cookie: it is read, not followed.
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    var login = HTTPClientRequest(url: url + "/login")
    login.method = .POST
    login.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    login.body = .bytes(ByteBuffer(string: "token=bench-operator-token"))
    let answer = try await http.execute(login, timeout: .seconds(30))
    let cookie = String(answer.headers.first(name: "set-cookie")?.split(separator: ";").first ?? "")
    func get(_ path: String, bearer: Bool) async throws -> Int {
        var request = HTTPClientRequest(url: url + path)
        if bearer {
            request.headers.add(name: "Authorization", value: "Bearer bench-operator-token")
        } else {
            request.headers.add(name: "Cookie", value: cookie)
        }
        let response = try await http.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 256 << 20)
        guard response.status == .ok else { throw BenchError("GET \(path): \(response.status)") }
        return body.readableBytes
    }
    var size = 0
    let dashboard = try await measure(10) { size = try await get("/pools/fleet", bearer: false) }
    report("pool dashboard (ours), per page", dashboard.seconds / 10 * 1000, "ms", decimals: 1)
    report("pool dashboard size", Double(size) / 1024, "KiB", decimals: 0)
    let pools = try await measure(10) { _ = try await get("/", bearer: false) }
    report("pools page (ours), per page", pools.seconds / 10 * 1000, "ms", decimals: 1)
    let hostPage = try await measure(10) { _ = try await get("/hosts/bm-0007", bearer: false) }
    report("host page (ours), per page", hostPage.seconds / 10 * 1000, "ms", decimals: 1)
    let json = try await measure(10) {
        size = try await get("/v1/hosts?pool=fleet", bearer: true)
        size += try await get("/v1/evms?pool=fleet&limit=200", bearer: true)
    }
    report("API JSON: first host page + 200 EVMs (baseline), per pair", json.seconds / 10 * 1000, "ms", decimals: 1)
    report("API JSON size", Double(size) / 1024, "KiB", decimals: 0)
    let plan = try await measure(3) { _ = try await get("/v1/plan?pool=fleet", bearer: true) }
    report("API: the rebalancer's dry run (GET /v1/plan), per call", plan.seconds / 3 * 1000, "ms", decimals: 1)
    try await http.shutdown()
    await server.stop()
}
