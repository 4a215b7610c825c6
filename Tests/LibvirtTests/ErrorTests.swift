import EMPTesting
import Foundation
import Libvirt
import Testing

@Suite struct ErrorTests {
    private func libvirtError(_ body: () async throws -> Void) async -> LibvirtError? {
        do {
            try await body()
            return nil
        } catch let error as LibvirtError {
            return error
        } catch {
            Issue.record("not a LibvirtError: \(error)")
            return nil
        }
    }

    @Test func missingDomainCarriesCodeAndMessage() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let error = await libvirtError { _ = try await host.domain(named: "no-such-evm") }
        #expect(error?.code == .noDomain)
        #expect(error?.message == "Domain not found")
        #expect(error?.function == "virDomainLookupByName")
    }

    @Test func invalidXMLIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let malformed = await libvirtError { _ = try await host.defineDomain(xml: "<domain type='test'><name>x") }
        #expect(malformed?.code == .xmlDetail)
        #expect(malformed?.message.contains("Premature end of data") == true)
        #expect(malformed?.message.isEmpty == false)
        let unnamed = testSpec("x").xml().replacingOccurrences(of: "<name>x</name>", with: "")
        let noName = await libvirtError { _ = try await host.defineDomain(xml: unnamed) }
        #expect(noName?.message.contains("name") == true)
        #expect(try await host.listDomains().isEmpty)
    }

    @Test func duplicateNameWithAnotherUUIDIsRefused() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        var spec = testSpec("evm-dup")
        spec.uuid = "11111111-2222-4333-8444-555555555555"
        _ = try await host.defineDomain(xml: spec.xml())
        spec.uuid = "66666666-2222-4333-8444-555555555555"
        let error = await libvirtError { _ = try await host.defineDomain(xml: spec.xml()) }
        #expect(error?.code == .operationFailed || error?.code == .domainExists)
        #expect(error?.message.contains("evm-dup") == true)
        #expect(try await host.listDomains().count == 1)
    }

    @Test func migrationOnTheTestDriverFailsWithLibvirtsError() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let domain = try await host.defineDomain(xml: testSpec("evm-mig").xml())
        try await domain.start()
        let parameters = MigrationParameters(destinationXML: try await domain.xml(.migratable), bandwidthMiBPerSecond: 100)
        let error = await libvirtError { try await domain.migrate(to: "test:///default", parameters: parameters) }
        #expect(error?.code == .argumentUnsupported)
        #expect(error?.function == "virDomainMigrateToURI3")
        #expect(error?.message == "argument unsupported: p2p migration is not supported by the source host")
        let direct = await libvirtError { try await domain.migrate(to: "test:///default", flags: [.live]) }
        #expect(direct?.function == "virDomainMigrateToURI3")
        #expect(direct?.message.isEmpty == false)
        let jobError = await libvirtError { _ = try await domain.jobStats() }
        #expect(jobError?.code == .noSupport)
        let abortError = await libvirtError { try await domain.abortJob() }
        #expect(abortError != nil)
        // The domain is untouched where it was.
        #expect(try await domain.state() == .running)
    }

    @Test func destroyingAStoppedDomainFails() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let domain = try await host.defineDomain(xml: testSpec("evm-off").xml())
        let error = await libvirtError { try await domain.destroy() }
        #expect(error?.code == .operationInvalid)
    }
}
