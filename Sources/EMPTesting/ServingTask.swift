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
