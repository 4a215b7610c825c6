public import EMPModel
import Foundation
import Kube

/// The operator's own provisioning (MAAS, Ironic, Tinkerbell, a script) behind two or three executables: each is
/// run with one JSON document on stdin and answers one on stdout (docs/operations.md, "Host providers").
///
/// - launch: `{"action": "launch", "launchID", "pool", "placement", "joinToken", "userData"}` →
///   `{"machineID": "…"}`. Must be idempotent on `launchID` (a control plane that died mid-launch repeats it).
///   Exit 75 (EX_TEMPFAIL) means "no machine now, ask again later"; any other non-zero exit fails the launch.
/// - terminate: `{"action": "terminate", "machineID", "launchID", "pool"}`; exit 0 once the machine is released.
/// - status (optional): `{"action": "status", "machineIDs": […]}` → `{"machines": {"id": "state", …}}`, a state of
///   `gone` (or an absent id) meaning released.
public struct CommandMachines: MachineProvider {
    /// `hostProviders.<pool>` with `type: command`, checked.
    public struct Settings: Sendable, Equatable {
        public var launch: String
        public var terminate: String
        public var status: String?
        public var timeout: Duration = .seconds(300)
        public var instanceType: String?
        public var placements: [String] = []

        public init(launch: String, terminate: String) {
            self.launch = launch
            self.terminate = terminate
        }
    }

    public let settings: Settings
    let poolID: String

    public init(settings: Settings, poolID: String) {
        self.settings = settings
        self.poolID = poolID
    }

    public var kind: String { "command" }
    public var placements: [String] { settings.placements }
    public var instanceType: String? { settings.instanceType }
    public var lifecycle: HostLifecycle { .onDemand }

    struct LaunchAnswer: Decodable {
        var machineID: String?
        var machineIDs: [String]?
        var state: String?
        var zone: String?
    }

    struct StatusAnswer: Decodable {
        var machines: [String: String]
    }

    public func launch(_ order: MachineOrder) async throws(MachineFailure) -> Machine {
        let input: [String: String?] = [
            "action": "launch", "launchID": order.launchID, "pool": order.poolID, "placement": order.placement,
            "joinToken": order.joinToken, "userData": order.userData,
        ]
        let output = try await run(settings.launch, input: input.compactMapValues { $0 }, what: "launch")
        guard let answer = try? JSONDecoder().decode(LaunchAnswer.self, from: output),
            let id = answer.machineID ?? answer.machineIDs?.first, !id.isEmpty
        else {
            throw .refused(
                "launch command \(settings.launch) answered \(Self.excerpt(output)), not {\"machineID\": \"…\"}")
        }
        return Machine(
            id: id, state: answer.state ?? "launched", instanceType: settings.instanceType, zone: answer.zone, placement: order.placement)
    }

    /// The launch command is idempotent on the launch id, so a repeated launch finds what the first made.
    public func find(launchID: String) async throws(MachineFailure) -> Machine? { nil }

    public func describe(_ ids: [String]) async throws(MachineFailure) -> [String: Machine] {
        guard let status = settings.status else {
            // Without a status command a machine exists until terminate says it was released.
            return Dictionary(ids.map { ($0, Machine(id: $0, state: "unknown")) }, uniquingKeysWith: { a, _ in a })
        }
        let output = try await run(status, input: ["action": "status", "machineIDs": ids], what: "status")
        guard let answer = try? JSONDecoder().decode(StatusAnswer.self, from: output) else {
            throw .refused("status command \(status) answered \(Self.excerpt(output)), not {\"machines\": {…}}")
        }
        var machines: [String: Machine] = [:]
        for (id, state) in answer.machines where ids.contains(id) && state != "gone" {
            machines[id] = Machine(id: id, state: state, instanceType: settings.instanceType)
        }
        return machines
    }

    public func terminate(_ id: String, launchID: String) async throws(MachineFailure) {
        _ = try await run(
            settings.terminate, input: ["action": "terminate", "machineID": id, "launchID": launchID, "pool": poolID], what: "terminate")
    }

    func run(_ executable: String, input: [String: any Sendable], what: String) async throws(MachineFailure) -> Data {
        let document: Data
        do {
            document = try JSONSerialization.data(withJSONObject: input, options: [.sortedKeys])
        } catch {
            throw .refused("\(what): cannot encode the request: \(error)")
        }
        let result: CommandRunner.Result
        do {
            result = try await CommandRunner.run(executable, stdin: document, timeout: settings.timeout)
        } catch {
            throw .retryLater("\(what) command \(executable): \(error)")
        }
        switch result.status {
        case .exited(0):
            return result.stdout
        case .exited(75):
            throw .capacity("\(what) command \(executable) exited 75 (try later): \(Self.excerpt(result.stderr))")
        case .exited(let code):
            throw .refused("\(what) command \(executable) exited \(code): \(Self.excerpt(result.stderr))")
        case .timedOut:
            throw .retryLater("\(what) command \(executable) did not finish within \(settings.timeout); killed")
        case .signalled(let signal):
            throw .retryLater("\(what) command \(executable) was killed by signal \(signal)")
        }
    }

    /// At most 500 characters of a command's output, for an event.
    static func excerpt(_ data: Data) -> String {
        let text = String(decoding: data.prefix(500), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? "(nothing)" : "\"\(text)\""
    }
}

/// Runs an executable with bytes on stdin and collects stdout and stderr without blocking a thread of the
/// cooperative pool; kills it (SIGKILL: a child may inherit SIGTERM blocked) after `timeout`.
enum CommandRunner {
    enum Status: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
    }

    struct Result {
        var status: Status
        var stdout: Data
        var stderr: Data
    }

    static func run(_ executable: String, stdin input: Data, timeout: Duration) async throws -> Result {
        let (stdinPipe, stdoutPipe, stderrPipe) = (Pipe(), Pipe(), Pipe())
        let exited = AsyncStream<Void>.makeStream()
        let process = try await ProcessLaunch.run {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.standardInput = stdinPipe
            process.standardOutput = stdoutPipe
            process.standardError = stderrPipe
            process.terminationHandler = { _ in
                exited.continuation.yield()
                exited.continuation.finish()
            }
            return process
        }
        // Readers and the writer on their own threads: a child that fills a pipe must not wait on us.
        let out = Task { await Self.readAll(stdoutPipe.fileHandleForReading) }
        let err = Task { await Self.readAll(stderrPipe.fileHandleForReading) }
        Thread.detachNewThread {
            try? stdinPipe.fileHandleForWriting.write(contentsOf: input)
            try? stdinPipe.fileHandleForWriting.close()
        }
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in exited.stream {}
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !finished {
            kill(process.processIdentifier, SIGKILL)
            for await _ in exited.stream {}
        }
        guard finished else {
            // A grandchild (a script's `sleep`) may still hold the pipes open: do not wait for it.
            return Result(status: .timedOut, stdout: Data(), stderr: Data())
        }
        let (stdout, stderr) = (await out.value, await err.value)
        let status: Status =
            process.terminationReason == .uncaughtSignal ? .signalled(process.terminationStatus) : .exited(process.terminationStatus)
        return Result(status: status, stdout: stdout, stderr: stderr)
    }

    static func readAll(_ handle: FileHandle) async -> Data {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let data = (try? handle.readToEnd()) ?? Data()
                continuation.resume(returning: data)
            }
        }
    }
}
