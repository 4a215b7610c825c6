public import Foundation

/// A child process whose stdout and stderr are collected line by line, for tests that run the built
/// executables as a user would, and kill and restart them.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` and the pipes are set in init only; `LineCollector`s lock their own state.
    private let process: Process
    private let stdout = LineCollector()
    private let stderr = LineCollector()

    /// Starts `executable` with `arguments` (and extra environment variables).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.standardOutput = stdout.pipe
        process.standardError = stderr.pipe
        try process.run()
    }

    /// Lines printed on stdout so far.
    public var output: [String] { stdout.lines }
    /// Lines printed on stderr so far.
    public var errorOutput: [String] { stderr.lines }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// Waits (polling every 10 ms, at most `timeout`) until `predicate` holds for the stdout lines so far.
    public func waitFor(timeout: Duration = .seconds(60), _ predicate: ([String]) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !predicate(output) {
            guard ContinuousClock.now < deadline else {
                throw TestSupportError(
                    "timed out waiting for child output; last lines: \(output.suffix(5)) stderr: \(errorOutput.suffix(5))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends `signal` (SIGKILL by default) and waits for the process to exit.
    public func kill(_ signal: Int32 = SIGKILL) {
        _ = stop(signal)
    }

    /// Sends `signal` (default SIGTERM) and waits for the exit: its status and how long the process took to stop.
    public func stop(_ signal: Int32 = SIGTERM) -> (status: Int32, took: Duration) {
        let sent = ContinuousClock.now
        if process.isRunning { Foundation.kill(process.processIdentifier, signal) }
        let status = wait()
        return (status, ContinuousClock.now - sent)
    }

    /// Waits for exit and for both streams to be read to their end; returns the exit status.
    public func wait() -> Int32 {
        process.waitUntilExit()
        stdout.drain()
        stderr.drain()
        return process.terminationStatus
    }

    /// Runs `executable` to completion without blocking a thread (the child may be talking to a server in this
    /// process, which needs the cooperative pool); returns the exit status and both outputs.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)
    ) async throws -> (status: Int32, output: [String], errors: [String]) {
        let child = try ChildProcess(executable, arguments, environment: environment)
        let deadline = ContinuousClock.now + timeout
        while child.isRunning {
            guard ContinuousClock.now < deadline else {
                child.kill()
                throw TestSupportError("\(executable) did not finish within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let status = child.wait()
        return (status, child.output, child.errorOutput)
    }

    /// Runs `executable` to completion and returns its stdout; throws with its stderr when it exits non-zero.
    public static func output(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60)) async throws -> String {
        let (status, output, errors) = try await run(executable, arguments, timeout: timeout)
        guard status == 0 else {
            throw TestSupportError("\(executable) \(arguments) exited with \(status): \(errors.joined(separator: "\n"))")
        }
        return output.joined(separator: "\n")
    }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}

/// Reads a pipe on a background queue and splits it into lines.
private final class LineCollector: @unchecked Sendable {
    // @unchecked: `lines`/`partial` are guarded by `lock`; the reader runs on its own thread until EOF.
    let pipe = Pipe()
    private let lock = NSLock()
    private var collected: [String] = []
    private var partial = ""
    private let done = DispatchSemaphore(value: 0)

    init() {
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(String(decoding: data, as: UTF8.self))
            }
            lock.lock()
            if !partial.isEmpty { collected.append(partial) }
            partial = ""
            lock.unlock()
            done.signal()
        }
    }

    private func append(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        partial += text
        while let newline = partial.firstIndex(of: "\n") {
            collected.append(String(partial[..<newline]))
            partial = String(partial[partial.index(after: newline)...])
        }
    }

    var lines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return collected
    }

    /// Blocks until the writer side closed and everything was read (call after the process exited).
    func drain() {
        try? pipe.fileHandleForWriting.close()
        if done.wait(timeout: .now() + 5) == .success { done.signal() }
    }
}
