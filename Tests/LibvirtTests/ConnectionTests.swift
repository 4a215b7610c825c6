import EMPTesting
import Foundation
import Libvirt
import Testing

@Suite struct ConnectionTests {
    @Test func defaultTestDriverReportsNodeFacts() async throws {
        let connection = try await Connection(uri: "test:///default")
        let info = try await connection.nodeInfo()
        #expect(info.cpus > 0)
        #expect(info.memoryBytes > 0)
        #expect(try await connection.driverType() == "TEST")
        #expect(!(try await connection.hostname()).isEmpty)
        #expect(try await connection.capabilities().contains("<capabilities>"))
        let version = try await connection.libraryVersion()
        #expect(version.split(separator: ".").count == 3)
    }

    @Test func customHostDescribesA64Core256GiBMachine() async throws {
        let dir = try TemporaryDirectory()
        let uri = try TestDriverHost.write(to: dir.file("host.xml"), cores: 64, memoryGiB: 256)
        let connection = try await Connection(uri: uri)
        let info = try await connection.nodeInfo()
        #expect(info.cpus == 64)
        #expect(try await connection.totalMemoryBytes() == 256 << 30)
        #expect(try await connection.listDomains().isEmpty)
        // The test driver's capabilities carry no host UUID; the real QEMU driver's do.
        #expect(try await connection.hostUUID() == nil)
        let qemuCaps = """
            <capabilities>
              <host>
                <uuid>00000000-0000-4000-8000-000000000002</uuid>
                <cpu><arch>x86_64</arch></cpu>
              </host>
              <guest><os_type>hvm</os_type></guest>
            </capabilities>
            """
        #expect(Connection.hostUUID(fromCapabilities: qemuCaps) == "00000000-0000-4000-8000-000000000002")
        #expect(try await connection.hypervisorVersion().split(separator: ".").count == 3)
    }

    @Test func openingABadURIThrowsLibvirtsError() async throws {
        await #expect(throws: LibvirtError.self) {
            _ = try await Connection(uri: "test:///nonexistent/path/host.xml")
        }
    }

    @Test func closedConnectionRefusesCalls() async throws {
        let connection = try await Connection(uri: "test:///default")
        await connection.close()
        #expect(!connection.isOpen)
        do {
            _ = try await connection.nodeInfo()
            Issue.record("call on a closed connection succeeded")
        } catch let error as LibvirtError {
            #expect(error.code == .noConnect)
            #expect(error.message.contains("closed"))
        }
        await connection.close()  // idempotent
    }
}
