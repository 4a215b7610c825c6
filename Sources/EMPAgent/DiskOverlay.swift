import Foundation

/// The root disk of an EVM booted from its pool's image: a qcow2 overlay on the host's copy of the base image, so
/// EVMs share the base and write only their own changes. Made with `qemu-img`, written under a temporary name
/// and renamed into place, so a crash never leaves a half-made disk under the EVM's name.
public enum DiskOverlay {
    /// Creates `overlay` backed by `base` (grown to `sizeBytes` when that is set) unless it already exists.
    public static func ensure(base: String, overlay: String, sizeBytes: Int64, qemuImg: String = "/usr/bin/qemu-img") async throws {
        let files = FileManager.default
        if files.fileExists(atPath: overlay) { return }
        guard files.fileExists(atPath: base) else { throw AgentError("the pool's base image \(base) is not on this host") }
        guard files.isExecutableFile(atPath: qemuImg) else {
            throw AgentError("\(qemuImg) is needed to make EVM disks (Debian: qemu-utils)")
        }
        try files.createDirectory(atPath: (overlay as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let partial = overlay + ".partial"
        try? files.removeItem(atPath: partial)
        var arguments = ["create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, partial]
        if sizeBytes > 0 { arguments.append(String(sizeBytes)) }
        try await SeedImage.run(qemuImg, arguments)
        guard rename(partial, overlay) == 0 else { throw AgentError("cannot move \(partial) to \(overlay)") }
    }

    /// The base image of `image` (a pool's shape): an absolute path as it is, a name under `directory`.
    public static func basePath(_ image: String, directory: String) -> String {
        image.hasPrefix("/") ? image : "\(directory)/\(image)"
    }
}
