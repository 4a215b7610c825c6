import Testing

@testable import EMPAgent

/// The agent never reports a CPU time lower than the last one under the same instance name (issue 14, finding 4):
/// a new libvirt id, a counter going back (an id reused after libvirtd restarted) or a stopped domain start a new one.
@Suite struct DomainInstancesTests {
    @Test func fallingCountersGetANewInstance() {
        var instances = DomainInstances()
        let first = instances.instance(uuid: "u", id: 1, cpuTime: 100)
        #expect(instances.instance(uuid: "u", id: 1, cpuTime: 200) == first)
        let reused = instances.instance(uuid: "u", id: 1, cpuTime: 5)
        #expect(reused != first)
        #expect(instances.instance(uuid: "u", id: 1, cpuTime: 6) == reused)
        let restarted = instances.instance(uuid: "u", id: 2, cpuTime: 1)
        #expect(restarted != reused && restarted != first)
        #expect(instances.instance(uuid: "u", id: nil, cpuTime: nil) == nil)
        #expect(instances.instance(uuid: "u", id: 2, cpuTime: 0) != restarted)
        // Another agent process names the same run differently, so no rate is computed across a restart.
        var other = DomainInstances()
        #expect(other.instance(uuid: "u", id: 1, cpuTime: 100) != first)
    }
}
