import EMPTesting
import Foundation
import Testing

@testable import Kube

/// A script another descriptor holds open for writing cannot be executed ("Text file busy"); the launcher waits for
/// the writer to let go instead of failing the plugin or the provider's hook.
@Suite struct ProcessLaunchTests {
    func script(_ dir: TemporaryDirectory) throws -> (path: String, writer: FileHandle) {
        let path = dir.file("hook.sh")
        try "#!/bin/sh\nexit 7\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return (path, try #require(FileHandle(forWritingAtPath: path)))
    }

    func process(_ path: String) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        return process
    }

    @Test func aScriptHeldOpenForWritingIsTextBusy() async throws {
        let dir = try TemporaryDirectory()
        let (path, writer) = try script(dir)
        defer { try? writer.close() }
        do {
            try process(path).run()
            Issue.record("ran a script that is open for writing")
        } catch {
            #expect(ProcessLaunch.isTextBusy(error), "\(error)")
        }
        await #expect(throws: (any Error).self) { _ = try await ProcessLaunch.run(attempts: 2) { process(path) } }
    }

    @Test func theLaunchWaitsUntilTheWriterLetsGo() async throws {
        let dir = try TemporaryDirectory()
        let (path, writer) = try script(dir)
        var made = 0
        let launched = try await ProcessLaunch.run {
            made += 1
            if made == 3 { try writer.close() }
            return process(path)
        }
        launched.waitUntilExit()
        #expect(made == 3)
        #expect(launched.terminationStatus == 7)
    }

    @Test func otherFailuresAreNotRetried() async throws {
        var made = 0
        await #expect(throws: (any Error).self) {
            _ = try await ProcessLaunch.run {
                made += 1
                return process("/nonexistent/hook")
            }
        }
        #expect(made == 1)
    }
}
