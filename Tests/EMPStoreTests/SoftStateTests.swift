import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Testing

/// Heartbeats and usage kept in memory: what reads see, what a flush writes, what a restart keeps.
@Suite struct SoftStateTests {
    static func seed(_ store: SQLiteStore) async throws {
        try await store.write { tx in
            try tx.save(
                Host(id: "h1", poolID: "p", capacity: Resources(cpuMillis: 8000, memoryBytes: .gibibytes(32)), lastHeartbeat: epoch))
            try tx.save(EVM(id: "e1", poolID: "p", hostID: "h1", shape: shape, phase: .running, nodeName: "e1", createdAt: epoch))
        }
    }

    static func reported(_ store: SQLiteStore, at time: Date, memory: Int64) async throws -> (EMPModel.Host, EVM) {
        var (host, evm) = try await store.read { (try $0.host("h1")!, try $0.evm("e1")!) }
        host.lastHeartbeat = time
        host.used = Resources(cpuMillis: 500, memoryBytes: memory)
        evm.used = Resources(cpuMillis: 500, memoryBytes: memory)
        evm.cpuSample = CPUSample(cpuTimeNanoseconds: 1_000_000_000, at: time, instance: "1")
        return (host, evm)
    }

    @Test func readsSeeMemoryAndOnlyAFlushWritesIt() async throws {
        let dir = try TemporaryDirectory()
        let store = try openStore(dir)
        try await Self.seed(store)
        let (host, evm) = try await Self.reported(store, at: epoch + 10, memory: 3 << 30)
        store.recordSoftState(host: host, evms: [evm], persisted: false)

        // Every read sees the report; the file does not have it yet (a second store on the file reads the old one).
        let (read, readEVM) = try await store.read { (try $0.host("h1")!, try $0.evms(EVMFilter(hostID: "h1"))[0]) }
        #expect(read.lastHeartbeat == epoch + 10 && read.used.memoryBytes == 3 << 30)
        #expect(readEVM.used?.memoryBytes == 3 << 30 && readEVM.cpuSample?.at == epoch + 10)
        #expect(try await SQLiteStore(path: store.path).read { try $0.host("h1")!.lastHeartbeat } == epoch)
        #expect(store.unflushedSoftState == (1, 1))

        // Hosts first (the frequent flush), EVMs' usage when asked (every tenth flush and on stopping).
        #expect(try await store.flushSoftState(batch: 1, evms: false) == 1)
        #expect(store.unflushedSoftState == (0, 1))
        let other = try SQLiteStore(path: store.path)
        let stored = try await other.read { try $0.host("h1")! }
        #expect(stored.lastHeartbeat == epoch + 10 && stored.used.memoryBytes == 3 << 30)
        #expect(try await other.read { try $0.evm("e1")!.used } == nil)
        #expect(try await store.flushSoftState(batch: 1, evms: true) == 1)
        #expect(store.unflushedSoftState == (0, 0))
        #expect(try await SQLiteStore(path: store.path).read { try $0.evm("e1")!.used?.memoryBytes } == 3 << 30)
        #expect(try await store.flushSoftState(batch: 1, evms: true) == 0, "nothing left to write")
    }

    /// A save of the host read before a newer report (a flush racing it, an operator's cordon) does not move its
    /// heartbeat or usage back; a write that changes allocation keeps both.
    @Test func anOlderSaveDoesNotMoveTheHeartbeatBack() async throws {
        let dir = try TemporaryDirectory()
        let store = try openStore(dir)
        try await Self.seed(store)
        let stale = try await store.read { try $0.host("h1")! }
        let (host, evm) = try await Self.reported(store, at: epoch + 20, memory: 5 << 30)
        store.recordSoftState(host: host, evms: [evm], persisted: false)
        try await store.write { tx in
            var cordoned = stale
            cordoned.cordoned = true
            try tx.save(cordoned)
        }
        let read = try await store.read { try $0.host("h1")! }
        #expect(read.cordoned)
        #expect(read.lastHeartbeat == epoch + 20 && read.used.memoryBytes == 5 << 30)
        #expect(store.unflushedSoftState.hosts == 1, "the newer figures are still to be written")
    }

    /// After a restart a ready host's silence counts from the restart, not from its last flushed heartbeat; reads
    /// still show the heartbeat as stored.
    @Test func silenceCountsFromTheRestart() async throws {
        let dir = try TemporaryDirectory()
        try await Self.seed(try openStore(dir))
        let clock = ManualClock(epoch: epoch + 300)
        let reopened = try SQLiteStore(directory: dir.file("data"), configuration: .init(clock: clock))
        #expect(reopened.silentHosts(heartbeatAtOrBefore: epoch + 299).isEmpty)
        #expect(reopened.silentHosts(heartbeatAtOrBefore: epoch + 300) == ["h1"])
        #expect(try await reopened.read { try $0.host("h1")!.lastHeartbeat } == epoch)
    }
}
