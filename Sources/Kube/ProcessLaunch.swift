public import Foundation

/// Starts child processes, riding out Linux's `ETXTBSY`: a freshly written script can be held open for writing for
/// an instant by the child of a concurrent `fork` in this process (before that child's `exec` closes it), and
/// `exec` of a file open for writing fails with "Text file busy". Go's os/exec documents the same race.
public enum ProcessLaunch {
    /// Calls `make` for a new, configured `Process` and runs it; on "Text file busy" waits and tries a fresh one,
    /// up to `attempts` times (20 ms, 40 ms, … between them). Any other failure is thrown at once.
    public static func run(
        attempts: Int = 6, isolation: isolated (any Actor)? = #isolation, _ make: () throws -> Process
    ) async throws -> Process {
        var delay = Duration.milliseconds(20)
        for attempt in 1... {
            let process = try make()
            do {
                try process.run()
                return process
            } catch  where attempt < attempts && isTextBusy(error) {
                process.terminationHandler = nil
                try await Task.sleep(for: delay)
                delay *= 2
            }
        }
        fatalError("unreachable")
    }

    /// Whether `error` (as Foundation's `Process.run` reports it) is `ETXTBSY`.
    public static func isTextBusy(_ error: any Error) -> Bool {
        let error = error as NSError
        if error.domain == NSPOSIXErrorDomain { return error.code == Int(ETXTBSY) }
        guard let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError else { return false }
        return underlying.domain == NSPOSIXErrorDomain && underlying.code == Int(ETXTBSY)
    }
}
