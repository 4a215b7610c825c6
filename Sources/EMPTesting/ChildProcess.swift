import Foundation

/// A child process whose stdout is read line by line, for tests that kill and restart components.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is only mutated in init; `lines` is guarded by `lock`.
    private let process: Process
    private let lock = NSLock()
    private var lines: [String] = []
    private var partial = ""
    private let stdout = Pipe()

    /// Starts `executable` with `arguments`; stderr goes to the test's stderr.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = stdout
        stdout.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.partial += String(decoding: data, as: UTF8.self)
            while let newline = self.partial.firstIndex(of: "\n") {
                self.lines.append(String(self.partial[..<newline]))
                self.partial = String(self.partial[self.partial.index(after: newline)...])
            }
            self.lock.unlock()
        }
        try process.run()
    }

    /// Lines printed so far.
    public var output: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Waits (polling every 10 ms, at most `timeout`) until `predicate` holds for the output so far.
    public func waitFor(timeout: Duration = .seconds(60), _ predicate: ([String]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !predicate(output) {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError("timed out waiting for child output; last lines: \(output.suffix(5))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends `signal` (SIGKILL by default) and waits for the process to exit.
    public func kill(_ signal: Int32 = SIGKILL) {
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        process.waitUntilExit()
        stdout.fileHandleForReading.readabilityHandler = nil
    }

    /// Waits for exit and returns the status.
    public func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}
