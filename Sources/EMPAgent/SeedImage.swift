public import Foundation

/// Writes a NoCloud seed as an ISO 9660 image with volume label `cidata` (what cloud-init looks for), using
/// Debian's `xorriso` (in genisoimage mode) or `genisoimage`. The image is built beside its final path and
/// renamed into place, so a crash never leaves a half-written seed attached to a domain.
public struct SeedImage: Sendable {
    /// The ISO tool found, and how it is called.
    public struct Tool: Sendable, Hashable {
        public var path: String
        /// Leading arguments that select genisoimage-compatible options.
        public var prefix: [String]
    }

    public let tool: Tool

    public init(tool: Tool) { self.tool = tool }

    /// The first of xorriso, genisoimage, mkisofs on `PATH` (or the given executable).
    public static func locate(explicit: String? = nil, path: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> SeedImage {
        if let explicit {
            guard FileManager.default.isExecutableFile(atPath: explicit) else {
                throw AgentError("seed ISO tool \(explicit) is not an executable file (isoTool)")
            }
            let isXorriso = URL(fileURLWithPath: explicit).lastPathComponent.hasPrefix("xorriso")
            return SeedImage(tool: Tool(path: explicit, prefix: isXorriso ? ["-as", "genisoimage"] : []))
        }
        let directories = (path ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        for (name, prefix) in [("xorriso", ["-as", "genisoimage"]), ("genisoimage", []), ("mkisofs", [])] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: "\(directory)/\(name)") {
                return SeedImage(tool: Tool(path: "\(directory)/\(name)", prefix: prefix))
            }
        }
        throw AgentError("no ISO tool for cloud-init seeds: install xorriso (apt-get install xorriso) or genisoimage")
    }

    /// Writes `files` (name → content) to an ISO at `output`, replacing any previous one.
    public func write(_ files: [String: String], to output: String) async throws {
        let fileManager = FileManager.default
        let outputURL = URL(fileURLWithPath: output)
        try fileManager.createDirectory(at: outputURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        let staging = "\(output).d"
        let partial = "\(output).partial"
        try? fileManager.removeItem(atPath: staging)
        defer { try? fileManager.removeItem(atPath: staging) }
        try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for (name, content) in files {
            try Data(content.utf8).write(to: URL(fileURLWithPath: "\(staging)/\(name)"))
        }
        let arguments =
            tool.prefix + ["-quiet", "-output", partial, "-volid", "cidata", "-joliet", "-rock"]
            + files.keys.sorted().map { "\(staging)/\($0)" }
        try await Self.run(tool.path, arguments)
        // The seed holds a bootstrap token: readable by root and libvirt's QEMU user only through the domain.
        try fileManager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: partial)
        // rename(2) replaces the old seed atomically: there is never a moment without one.
        guard rename(partial, output) == 0 else { throw AgentError("cannot move \(partial) to \(output)") }
    }

    /// Runs a tool to completion without blocking a thread; its stderr is the error on failure.
    static func run(_ executable: String, _ arguments: [String]) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        guard status == 0 else {
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw AgentError("\(URL(fileURLWithPath: executable).lastPathComponent) exited with \(status): \(message)")
        }
    }
}
