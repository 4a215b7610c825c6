import EMPTesting
import Libvirt
import Testing

@Suite struct EventTests {
    @Test func lifecycleEventsArriveAsAnAsyncSequence() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let events = try await host.domainEvents()
        let domain = try await host.defineDomain(xml: testSpec("evm-ev").xml())
        try await domain.start()
        try await domain.destroy()
        try await domain.undefine()

        var kinds: [DomainEvent.Kind] = []
        for await event in events where event.domainName == "evm-ev" {
            #expect(event.domainUUID == domain.uuid)
            kinds.append(event.kind)
            if event.kind == .undefined { break }
        }
        #expect(kinds == [.defined, .started, .stopped, .undefined])
    }
}
