import EMPAgent
import EMPModel
import EMPTesting
import Foundation
import Libvirt
import Testing

@Suite struct DiskOverlayTests {
    /// `qemu-img info` as the reference reader of what was made.
    func info(_ path: String) async throws -> [String: Any] {
        let json = try await ChildProcess.output("/usr/bin/qemu-img", ["info", "--output=json", "-U", path])
        return try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
    }

    @Test func anEVMBootedFromAnImageGetsAnOverlayThatGoesWithIt() async throws {
        let dir = try TemporaryDirectory()
        let (agent, connection) = try await makeAgent(dir)
        let images = dir.file("state/images")
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        _ = try await ChildProcess.output("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", "\(images)/debian.qcow2", "64M"])
        let evm = EVM(
            id: "disk-evm", poolID: "p", hostID: "h",
            shape: EVMShape(vcpus: 1, memoryBytes: 256 << 20, diskBytes: 1 << 30, image: "\(images)/debian.qcow2"),
            phase: .creating, nodeName: "disk-evm", createdAt: Date())
        try await agent.reconcile([evm], hostID: "h")
        let overlay = dir.file("state/disks/disk-evm.qcow2")
        let made = try await info(overlay)
        #expect(made["format"] as? String == "qcow2")
        #expect((made["backing-filename"] as? String) == "\(images)/debian.qcow2")
        #expect((made["virtual-size"] as? Int64 ?? (made["virtual-size"] as? Int).map(Int64.init)) == 1 << 30)
        #expect(try await connection.domain(named: "disk-evm").xml().contains(overlay))
        // Reconciling again keeps the same disk (the guest's writes live there).
        try await agent.reconcile([evm], hostID: "h")
        #expect(FileManager.default.fileExists(atPath: overlay))
        // Removed with its EVM.
        try await agent.reconcile([], hostID: "h")
        #expect(!FileManager.default.fileExists(atPath: overlay))
    }

    @Test func aMissingBaseImageIsNamed() async throws {
        let dir = try TemporaryDirectory()
        await #expect {
            try await DiskOverlay.ensure(base: dir.file("nope.qcow2"), overlay: dir.file("o.qcow2"), sizeBytes: 0)
        } throws: { "\($0)".contains(dir.file("nope.qcow2")) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.qcow2")))
    }
}
