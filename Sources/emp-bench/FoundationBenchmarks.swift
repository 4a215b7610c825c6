import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Libvirt

/// Libvirt: calls through our thread pool (what the agent does) against 16 concurrent callers, beside the
/// same calls made one after another. The test driver keeps the call itself cheap, so this isolates our overhead.
func libvirtBenchmark() async throws {
    print("libvirt test driver: virDomainGetInfo round trips")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-bench-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let xml = "<node><cpu><active>64</active></cpu><memory>268435456</memory></node>"
    try xml.write(toFile: "\(dir)/host.xml", atomically: true, encoding: .utf8)
    let connection = try await Connection(uri: "test://\(dir)/host.xml")
    let domain = try await connection.defineDomain(
        xml: DomainSpec(name: "bench", type: .test, vcpus: 1, memoryBytes: 128 << 20).xml()
    )
    try await domain.start()
    let calls = 20_000
    let sequential = try await measure(calls) { _ = try await domain.info() }
    report("sequential awaits (1 caller)", sequential.perSecond, "calls/s")
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<16 {
            group.addTask { for _ in 0..<(calls / 16) { _ = try await domain.info() } }
        }
        try await group.waitForAll()
    }
    report("16 concurrent callers sharing one connection", Double(calls) / seconds(ContinuousClock.now - start), "calls/s")
}

/// Store: placement-shaped write transactions (EVM row + host allocation + revision + event) on SQLite with
/// `synchronous=FULL` (our default: survives power loss) and `NORMAL` (survives process crashes only), and on
/// PostgreSQL (loopback, fsync on; `make bench` starts it): one caller, then 16 concurrent callers on one host row
/// (every transaction conflicts: SQLite queues them, PostgreSQL re-runs the losers), with the p99 latency.
func storeBenchmark() async throws {
    print("store: placement transactions (EVM + host allocation + revision + event)")
    var stores: [(String, any StateStore)] = []
    for full in [true, false] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-bench-\(UUID().uuidString)").path
        stores.append(
            (
                "SQLite synchronous=\(full ? "FULL (default)" : "NORMAL")",
                try SQLiteStore(directory: dir, configuration: .init(synchronousFull: full))
            ))
    }
    if ProcessInfo.processInfo.environment["EMP_TEST_POSTGRES_URL"] != nil {
        let postgres = try PostgresStore(configuration: try PostgresStore.Configuration.parse(url: try TestPostgres.freshDatabase()))
        stores.append(("PostgreSQL (loopback, fsync on)", postgres))
    } else {
        print("  (PostgreSQL left out: run under scripts/with-postgres.sh, as make bench does)")
    }
    let shape = EVMShape(vcpus: 2, memoryBytes: .gibibytes(4))
    let epoch = Date(timeIntervalSince1970: 0)
    for (name, store) in stores {
        try await store.write { tx in
            try tx.save(Host(id: "h", poolID: "p", capacity: Resources(cpuMillis: .max / 4, memoryBytes: .max / 4)))
        }
        let counter = Counter()
        @Sendable func place(_ index: Int) async throws {
            try await store.write { tx in
                guard var host = try tx.host("h") else { return }
                host.allocated += shape.resources
                try tx.save(host)
                try tx.save(EVM(id: "e\(index)", poolID: "p", hostID: "h", shape: shape, nodeName: "n\(index)", createdAt: epoch))
                try tx.bumpRevision("host/h")
                try tx.append(Event(time: epoch, object: ObjectRef(.evm, "e\(index)"), reason: "Placed", message: "h"))
            }
        }
        let result = try await measure(2_000) { try await place(counter.next()) }
        report("\(name), 1 caller", result.perSecond, "tx/s")
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for caller in 0..<16 {
                group.addTask {
                    var latencies: [Double] = []
                    for index in 0..<125 {
                        let began = ContinuousClock.now
                        try await place(100_000 + caller * 1000 + index)
                        latencies.append(seconds(ContinuousClock.now - began))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }.sorted()
        report("\(name), 16 callers", Double(latencies.count) / seconds(ContinuousClock.now - start), "tx/s")
        report("\(name), 16 callers, p99 latency", latencies[latencies.count * 99 / 100] * 1000, "ms", decimals: 2)
        if let postgres = store as? PostgresStore { await postgres.shutdown() }
    }
}

/// A sequence number for benchmark loops.
final class Counter: @unchecked Sendable {
    // @unchecked: used from one task at a time inside `measure`.
    private var value = 0
    func next() -> Int {
        value += 1
        return value
    }
}
