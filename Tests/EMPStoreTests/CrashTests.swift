import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Testing

@Suite struct CrashTests {
    /// A writer is SIGKILLed in the middle of 20,000 transactions (more than it can finish while a busy test
    /// machine notices its 200th commit); reopening shows every committed write
    /// and nothing half-written (each EVM's allocation, revision and event are all there, or none is).
    @Test(arguments: StoreKind.selected) func killedWriterLosesNothingCommittedAndLeavesNothingHalfDone(_ kind: StoreKind) async throws {
        let harness = try StoreHarness(kind)
        let path = harness.postgresURL ?? harness.dir.file("data/emp.sqlite")
        try FileManager.default.createDirectory(atPath: harness.dir.file("data"), withIntermediateDirectories: true)
        let writer = try ChildProcess(try BuiltProducts.executable("emp-test-helper"), ["store-writer", path, "20000"])
        try await writer.waitFor { lines in lines.filter { $0.hasPrefix("committed") }.count >= 200 }
        writer.kill()
        let printed = writer.output.compactMap { line -> Int? in
            line.hasPrefix("committed ") ? Int(line.dropFirst("committed ".count)) : nil
        }
        let lastReported = try #require(printed.max())
        #expect(!writer.output.contains("done"), "the writer finished before it was killed")

        let store = try await harness.open()
        if let sqlite = store as? SQLiteStore { #expect(try sqlite.integrityCheck() == ["ok"]) }
        let (host, evms, revision, events) = try await store.read { tx in
            (
                try tx.host("h1"), try tx.evms(EVMFilter(poolID: "crash")), try tx.revision("host/h1"),
                try tx.events(EventFilter(limit: 50_000))
            )
        }
        // Every write the child reported as committed is there; at most the one in flight got further.
        #expect(evms.count >= lastReported + 1)
        #expect(evms.count <= lastReported + 2)
        #expect(evms.map(\.id) == (0..<evms.count).map { String(format: "evm-%05d", $0) })
        // Nothing half-written: allocation, revision and events agree with the EVMs present.
        let unit = EVMShape(vcpus: 2, memoryBytes: .gibibytes(4)).resources
        #expect(host?.allocated == unit * Int64(evms.count))
        #expect(revision == Int64(evms.count))
        #expect(events.count == evms.count)
    }
}
