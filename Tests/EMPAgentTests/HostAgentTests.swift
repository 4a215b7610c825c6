import AsyncHTTPClient
import EMPAgent
import EMPModel
import EMPTesting
import Foundation
import Kube
import Libvirt
import Logging
import Testing

/// An agent on a private libvirt test-driver host; its control plane is never contacted in these tests.
func makeAgent(_ dir: TemporaryDirectory, kube: KubeClient? = nil) async throws -> (HostAgent, Connection) {
    let uri = try TestDriverHost.write(to: dir.file("host.xml"), cores: 64, memoryGiB: 256)
    let connection = try await Connection(uri: uri)
    let configuration = AgentConfiguration(
        controlPlaneURL: "http://127.0.0.1:9", libvirtURI: uri, stateDirectory: dir.file("state"), domainType: .test
    )
    let agent = HostAgent(
        configuration: configuration,
        client: ControlPlaneClient(http: HTTPClient.shared, baseURL: configuration.controlPlaneURL),
        connection: connection,
        kube: kube,
        logger: Logger(label: "test")
    )
    return (agent, connection)
}

@Suite struct HostAgentTests {
    @Test func reconcileDefinesStartsAndRemovesOnlyItsOwnDomains() async throws {
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir)
        let foreign = try await connection.defineDomain(
            xml: DomainSpec(name: "customer-vm", type: .test, vcpus: 1, memoryBytes: 256 << 20).xml())
        try await foreign.start()

        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222"), evm("p-ccc333")], hostID: "h1")
        var listed = try await connection.listDomains()
        #expect(listed.map(\.domain.name) == ["customer-vm", "p-aaa111", "p-bbb222", "p-ccc333"])
        #expect(listed.allSatisfy { $0.state == .running })
        let metadata = try await connection.domain(named: "p-bbb222").empMetadata()
        #expect(metadata == EVMMetadata(poolID: "p", evmID: "p-bbb222"))

        // Applying the same desired state again changes nothing (no duplicates).
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222"), evm("p-ccc333")], hostID: "h1")
        #expect(try await connection.listDomains().count == 4)

        // One is deleted, one dropped from the set: both go; the foreign domain stays running.
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222", phase: .deleting)], hostID: "h1")
        listed = try await connection.listDomains()
        #expect(listed.map(\.domain.name) == ["customer-vm", "p-aaa111"])
        #expect(try await foreign.state() == .running)
    }

    @Test func eachDomainBootsWithItsSeedAndTheSeedGoesWithIt() async throws {
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir)
        let join = CloudInitSeedTests.join()
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222")], hostID: "h1", kubelet: join)
        let seed = dir.file("state/seeds/p-aaa111.iso")
        let xml = try await connection.domain(named: "p-aaa111").xml()
        #expect(xml.contains("<source file='\(seed)'/>") || xml.contains("<source file=\"\(seed)\"/>"))
        #expect(xml.contains("device='cdrom'") || xml.contains("device=\"cdrom\""))
        let files = try await CloudInitSeedTests.readISO(seed, into: dir).files
        #expect(files["user-data"]?.contains("--node-labels=emp.pf9.io/evm=p-aaa111,emp.pf9.io/host=h1,") == true)

        // A seed left by a crash between undefine and cleanup goes too; the wanted EVM's stays.
        try Data("stale".utf8).write(to: URL(fileURLWithPath: dir.file("state/seeds/p-zzz999.iso")))
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222", phase: .deleting)], hostID: "h1", kubelet: join)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("state/seeds")) == ["p-aaa111.iso"])
    }

    @Test func aStoppedDomainIsStartedAgain() async throws {
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir)
        try await agent.reconcile([evm("p-aaa111")], hostID: "h1")
        try await connection.domain(named: "p-aaa111").destroy()
        try await agent.reconcile([evm("p-aaa111")], hostID: "h1")
        #expect(try await connection.domain(named: "p-aaa111").state() == .running)
    }

    @Test func reportCoversOnlyEMPDomainsAndInventoryComesFromLibvirt() async throws {
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir)
        _ = try await connection.defineDomain(xml: DomainSpec(name: "customer-vm", type: .test, vcpus: 1, memoryBytes: 256 << 20).xml())
        try await agent.reconcile([evm("p-aaa111"), evm("p-bbb222")], hostID: "h1")
        let report = try await agent.makeReport()
        #expect(report.domains.map(\.evmID) == ["p-aaa111", "p-bbb222"])
        #expect(report.domains.allSatisfy { $0.running })
        let inventory = try await agent.inventory()
        #expect(inventory.cores == 64)
        #expect(inventory.memoryBytes == .gibibytes(256))
        #expect(inventory.libvirtVersion.split(separator: ".").count == 3)
    }

    @Test func credentialIsStoredWithMode0600AndReloaded() throws {
        let dir = try TemporaryDirectory()
        let credential = Credential(hostID: "bm-1", poolID: "p", secret: "emph_x")
        try credential.save(to: dir.file("state"))
        #expect(try Credential.load(from: dir.file("state")) == credential)
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.file("state/credential.json"))
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try Credential.load(from: dir.file("elsewhere")) == nil)
        try "garbage".write(toFile: dir.file("state/credential.json"), atomically: true, encoding: .utf8)
        #expect(throws: AgentError.self) { try Credential.load(from: dir.file("state")) }
    }
}
