import Foundation

/// Whether this machine can give EVMs hardware virtualization: `/dev/kvm` must open read-write and answer
/// `KVM_GET_API_VERSION` with 12. Where it cannot, the agent runs EVMs as domain type `qemu` (TCG) and says why.
///
/// - Note: A nested or paravirtualized KVM can pass this probe and still fail to run guests (the machine the
///   project's tests run on is one); there, operators set the domain type to `qemu` explicitly.
public enum KVMProbe {
    /// Nil when KVM looks usable; otherwise the reason.
    public static func unusableReason(device: String = "/dev/kvm") -> String? {
        let fd = open(device, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return "\(device): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        let version = ioctl(fd, 0xAE00)  // KVM_GET_API_VERSION
        guard version == 12 else { return "\(device): KVM_GET_API_VERSION answered \(version), expected 12" }
        return nil
    }
}
