import EMPAgent
import EMPTesting
import Foundation
import Testing

@Suite struct KVMProbeTests {
    @Test func aMissingOrWrongDeviceIsReportedWithTheReason() throws {
        let dir = try TemporaryDirectory()
        let missing = try #require(KVMProbe.unusableReason(device: dir.file("kvm")))
        #expect(missing.contains(dir.file("kvm")) && missing.contains("No such file"))
        // An ordinary file opens but is not KVM: the ioctl fails.
        try "".write(toFile: dir.file("fake"), atomically: true, encoding: .utf8)
        let wrong = try #require(KVMProbe.unusableReason(device: dir.file("fake")))
        #expect(wrong.contains("KVM_GET_API_VERSION"))
    }
}
