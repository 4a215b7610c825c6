import EMPTesting
import Foundation
import Testing

@testable import EMPControlPlane

/// A thousand idle clients (issue 14, finding 7). Run on their own by `make test` (`--filter SlowClientTests`):
/// two thousand descriptors opening and closing at once make Foundation's `Process.run` in other tests crash.
@Suite struct SlowClientTests {
    /// 1,000 idle connections (no request, or half a request head) do not keep a normal request from an answer,
    /// and the server closes them once the idle timeout passes.
    @Test func idleAndSlowClientsAreClosedAndOthersServed() async throws {
        let dir = try TemporaryDirectory()
        let running = try await ServerLimitsTests().start(dir.file("data"), idleTimeout: .seconds(1))
        defer { running.task.cancel() }
        var idle: [RawSocket] = []
        for index in 0..<1000 {
            let socket = try RawSocket(port: running.port, readTimeout: .seconds(10))
            if index % 2 == 0 { try socket.send("GET /healthz HTTP/1.1\r\nHost: x\r\n") }  // never finishes its head
            idle.append(socket)
        }
        // Once the server has taken them all in (the first answer waits behind them in the listen queue), a normal
        // request is answered within the client's 1 s limit while they are held.
        #expect(try await ServerLimitsTests().get(running.port, "/healthz", timeout: .seconds(60)).status == 200)
        #expect(try await ServerLimitsTests().get(running.port, "/healthz", timeout: .seconds(1)).status == 200)
        // Every idle one is closed by the server, none answered.
        var closed = 0
        for socket in idle where socket.isClosedByPeer { closed += 1 }
        #expect(closed == 1000)
    }
}
