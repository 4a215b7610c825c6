import EMPTesting
import Libvirt
import Testing

@Suite struct ConcurrencyTests {
    /// 16 tasks share one connection; each drives its own domains through their whole life.
    @Test func sixteenTasksShareOneConnection() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for task in 0..<16 {
                group.addTask {
                    var done = 0
                    for round in 0..<5 {
                        let domain = try await host.defineDomain(xml: testSpec("t\(task)-r\(round)").xml())
                        try await domain.start()
                        _ = try await domain.info()
                        _ = try await host.allDomainStats()
                        _ = try await host.listDomains()
                        try await domain.destroy()
                        try await domain.undefine()
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(counts == 80)
        #expect(try await host.listDomains().isEmpty)
    }
}
