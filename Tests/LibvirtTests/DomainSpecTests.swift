import EMPTesting
import Foundation
import Libvirt
import Testing

@Suite struct DomainSpecTests {
    func fullSpec(type: DomainSpec.DomainType) -> DomainSpec {
        DomainSpec(
            name: "evm-7f3a",
            uuid: "5a1f0c1e-3b7d-4c6e-9a51-0d2e4f6a8b10",
            type: type,
            vcpus: 2,
            memoryBytes: 2 << 30,
            boot: .kernel(path: "/var/lib/emp/vmlinuz", initrd: "/var/lib/emp/initrd.gz", cmdline: "console=ttyS0 emp=<a&b>"),
            disks: [DomainSpec.Disk(path: "/var/lib/emp/evm-7f3a.qcow2", target: "vda")],
            cloudInitSeed: "/var/lib/emp/evm-7f3a-seed.iso",
            interfaces: [DomainSpec.Interface(source: .network("default"), macAddress: "52:54:00:12:34:56")],
            serialLogPath: "/var/log/emp/evm-7f3a.log",
            metadata: EVMMetadata(poolID: "pool-a", evmID: "evm-7f3a")
        )
    }

    @Test func xmlIsAcceptedByDefineAndRoundTrips() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let spec = fullSpec(type: .test)
        let domain = try await host.defineDomain(xml: spec.xml())
        #expect(domain.name == "evm-7f3a")
        #expect(domain.uuid == "5a1f0c1e-3b7d-4c6e-9a51-0d2e4f6a8b10")

        let xml = try await domain.xml()
        for needle in [
            "<kernel>/var/lib/emp/vmlinuz</kernel>", "<initrd>/var/lib/emp/initrd.gz</initrd>",
            "<cmdline>console=ttyS0 emp=&lt;a&amp;b&gt;</cmdline>", "/var/lib/emp/evm-7f3a.qcow2",
            "/var/lib/emp/evm-7f3a-seed.iso", "52:54:00:12:34:56", "/var/log/emp/evm-7f3a.log",
            "https://emp.pf9.io/xmlns/evm/1",
        ] {
            #expect(xml.contains(needle), "domain XML lacks \(needle)")
        }
        #expect(try await domain.empMetadata() == EVMMetadata(poolID: "pool-a", evmID: "evm-7f3a"))
        #expect(EVMMetadata(elementXML: xml) == EVMMetadata(poolID: "pool-a", evmID: "evm-7f3a"))

        // What libvirt returns is itself a definition libvirt accepts: redefining changes nothing.
        let again = try await host.defineDomain(xml: xml)
        #expect(try await again.xml() == xml)
        #expect(try await host.listDomains().count == 1)
        let migratable = try await domain.xml(.migratable)
        #expect(migratable.contains("evm-7f3a"))
    }

    @Test func domainsWithoutEMPMetadataReportNil() async throws {
        let dir = try TemporaryDirectory()
        let host = try await privateHost(dir)
        let domain = try await host.defineDomain(xml: testSpec("foreign").xml())
        #expect(try await domain.empMetadata() == nil)
    }

    @Test func qemuAndKVMTypesRender() {
        #expect(fullSpec(type: .qemu).xml().hasPrefix("<domain type=\"qemu\">"))
        let kvm = fullSpec(type: .kvm).xml()
        #expect(kvm.hasPrefix("<domain type=\"kvm\">"))
        #expect(kvm.contains("<memory unit=\"KiB\">2097152</memory>"))
        #expect(kvm.contains("<source path=\"/var/log/emp/evm-7f3a.log\" append=\"on\"/>"))
    }

    @Test func metadataParserIgnoresForeignNamespaces() {
        let xml = """
            <metadata><other:evm xmlns:other="urn:x"><other:pool>p</other:pool><other:id>i</other:id></other:evm></metadata>
            """
        #expect(EVMMetadata(elementXML: xml) == nil)
        #expect(EVMMetadata(elementXML: "not xml <") == nil)
    }
}
