public import EMPModel
public import EMPStore
import Foundation
public import Logging
import Metrics
public import ServiceLifecycle

/// Marks hosts NotReady once their agent has sent no heartbeat for ``ControlPlaneConfiguration/heartbeatTimeout``:
/// no new placements land there and an event says why; their EVMs are left alone. A NotReady host silent for
/// ``ControlPlaneConfiguration/hostLostAfter`` more is lost: its EVMs are written off (``StoreWriting/markHostLost``)
/// so the autoscaler replaces them elsewhere.
public struct HostHealth: Service {
    let store: any StateStore
    let configuration: ControlPlaneConfiguration
    let clock: any EMPClock
    let logger: Logger

    public init(store: any StateStore, configuration: ControlPlaneConfiguration, clock: any EMPClock = SystemClock(), logger: Logger) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        // Graceful shutdown cancels the loop, including a sleep in progress.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let marked = try await check()
                    for host in marked { logger.warning("host NotReady: missed heartbeats", metadata: ["host": "\(host)"]) }
                    for (host, evms) in try await checkLost() {
                        logger.error("host lost: EVMs written off", metadata: ["host": "\(host)", "evms": "\(evms.count)"])
                    }
                } catch {
                    logger.error("host health check failed", metadata: ["error": "\(error)"])
                }
                try await clock.sleep(for: configuration.healthCheckInterval)
            }
        }
    }

    /// One pass: returns the hosts it marked NotReady. Finds silent hosts in the store's memory of heartbeats and
    /// writes only when there is one, so a pass over a quiet fleet of thousands of hosts reads and writes nothing.
    @discardableResult
    public func check() async throws -> [String] {
        let time = clock.date
        let seconds = configuration.heartbeatTimeout.timeInterval
        let silent = store.silentHosts(heartbeatAtOrBefore: time.addingTimeInterval(-seconds))
        guard !silent.isEmpty else { return [] }
        return try await store.write { tx in
            var marked: [String] = []
            for id in silent {
                // Checked again on the state the write sees: a report may have come in meanwhile.
                guard var host = try tx.host(id), host.state == .ready, let last = host.lastHeartbeat,
                    time.timeIntervalSince(last) >= seconds
                else { continue }
                host.state = .notReady
                try tx.save(host)
                try tx.append(
                    Event(
                        time: time, object: ObjectRef(.host, host.id), reason: "HostNotReady",
                        message:
                            "no heartbeat from the agent for \(Int(time.timeIntervalSince(last))) s (limit \(Int(seconds)) s); no new EVMs will be placed here",
                        type: .warning
                    )
                )
                marked.append(host.id)
            }
            return marked
        }
    }

    /// One pass over NotReady hosts: those silent for the heartbeat timeout plus ``ControlPlaneConfiguration/hostLostAfter``
    /// are marked lost. Returns each with the EVMs written off.
    @discardableResult
    public func checkLost() async throws -> [(String, [EVM])] {
        let time = clock.date
        let seconds = configuration.heartbeatTimeout.timeInterval + configuration.hostLostAfter.timeInterval
        let silent = store.silentHosts(heartbeatAtOrBefore: time.addingTimeInterval(-seconds), in: .notReady)
        guard !silent.isEmpty else { return [] }
        let lost = try await store.write { tx in
            var lost: [(String, [EVM])] = []
            for id in silent {
                guard let host = try tx.host(id), host.state == .notReady, let last = host.lastHeartbeat,
                    time.timeIntervalSince(last) >= seconds
                else { continue }
                lost.append((id, try tx.markHostLost(id, silentFor: Int(time.timeIntervalSince(last)), at: time)))
            }
            return lost
        }
        for (_, evms) in lost { Counter(label: "emp_evms_lost_total").increment(by: evms.count) }
        if !lost.isEmpty { Counter(label: "emp_hosts_lost_total").increment(by: lost.count) }
        return lost
    }
}
