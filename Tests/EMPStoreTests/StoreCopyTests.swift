import EMPModel
import EMPTesting
import Foundation
import Testing

@testable import EMPStore

/// `store copy` (SQLite → PostgreSQL) and `store backup` (SQLite's online backup).
@Suite struct StoreCopyTests {
    /// A SQLite store holding one or more of every kind of object.
    static func populated(_ dir: TemporaryDirectory) async throws -> SQLiteStore {
        let store = try SQLiteStore(directory: dir.file("data"))
        try await store.write { tx in
            try tx.save(Pool(id: "pool-a", shape: shape, policy: PoolPolicy(memoryOvercommit: 1.5), createdAt: epoch))
            for index in 0..<3 {
                var host = Host(id: "h\(index)", poolID: "pool-a", capacity: Resources(cpuMillis: 64_000, memoryBytes: .gibibytes(256)))
                host.lastHeartbeat = epoch + Double(index)
                try tx.save(host)
                try tx.save(AgentCredential(hostID: host.id, secretHash: "hash-\(index)", issuedAt: epoch))
            }
            for index in 0..<20 {
                var evm = EVM(
                    id: "evm-\(index)", poolID: "pool-a", hostID: "h\(index % 3)", shape: shape, phase: .running, nodeName: "n\(index)",
                    createdAt: epoch)
                if index % 5 == 0 { evm.previousHostID = "h\((index + 1) % 3)" }
                try tx.save(evm)
            }
            // Saved out of id order: the copy keeps the order they were recorded in.
            for id in ["m3", "m1", "m2"] {
                try tx.save(Migration(id: id, evmID: "evm-1", from: "h1", to: "h2", reason: .relieve, bytes: 1 << 30, createdAt: epoch))
            }
            try tx.save(JoinToken(id: "t1", poolID: "pool-a", secretHash: "abc", expiresAt: epoch + 3600, createdAt: epoch))
            try tx.save(
                HostLaunch(id: "l-1", poolID: "pool-a", provider: "ec2", joinTokenID: "t1", requestedAt: epoch, instanceType: "m5.metal"))
            for index in 0..<5 {
                try tx.append(Event(time: epoch + Double(index), object: ObjectRef(.host, "h0"), reason: "R\(index)", message: "m\(index)"))
                try tx.save(
                    PoolSample(
                        poolID: "pool-a", at: epoch + Double(index * 60), hostsHourly: 4.6, evmsHourly: 8.2, savedTotal: Double(index),
                        limit: .zero, allocated: .zero, used: .zero, runningEVMs: 20))
                try tx.save(HostSample(hostID: "h0", at: epoch + Double(index * 60), limit: .zero, allocated: .zero, used: .zero))
            }
            try tx.bumpRevision("host/h0")
            try tx.bumpRevision("host/h0")
        }
        return store
    }

    /// Everything a store can be asked, for comparing two.
    struct Contents: Equatable {
        var pools: [Pool]
        var hosts: [EMPModel.Host]
        var evms: [EVM]
        var migrations: [Migration]
        var tokens: [JoinToken]
        var launches: [HostLaunch]
        var credentials: [AgentCredential?]
        var events: [Event]
        var poolSamples: [PoolSample]
        var hostSamples: [HostSample]
        var revision: Int64
        var total: Date?

        static func of(_ store: any StateStore) async throws -> Contents {
            try await store.read { tx in
                Contents(
                    pools: try tx.pools(), hosts: try tx.hosts(), evms: try tx.evms(.all), migrations: try tx.migrations(.all),
                    tokens: try tx.joinTokens(pool: nil), launches: try tx.hostLaunches(pool: nil),
                    credentials: try (0..<3).map { try tx.credential(host: "h\($0)") }, events: try tx.events(EventFilter()),
                    poolSamples: try tx.poolSamples(pool: "pool-a", since: .distantPast),
                    hostSamples: try tx.hostSamples(host: "h0", since: .distantPast), revision: try tx.revision("host/h0"),
                    total: try tx.latestPoolSample(pool: "pool-a")?.first)
            }
        }
    }

    @Test func everyObjectArrivesAndASecondCopyIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let source = try await Self.populated(dir)
        let harness = try StoreHarness(.postgres)
        let target = try await harness.open() as! PostgresStore
        let reports = try await StoreCopy.copy(from: source, to: target)
        #expect(reports.first { $0.table == "evm" }?.rows == 20)
        #expect(reports.first { $0.table == "event" }?.rows == 5)
        let copied = try await Contents.of(try await harness.open())
        #expect(copied == (try await Contents.of(source)))
        #expect(copied.migrations.map(\.id) == ["m3", "m1", "m2"])
        #expect(copied.hosts.map(\.lastHeartbeat) == [epoch, epoch + 1, epoch + 2])
        // New events continue the copied numbering.
        let next = try await target.write {
            try $0.append(Event(time: epoch, object: ObjectRef(.pool, "pool-a"), reason: "X", message: "x"))
        }
        #expect(next.id == 6)
        do {
            _ = try await StoreCopy.copy(from: source, to: target)
            Issue.record("copied into a database that holds objects")
        } catch let error as StoreError {
            #expect(error.description.contains("not empty"), "\(error)")
        }
    }

    @Test func aBackupTakenWhileWritingIsConsistentAndRestores() async throws {
        let dir = try TemporaryDirectory()
        let store = try await Self.populated(dir)
        let writer = Task {
            for index in 0..<200 {
                try await store.write { try $0.save(Pool(id: "busy-\(index)", shape: shape, createdAt: epoch)) }
            }
        }
        let backup = dir.file("backup.sqlite")
        try store.backup(to: backup)
        try await writer.value
        let attributes = try FileManager.default.attributesOfItem(atPath: backup)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: StoreError.self) { try store.backup(to: backup) }
        // Restore as documented: the copy becomes emp.sqlite of a new data directory.
        let restored = dir.file("restored")
        try FileManager.default.createDirectory(atPath: restored, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: backup, toPath: restored + "/emp.sqlite")
        let reopened = try SQLiteStore(directory: restored)
        #expect(try reopened.integrityCheck() == ["ok"])
        let contents = try await Contents.of(reopened)
        #expect(contents.evms.count == 20 && contents.migrations.count == 3 && contents.revision == 2)
        let busy = try await reopened.read { try $0.pools().filter { $0.id.hasPrefix("busy-") }.count }
        #expect((0...200).contains(busy))
        // Whatever the backup caught of the busy writer, it caught in order: a prefix of its pools.
        let caught = try await reopened.read { tx in try (0..<busy).allSatisfy { try tx.pool("busy-\($0)") != nil } }
        #expect(caught)
    }
}
