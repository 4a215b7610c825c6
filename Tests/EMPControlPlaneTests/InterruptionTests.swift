import EMPAgent
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import HTTPTypes
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
        (task, port) = await ServingTask.start { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { bound($0.localAddress?.port ?? 0) }, logger: Logger(label: "metadata"))
        }
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

    /// An instance that requires IMDSv2 answers the notice only with a session token: the agent fetches one first.
    @Test func theNoticeIsReadWithAnIMDSv2SessionToken() async throws {
        let router = Router()
        router.put("latest/api/token") { request, _ -> Response in
            guard request.headers[HTTPField.Name("X-aws-ec2-metadata-token-ttl-seconds")!] != nil else {
                return Response(status: .badRequest)
            }
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "session-1")))
        }
        router.get("latest/meta-data/spot/instance-action") { request, _ -> Response in
            guard request.headers[HTTPField.Name("X-aws-ec2-metadata-token")!] == "session-1" else {
                return Response(status: .unauthorized)
            }
            return Response(
                status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"action": "terminate", "time": "2030-01-01T00:00:00Z"}"#))
            )
        }
        let (task, port) = await ServingTask.start { bound in
            Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { bound($0.localAddress?.port ?? 0) }, logger: Logger(label: "imdsv2"))
        }
        defer { Task { await task.stop() } }
        let deadline = try await InterruptionNotice.fetch("http://127.0.0.1:\(port)/latest/meta-data/spot/instance-action")
        #expect(deadline == Date(timeIntervalSince1970: 1_893_456_000))
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
