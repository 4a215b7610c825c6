import EMPModel
import EMPStore
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

/// Store: placement-shaped write transactions (EVM row + host allocation + revision + event) with
/// `synchronous=FULL` (our default: survives power loss) beside `NORMAL` (survives process crashes only).
func storeBenchmark() async throws {
    print("SQLite store: placement transactions (EVM + host allocation + revision + event)")
    for full in [true, false] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emp-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir, configuration: SQLiteStore.Configuration(synchronousFull: full))
        let shape = EVMShape(vcpus: 2, memoryBytes: .gibibytes(4))
        let epoch = Date(timeIntervalSince1970: 0)
        try await store.write { tx in
            try tx.save(Host(id: "h", poolID: "p", capacity: Resources(cpuMillis: .max / 4, memoryBytes: .max / 4)))
        }
        let counter = Counter()
        let result = try await measure(2_000) {
            let index = counter.next()
            try await store.write { tx in
                guard var host = try tx.host("h") else { return }
                host.allocated += shape.resources
                try tx.save(host)
                try tx.save(EVM(id: "e\(index)", poolID: "p", hostID: "h", shape: shape, nodeName: "n\(index)", createdAt: epoch))
                try tx.bumpRevision("host/h")
                try tx.append(Event(time: epoch, object: ObjectRef(.evm, "e\(index)"), reason: "Placed", message: "h"))
            }
        }
        report("synchronous=\(full ? "FULL (default)" : "NORMAL")", result.perSecond, "tx/s")
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
