import CLibvirt
import Foundation
import NIOConcurrencyHelpers
public import NIOPosix

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Process-wide libvirt setup done exactly once: `virInitialize`, silenced default error printing,
/// the default event loop on one dedicated thread, and the thread pool every blocking call runs on.
///
/// - Note: libvirt requires `virEventRegisterDefaultImpl` before the first connection is opened, so
///   ``Connection`` touches ``LibvirtRuntime/shared`` before calling `virConnectOpen`.
public final class LibvirtRuntime: Sendable {
    /// The one runtime of this process.
    public static let shared = LibvirtRuntime()

    /// Threads that run blocking libvirt calls: never an event loop, never the cooperative pool.
    public let threadPool: NIOThreadPool

    /// Number of threads in ``threadPool``; `EMP_LIBVIRT_THREADS` overrides the default of 8.
    public static let defaultThreadCount = 8

    private init() {
        // FoundationXML installs a process-wide libxml2 entity loader the first time an XMLParser is made, and
        // that loader calls into Foundation before Foundation's side is wired up. libvirt parses XML with the
        // same libxml2 on its own threads (the test driver reads its host file), so a first XMLParser made
        // while a libvirt call parses could jump through a null pointer. Making one here, before libvirt runs
        // at all, finishes that setup first.
        _ = XMLParser(data: Data())
        guard virInitialize() == 0 else {
            fatalError("virInitialize failed: \(lastError(function: "virInitialize"))")
        }
        // The default handler prints every error to stderr; errors reach callers as LibvirtError instead.
        virSetErrorFunc(nil) { _, _ in }
        if virEventRegisterDefaultImpl() != 0 {
            fatalError("virEventRegisterDefaultImpl failed: \(lastError(function: "virEventRegisterDefaultImpl"))")
        }
        let thread = Thread {
            // One thread drives libvirt's event loop (timers, event callbacks, keepalives) forever.
            while true {
                if virEventRunDefaultImpl() < 0 { virResetLastError() }
            }
        }
        thread.name = "libvirt-events"
        thread.start()

        let count = ProcessInfo.processInfo.environment["EMP_LIBVIRT_THREADS"].flatMap(Int.init) ?? Self.defaultThreadCount
        threadPool = NIOThreadPool(numberOfThreads: max(1, count))
        threadPool.start()
    }

    /// Runs `body` on the libvirt thread pool. The body must make the call and read the error with no suspension between.
    ///
    /// The result comes back through a lock as well as the continuation: when the pool thread resumes the
    /// continuation before the task has suspended on it, Swift's runtime hands the value over with atomics
    /// ThreadSanitizer cannot see, and `make test-tsan` then reports the objects made on the pool thread (a
    /// ``Domain``'s fields) as raced. The lock is uncontended and costs nothing next to a libvirt call.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let handoff = NIOLockedValueBox<Result<T, any Error>?>(nil)
        try await threadPool.runIfActive {
            let result = Result(catching: body)
            handoff.withLockedValue { $0 = result }
        }
        guard let result = handoff.withLockedValue({ $0 }) else {
            preconditionFailure("the libvirt thread pool returned without running the call")
        }
        return try result.get()
    }
}
