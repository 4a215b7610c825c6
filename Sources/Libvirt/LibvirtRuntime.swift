import CLibvirt
import Foundation
public import NIOPosix

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
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await threadPool.runIfActive(body)
    }
}
