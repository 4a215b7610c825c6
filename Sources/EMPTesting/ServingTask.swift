public import Logging
public import ServiceLifecycle

/// Runs a server (a Hummingbird `Application`, or any service) in a test the way the binaries do, under a
/// `ServiceGroup`, and stops it with a graceful shutdown. Cancelling a serving task instead drops connections it has
/// accepted but not yet served, and NIO traps on those in debug builds ("Deinited NIOAsyncWriter without calling
/// finish()", apple/swift-nio#3481): a client connecting at the wrong moment crashed the whole test process.
public final class ServingTask: Sendable {
    let group: ServiceGroup
    let task: Task<Void, any Error>

    public init(_ service: some Service, logger: Logger = Logger(label: "test")) {
        let group = ServiceGroup(configuration: .init(services: [service], gracefulShutdownSignals: [], logger: logger))
        self.group = group
        task = Task { try await group.run() }
    }

    /// Shuts the service down gracefully and waits until it has stopped.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

extension ServingTask {
    /// Starts the server `make` builds — it is handed the callback to report the port it bound (Hummingbird's
    /// `onServerRunning`) — and waits until it listens. For test doubles on `127.0.0.1:0`.
    public static func start<S: Service>(_ make: (_ bound: @escaping @Sendable (Int) -> Void) -> S) async -> (task: ServingTask, port: Int)
    {
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let task = ServingTask(make { signal.yield($0) })
        var port = 0
        for await bound in ready {
            port = bound
            break
        }
        return (task, port)
    }
}
