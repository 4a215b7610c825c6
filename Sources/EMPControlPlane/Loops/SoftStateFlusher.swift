public import EMPModel
public import EMPStore
public import Logging
import Metrics
public import ServiceLifecycle

/// Writes the heartbeats and usage that reports keep in memory (``EMPStore/StateStore/recordSoftState(host:evms:persisted:)``)
/// every ``ControlPlaneConfiguration/softStateFlushInterval`` (EVMs' usage every tenth time), and once more on
/// graceful shutdown, so a clean stop loses none of them and a crash loses at most one interval of heartbeats.
public struct SoftStateFlusher: Service {
    let store: any StateStore
    let interval: Duration
    let batch: Int
    let clock: any EMPClock
    let logger: Logger

    public init(store: any StateStore, interval: Duration, batch: Int, clock: any EMPClock = SystemClock(), logger: Logger) {
        self.store = store
        self.interval = interval
        self.batch = batch
        self.clock = clock
        self.logger = logger
    }

    /// EVMs' usage is written every this many flushes (and on stopping): the next report rebuilds it anyway,
    /// and it is most of what a flush writes.
    static let evmsEvery = 10

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var passes = 0
            while !Task.isCancelled {
                try await clock.sleep(for: interval)
                passes += 1
                await flush(evms: passes % Self.evmsEvery == 0)
            }
        }
        // Stopping: what is in memory goes to disk before the process exits.
        await flush(evms: true)
    }

    /// One flush; failures are logged and retried at the next interval (the figures stay in memory).
    func flush(evms: Bool) async {
        do {
            let written = try await store.flushSoftState(batch: batch, evms: evms)
            Counter(label: "emp_soft_state_flushed_total").increment(by: written)
        } catch {
            logger.error("writing heartbeats and usage failed; kept in memory, retried", metadata: ["error": "\(error)"])
        }
    }
}
