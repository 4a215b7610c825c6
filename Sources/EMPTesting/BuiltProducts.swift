import Foundation

/// Finds executables built by `swift build` next to the running test bundle (for multi-process tests).
public enum BuiltProducts {
    /// The directory holding the test bundle and the package's executables.
    public static var directory: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        // On Linux the runner is `<dir>/<Package>PackageTests.xctest`; it may be given as a path inside it.
        while url.path != "/"
            && !FileManager.default.fileExists(atPath: url.deletingLastPathComponent().appendingPathComponent("empctl").path)
        {
            url.deleteLastPathComponent()
        }
        return url.deletingLastPathComponent().path
    }

    /// Absolute path of the executable product `name`; throws when it has not been built.
    public static func executable(_ name: String) throws -> String {
        let path = "\(directory)/\(name)"
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSupportError("executable \(name) not found at \(path); run `swift build` first")
        }
        return path
    }
}

/// A failure of the test support itself (missing binary, child that would not start).
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
