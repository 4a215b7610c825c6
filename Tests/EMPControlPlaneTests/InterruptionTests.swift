import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import Hummingbird
import Logging
import Synchronization
import Testing

@testable import EMPControlPlane

/// EC2's instance-metadata spot notice on loopback: per host, none (404), a document, or garbage.
final class MetadataServer: Sendable {
    /// Notice bodies by host.
    final class Notices: Sendable {
        let byHost = Mutex<[String: String]>([:])
    }
    let notices = Notices()
    let task: ServingTask
    let port: Int

    init() async throws {
        let notices = self.notices
        let router = Router()
        router.get("{host}") { _, context -> Response in
            let host = try context.parameters.require("host")
            guard let body = notices.byHost.withLock({ $0[host] }) else { return Response(status: .notFound) }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { signal.yield($0.localAddress?.port ?? 0) }, logger: Logger(label: "metadata"))
        task = ServingTask(app)
        var bound = 0
        for await port in ready {
            bound = port
            break
        }
        port = bound
    }

    var base: String { "http://127.0.0.1:\(port)" }

    func announce(_ host: String, at time: Date) {
        notices.byHost.withLock { $0[host] = #"{"action": "terminate", "time": "\#(time.formatted(.iso8601))"}"# }
    }
}

@Suite(.serialized) struct InterruptionTests {
    @Test func theNoticeDocumentIsReadAndBadOnesAreNamed() async throws {
        let server = try await MetadataServer()
        defer { Task { await server.task.stop() } }
        #expect(try await InterruptionNotice.fetch("\(server.base)/h") == nil)
        let when = Date(timeIntervalSince1970: 1_900_000_000)
        server.announce("h", at: when)
        #expect(try await InterruptionNotice.fetch("\(server.base)/h") == when)
        server.notices.byHost.withLock { $0["h"] = "<html>maintenance</html>" }
        await #expect {
            try await InterruptionNotice.fetch("\(server.base)/h")
        } throws: { error in
            "\(error)".contains("\(server.base)/h") && "\(error)".contains("not an instance-action document")
        }
    }

    /// A 60 s notice on the EVM's host: the agent reports it, the rebalancer evacuates, and the EVM is on the other
    /// host well before the deadline.
    @Test func aSpotNoticeEvacuatesTheHostBeforeItsDeadline() async throws {
        let server = try await MetadataServer()
        defer { Task { await server.task.stop() } }
        let cluster = try MigrationCluster()
        defer { cluster.stop() }
        try await cluster.start(interruptionBase: server.base)
        _ = try await cluster.call("POST", "/v1/pools/pool-a/evms", #"{"count": 1}"#)
        let evmID = try #require(try await cluster.built.store.read { try $0.evms(.all).first?.id })
        #expect(try await eventually { try await cluster.evm(evmID)?.phase == .running })
        let home = try #require(try await cluster.evm(evmID)?.hostID)
        for transport in cluster.transports.values { transport.mode.withLock { $0 = .move } }
        let deadline = Date().addingTimeInterval(60)
        server.announce(home, at: deadline)
        #expect(try await eventually { try await cluster.built.store.read { try $0.host(home)?.deadline } != nil })
        let events = try await cluster.built.store.read { try $0.events(EventFilter(object: ObjectRef(.host, home))) }
        #expect(events.contains { $0.reason == "InterruptionNotice" })
        let rebalancer = RebalancerService(
            store: cluster.built.store, settings: RebalancerService.Settings(), kube: nil, logger: Logger(label: "test"))
        let started = try await rebalancer.tick()
        #expect(started.map(\.reason) == [.evacuate])
        #expect(try await eventually { try await cluster.evm(evmID)?.hostID != home })
        #expect(Date() < deadline)
        #expect(try await cluster.domains(home).isEmpty)
        // The host stays out of placement while the notice stands.
        let later = try await cluster.call("POST", "/v1/evms/\(evmID)/migrate", #"{"to": "\#(home)"}"#)
        #expect(later.status == 409)
    }
}
