import EMPTesting
import Foundation
import Libvirt
import Testing

/// A host of its own for each test: `test:///path` gives every open a private state.
func privateHost(_ dir: TemporaryDirectory) async throws -> Connection {
    try await Connection(uri: try TestDriverHost.write(to: dir.file("host.xml"), cores: 64, memoryGiB: 256))
}

func testSpec(_ name: String, memoryMiB: Int64 = 512, vcpus: Int = 1) -> DomainSpec {
    DomainSpec(name: name, type: .test, vcpus: vcpus, memoryBytes: memoryMiB << 20)
}

@Suite struct DomainLifecycleTests {
    @Test func hundredDomainsDefineStartDestroyUndefine() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        var domains: [Domain] = []
        for index in 0..<100 {
            let domain = try await host.defineDomain(xml: testSpec(String(format: "evm-%03d", index)).xml())
            domains.append(domain)
        }
        var listed = try await host.listDomains()
        #expect(listed.count == 100)
        #expect(listed.allSatisfy { $0.state == .shutoff })
        #expect(listed.first?.domain.name == "evm-000")

        for domain in domains { try await domain.start() }
        listed = try await host.listDomains()
        #expect(listed.allSatisfy { $0.state == .running })
        let info = try await domains[7].info()
        #expect(info.state == .running)
        #expect(info.memoryBytes == 512 << 20)
        #expect(info.vcpus == 1)

        let lookedUp = try await host.domain(uuid: domains[42].uuid)
        #expect(lookedUp.name == "evm-042")

        for domain in domains {
            try await domain.destroy()
            try await domain.undefine()
        }
        #expect(try await host.listDomains().isEmpty)
        #expect(try await host.domainIfExists(named: "evm-000") == nil)
    }

    @Test func shutdownStopsARunningDomain() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let domain = try await host.defineDomain(xml: testSpec("evm-a").xml())
        try await domain.start()
        #expect(try await domain.isActive())
        try await domain.shutdown()
        #expect(try await domain.state() == .shutoff)
        #expect(try await domain.isPersistent())
    }

    @Test func statsAreTypedAndAbsentFieldsAreNil() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let running = try await host.defineDomain(xml: testSpec("evm-run", vcpus: 2).xml())
        try await running.start()
        _ = try await host.defineDomain(xml: testSpec("evm-off").xml())

        let stats = try await host.allDomainStats()
        #expect(stats.map(\.name) == ["evm-off", "evm-run"])
        let run = try #require(stats.first { $0.name == "evm-run" })
        #expect(run.state == .running)
        #expect(run.uuid == running.uuid)
        #expect(!run.raw.isEmpty)
        // Every typed field mirrors the raw record: present exactly when libvirt sent it.
        #expect((run.balloonRSSBytes != nil) == (run.raw["balloon.rss"] != nil))
        #expect((run.cpuTimeNanoseconds != nil) == (run.raw["cpu.time"] != nil))
        if let current = run.raw["balloon.current"]?.int64 {
            #expect(run.balloonCurrentBytes == current * 1024)
        }
        let off = try #require(stats.first { $0.name == "evm-off" })
        #expect(off.state == .shutoff)
        #expect(off.balloonRSSBytes == nil || off.raw["balloon.rss"] != nil)
    }

    @Test func parsesARecordWithVCPUAndMissingFields() {
        let stats = DomainStats(
            name: "x",
            uuid: "u",
            fields: [
                "state.state": .int(1), "balloon.rss": .ullong(2048), "cpu.time": .ullong(5_000),
                "vcpu.current": .uint(2), "vcpu.maximum": .uint(2), "vcpu.0.time": .ullong(10),
                "vcpu.0.delay": .ullong(3), "vcpu.1.time": .ullong(20),
            ]
        )
        #expect(stats.state == .running)
        #expect(stats.balloonRSSBytes == 2 << 20)
        #expect(stats.balloonCurrentBytes == nil)
        #expect(stats.cpuTimeNanoseconds == 5_000)
        #expect(stats.vcpus.count == 2)
        #expect(stats.vcpus[0].delayNanoseconds == 3)
        #expect(stats.vcpus[1].delayNanoseconds == nil)
        #expect(stats.vcpus[1].timeNanoseconds == 20)
    }
}
