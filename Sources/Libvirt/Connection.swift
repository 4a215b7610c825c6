import CLibvirt
import NIOConcurrencyHelpers
import NIOPosix

/// A connection to one hypervisor (one "host"): the entry point to domains, node facts, stats and events.
///
/// ```swift
/// let host = try await Connection(uri: "test:///default")
/// let domain = try await host.defineDomain(xml: spec.xml())
/// try await domain.start()
/// ```
///
/// - Note: All methods are safe to call from many tasks at once. Every libvirt call runs on
///   ``LibvirtRuntime/threadPool``; each takes its own reference to the underlying `virConnectPtr`, so
///   ``close()`` never pulls the connection from under a call in flight. The connection is closed when the
///   last reference (this object, or a ``Domain`` it returned) is released.
public final class Connection: Sendable {
    /// The URI it was opened with.
    public let uri: String
    private let state: NIOLockedValueBox<Handle?>
    let runtime: LibvirtRuntime

    /// Opens `uri` (`qemu:///system`, `test:///default`, `test:///abs/path/host.xml`, `qemu+unix:///system?socket=…`).
    public init(uri: String, runtime: LibvirtRuntime = .shared) async throws {
        self.uri = uri
        self.runtime = runtime
        let handle = try await runtime.run {
            Handle(raw: try libvirtCall("virConnectOpen") { virConnectOpen(uri) })
        }
        state = NIOLockedValueBox(handle)
    }

    deinit {
        if let handle = state.withLockedValue({ $0 }) {
            runtime.threadPool.submit { _ in _ = virConnectClose(handle.raw) }
        }
    }

    /// Drops this object's reference to the hypervisor connection; later calls throw. Idempotent.
    public func close() async {
        guard
            let handle = state.withLockedValue({ value -> Handle? in
                defer { value = nil }
                return value
            })
        else {
            return
        }
        _ = try? await runtime.run { _ = virConnectClose(handle.raw) }
    }

    /// True until ``close()``.
    public var isOpen: Bool { state.withLockedValue { $0 != nil } }

    /// Runs `body` on the libvirt thread pool with a referenced `virConnectPtr`.
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer) throws -> T
    ) async throws -> T {
        let uri = self.uri
        let handle = try state.withLockedValue { value -> Handle in
            guard let value else {
                throw LibvirtError(
                    code: .noConnect,
                    domain: 0,
                    message: "connection to \(uri) is closed",
                    function: "Connection"
                )
            }
            _ = virConnectRef(value.raw)
            return value
        }
        return try await runtime.run {
            defer { _ = virConnectClose(handle.raw) }
            return try body(handle.raw)
        }
    }
}
