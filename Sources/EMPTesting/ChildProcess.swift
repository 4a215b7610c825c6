public import Foundation
import Glibc

/// A child process whose stdout and stderr are collected line by line, for tests that run the built
/// executables as a user would, and kill and restart them.
///
/// Started with `posix_spawn` directly, not Foundation's `Process`: on Linux `Process.run` lists `/proc/self/fd`
/// with a 256-byte copy of each directory entry that can read past glibc's buffer and crash the test process now
/// and then (swift-corelibs-foundation PR #5472, not in this toolchain); a test run with many sockets open hit it.
/// The child gets standard input from /dev/null and our pipes as output; every descriptor of this process is
/// closed in it.
public final class ChildProcess: @unchecked Sendable {
    // @unchecked: `pid` is set in init only; `exit` is guarded by `lock`; `LineCollector`s lock their own state.
    public let pid: Int32
    private let stdout: LineCollector
    private let stderr: LineCollector
    private let lock = NSLock()
    private var exit: Int32?

    /// Starts `executable` with `arguments` (and extra environment variables).
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        let out = try Self.pipe()
        let err = try Self.pipe()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, out.write, 1)
        posix_spawn_file_actions_adddup2(&actions, err.write, 2)
        guard Self.closeFrom(&actions, 3) == 0 else { throw TestSupportError("posix_spawn_file_actions_addclosefrom_np failed") }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as Foundation's Process does: a signal to the test's group does not reach it.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let variables = ProcessInfo.processInfo.environment.merging(environment ?? [:]) { $1 }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        close(out.write)
        close(err.write)
        guard spawned == 0 else {
            close(out.read)
            close(err.read)
            throw TestSupportError("could not start \(executable): \(String(cString: strerror(spawned)))")
        }
        self.pid = pid
        stdout = LineCollector(out.read)
        stderr = LineCollector(err.read)
    }

    /// A pipe whose ends are marked close-on-exec (only `dup2` hands one on to the child).
    private static func pipe() throws -> (read: Int32, write: Int32) {
        var ends: [Int32] = [0, 0]
        guard Glibc.pipe(&ends) == 0 else { throw TestSupportError("pipe: \(String(cString: strerror(errno)))") }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+), looked up at run time: Swift's Glibc module does
    /// not import GNU extensions.
    private static let closeFrom: @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32 = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            fatalError("glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// The exit status when it has exited (`block`: wait for it); a signal's number when a signal ended it.
    private func reap(block: Bool) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exit { return exit }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, block ? 0 : WNOHANG) } while result < 0 && errno == EINTR
        guard result == pid else { return nil }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import as functions.
        let signal = status & 0x7f
        exit = signal != 0 ? signal : (status >> 8) & 0xff
        return exit
    }

    /// Lines printed on stdout so far.
    public var output: [String] { stdout.lines }
    /// Lines printed on stderr so far.
    public var errorOutput: [String] { stderr.lines }

    public var isRunning: Bool { reap(block: false) == nil }

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
        if isRunning { Foundation.kill(pid, signal) }
        let status = wait()
        return (status, ContinuousClock.now - sent)
    }

    /// Waits for exit and for both streams to be read to their end; returns the exit status.
    public func wait() -> Int32 {
        let status = reap(block: true) ?? -1
        stdout.drain()
        stderr.drain()
        return status
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
        if isRunning {
            Foundation.kill(pid, SIGKILL)
            _ = reap(block: true)
        }
    }
}

/// Reads a pipe's read end on its own thread and splits what arrives into lines.
private final class LineCollector: @unchecked Sendable {
    // @unchecked: `lines`/`partial` are guarded by `lock`; the reader runs on its own thread until EOF.
    private let lock = NSLock()
    private var collected: [String] = []
    private var partial = ""
    private let done = DispatchSemaphore(value: 0)

    init(_ descriptor: Int32) {
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                append(String(decoding: buffer[..<count], as: UTF8.self))
            }
            close(descriptor)
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

    /// Waits (up to 5 s: a daemonised grandchild may hold the pipe) until everything was read (after the exit).
    func drain() {
        if done.wait(timeout: .now() + 5) == .success { done.signal() }
    }
}
