import Foundation

/// Real libvirtd + QEMU hosts for tests, through `scripts/virt-harness.sh`: each host is a daemon in its own
/// mount, UTS and network namespace on a private bridge. Needs root on Debian; ``unavailableReason`` says why not.
public final class VirtHarness: Sendable {
    /// One daemon: its libvirt URI (a unix socket, usable from this process) and its private address.
    public struct Host: Sendable {
        public let uri: String
        public let address: String
        /// The host's directory (console logs of the raw-XML domains go to `dir/console`).
        public let directory: String
    }

    public let directory: TemporaryDirectory
    public let hosts: [Host]
    /// Debian's kernel and the busybox initramfs whose init prints `EMP-GUEST-READY` then `EMP-TICK n`.
    public let kernel: String
    public let initrd: String

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/virt-harness.sh").path
    }

    /// Guest assets are kept across runs (downloading the kernel package takes a few seconds).
    static let assets = "/var/tmp/emp-virt-assets"

    /// Nil when this machine can run real VMs; otherwise the reason (printed when the tests are skipped).
    public static let unavailableReason: String? = {
        guard let child = try? ChildProcess("/bin/bash", [script, "check"]) else { return "cannot run \(script)" }
        guard child.wait() == 0 else { return child.errorOutput.joined(separator: " ") }
        return nil
    }()

    private init(directory: TemporaryDirectory, hosts: [Host]) {
        self.directory = directory
        self.hosts = hosts
        kernel = "\(Self.assets)/vmlinuz"
        initrd = "\(Self.assets)/initramfs.cpio.gz"
    }

    /// Installs what is missing, prepares the guest assets and starts `count` daemons.
    public static func start(hosts count: Int) async throws -> VirtHarness {
        _ = try await ChildProcess.output("/bin/bash", [script, "install"], timeout: .seconds(600))
        _ = try await ChildProcess.output("/bin/bash", [script, "assets", assets], timeout: .seconds(300))
        let directory = try TemporaryDirectory(prefix: "emp-vm")
        let lines = try await ChildProcess.output("/bin/bash", [script, "up", directory.path, "\(count)"], timeout: .seconds(120))
        let hosts = lines.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.filter { $0.count == 3 }.map {
            Host(uri: $0[1], address: $0[2], directory: "\(directory.path)/h\($0[0])")
        }
        guard hosts.count == count else { throw TestSupportError("virt-harness up printed \(lines)") }
        return VirtHarness(directory: directory, hosts: hosts)
    }

    /// Destroys every domain and stops every daemon, leaving no process, namespace or mount behind.
    public func stop() async throws {
        _ = try await ChildProcess.output("/bin/bash", [Self.script, "down", directory.path], timeout: .seconds(120))
    }
}
