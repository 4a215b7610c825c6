import Foundation
import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
import NIOCore
public import NIOSSL

/// What one client may hold of a server: shared by the control plane, the webhook and KubeSim so a slow or idle
/// client, or a thousand of them, cannot starve the others or exhaust file descriptors.
///
/// - `idleTimeout` bounds the time from accepting a connection (TLS handshake included) or finishing a response
///   until the next request's head has arrived in full: Hummingbird's connection state handler starts it then and
///   stops it at the head, so it is at once the handshake, header-read and keep-alive idle timeout. A request
///   being answered (a long poll) is not cut by it.
/// - `maxConnections` stops accepting (connections wait in the listen backlog) while that many are open; it is
///   kept below the process's descriptor limit.
public struct ServerLimits: Sendable {
    /// Handshake + header-read + idle timeout. Default 30 s.
    public var idleTimeout: Duration
    /// Most open connections. Default 4,096 (and at most the descriptor limit less 128).
    public var maxConnections: Int
    /// Connections the kernel may queue before they are accepted (`listen(2)`), above Hummingbird's 256 so a burst
    /// of agents reconnecting is not dropped. Default 1,024 (the kernel caps it at `net.core.somaxconn`).
    public var backlog: Int

    public init(idleTimeout: Duration = .seconds(30), maxConnections: Int = 4096, backlog: Int = 1024) {
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.backlog = backlog
    }

    /// `maxConnections`, lowered so that connections never take the last descriptors the process needs for its
    /// database, log and client connections.
    public var effectiveMaxConnections: Int {
        min(maxConnections, max(16, DescriptorLimit.current - 128))
    }

    /// An HTTP/1.1 server builder with these limits, wrapped in TLS when `tls` is given.
    public func serverBuilder(tls: TLSConfiguration? = nil) throws -> HTTPServerBuilder {
        let timeout = TimeAmount.nanoseconds(
            Int64(idleTimeout.components.seconds) * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000)
        let base = HTTPServerBuilder { responder in
            GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: timeout)))
        }
        guard var tls else { return base }
        // Closing a connection (idle at shutdown, or timed out) waits this long for the client's close_notify;
        // NIOSSL's default of 5 s alone used up a process's whole SIGTERM budget.
        tls.shutdownTimeout = .milliseconds(500)
        return try .tls(base, tlsConfiguration: tls)
    }

    /// The application configuration's connection limit.
    public var connectionsDelegate: any AvailableConnectionsDelegate {
        MaximumAvailableConnections(effectiveMaxConnections)
    }
}

/// The process's open-file limit, raised to the hard limit at start (as Go's runtime does): a server that runs
/// out of descriptors fails every request, not only the idle ones'.
public enum DescriptorLimit {
    /// The soft limit now.
    public static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur == rlim_t.max ? Int(Int32.max) : Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard limit; returns the new soft limit.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return current
    }
}
