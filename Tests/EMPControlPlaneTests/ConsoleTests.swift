import EMPControlPlane
import EMPModel
import EMPStore
import EMPTesting
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Prometheus
import Testing

/// The console as an operator uses it: pages from stored state, figures a person looks for, and the access rules
/// (sessions, viewers, CSRF, escaping).
@Suite struct ConsoleTests {
    let dir: TemporaryDirectory
    let store: SQLiteStore
    let clock = ManualClock(epoch: APIFixture.epoch)
    let console: ConsoleState
    static let viewer = "viewer-token-0123456789"

    init() throws {
        dir = try TemporaryDirectory()
        store = try SQLiteStore(directory: dir.file("data"), configuration: .init(clock: clock))
        console = ConsoleState(sessionLifetime: 3600, clock: clock)
    }

    func application() -> Application<RouterResponder<BasicRequestContext>> {
        var configuration = ControlPlaneConfiguration()
        configuration.viewerTokens = [Self.viewer]
        let clock = clock
        return Application(
            router: ControlPlane.makeRouter(
                store: store, tokens: [APIFixture.token], registry: PrometheusCollectorRegistry(), configuration: configuration,
                now: { clock.date }, console: console))
    }

    /// Pool `trading` (16 vCPU / 64 GiB EVMs, overcommit ×2) on two 96-core / 384 GiB hosts with ten EVMs, each
    /// using 1 CPU and 8 GiB of its 16 / 64. One EVM's Node name is markup.
    func seed() async throws {
        try await store.write { tx in
            try tx.save(
                Pool(
                    id: "trading", shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    policy: PoolPolicy(cpuOvercommit: 2, memoryOvercommit: 2), createdAt: APIFixture.epoch))
            for h in 0..<2 {
                try tx.save(
                    Host(
                        id: "metal-\(h)", poolID: "trading", capacity: Resources(cpuMillis: 96_000, memoryBytes: .gibibytes(384)),
                        allocated: Resources(cpuMillis: 80_000, memoryBytes: .gibibytes(320)),
                        used: Resources(cpuMillis: 5_000, memoryBytes: .gibibytes(40)), lastHeartbeat: APIFixture.epoch))
            }
            for e in 0..<10 {
                var evm = EVM(
                    id: "trading-\(e)", poolID: "trading", hostID: "metal-\(e % 2)",
                    shape: EVMShape(vcpus: 16, memoryBytes: .gibibytes(64)),
                    phase: .running, nodeName: e == 3 ? "<script>alert('node')</script>" : "trading-\(e)", createdAt: APIFixture.epoch)
                evm.used = Resources(cpuMillis: 1000, memoryBytes: .gibibytes(8))
                evm.contention = Contention(stealMillis: 120, memory: GuestMemory(swapInBytes: 0, swapOutBytes: .gibibytes(1)))
                evm.provisioning = ProvisioningSteps(
                    nodeRegisteredAt: APIFixture.epoch + 1, seedWrittenAt: APIFixture.epoch + 2, definedAt: APIFixture.epoch + 3,
                    bootedAt: APIFixture.epoch + 4)
                evm.nodeReadyAt = APIFixture.epoch + 42
                try tx.save(evm)
                try tx.append(
                    Event(
                        time: APIFixture.epoch, object: ObjectRef(.evm, evm.id), reason: "Placed", message: "placed on host \(evm.hostID!)")
                )
            }
            try tx.append(Event(time: APIFixture.epoch, object: ObjectRef(.host, "metal-0"), reason: "HostReady", message: "<b>bold</b>"))
            var moving = Migration(
                id: "mig-1", evmID: "trading-0", from: "metal-0", to: "metal-1", reason: .relieve, bytes: .gibibytes(8), state: .running,
                createdAt: APIFixture.epoch)
            moving.progress = MigrationProgress(dataTotalBytes: .gibibytes(8), dataProcessedBytes: .gibibytes(2))
            try tx.save(moving)
        }
    }

    // MARK: Helpers

    struct Signed {
        let cookie: String
        let csrf: String
    }

    func login(_ client: some TestClientProtocol, token: String = APIFixture.token) async throws -> Signed {
        let response = try await client.execute(
            uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
            body: ByteBuffer(string: "token=\(token)"))
        #expect(response.status == .seeOther)
        let setCookie = try #require(response.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"))
        let cookie = String(setCookie.split(separator: ";")[0])
        let page = try await get(client, "/", cookie: cookie)
        let csrf = try #require(Self.first(#"name="csrf" value="([0-9a-f]+)""#, in: page.text))
        return Signed(cookie: cookie, csrf: csrf)
    }

    func get(_ client: some TestClientProtocol, _ path: String, cookie: String?) async throws -> (status: HTTPResponse.Status, text: String)
    {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        let response = try await client.execute(uri: path, method: .get, headers: headers)
        return (response.status, String(buffer: response.body))
    }

    func post(_ client: some TestClientProtocol, _ path: String, cookie: String?, form: String) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let cookie { headers[.cookie] = cookie }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: form))
    }

    static func first(_ pattern: String, in text: String) -> String? {
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), match.numberOfRanges > 1,
            let range = Range(match.range(at: 1), in: text)
        else { return nil }
        return String(text[range])
    }

    /// The three figures of the gauge titled `title`.
    static func gauge(_ title: String, in text: String) -> (limit: Double, allocated: Double, used: Double)? {
        let pattern = #"data-gauge=""# + title + #"" data-limit="([0-9.e+]+)" data-allocated="([0-9.e+]+)" data-used="([0-9.e+]+)""#
        let regex = try! NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func value(_ index: Int) -> Double { Double(text[Range(match.range(at: index), in: text)!])! }
        return (value(1), value(2), value(3))
    }

    func host(_ id: String) async throws -> EMPModel.Host? { try await store.read { try $0.host(id) } }

    // MARK: Pages

    @Test func poolsAndDashboardShowLimitAllocatedAndUsed() async throws {
        try await seed()
        console.pending.set(pool: "trading", pods: ["emp-test/web-7f9c", "emp-test/<img src=x>"])
        await CostSampler(store: store, settings: .init(), clock: clock, logger: Logger(label: "test")).sampleOnce()
        try await application().test(.router) { client in
            let signed = try await login(client)
            let pools = try await get(client, "/", cookie: signed.cookie).text
            #expect(pools.contains(#"<span data-field="hosts">2</span> hosts"#))
            #expect(pools.contains(#"<span data-field="evms">10</span> EVMs"#))
            #expect(pools.contains(#"<span data-field="pending">2</span> pending pods"#))
            #expect(pools.contains(#"data-phase="running">10 running"#))
            let cpu = try #require(Self.gauge("CPU", in: pools))
            #expect(cpu.limit == 384 && cpu.allocated == 160 && cpu.used == 10)
            let memory = try #require(Self.gauge("Memory", in: pools))
            #expect(memory.limit == Double(Int64.gibibytes(1536)))
            #expect(memory.allocated == Double(Int64.gibibytes(640)) && memory.used == Double(Int64.gibibytes(80)))
            // 10 × m5.4xlarge ($7.68/h) against 2 × m5.metal ($9.216/h): this pool costs more than it replaces.
            #expect(pools.contains(#"<strong data-field="savingMonthly">-$1,121.28</strong>"#))

            let dashboard = try await get(client, "/pools/trading", cookie: signed.cookie)
            #expect(dashboard.status == .ok)
            #expect(Self.gauge("CPU", in: dashboard.text)?.allocated == 160)
            #expect(dashboard.text.contains("allocated 160.0 CPU (42%) · used 10.0 CPU (3%) · limit 384.0 CPU"))
            #expect(dashboard.text.contains(#"<tr data-evm="trading-7">"#))
            #expect(
                dashboard.text.contains(#"<tr data-host="metal-1"><td><a href="/hosts/metal-1">metal-1</a></td><td>ready</td><td>5</td>"#))
            #expect(dashboard.text.contains("2 ready"))
            #expect(dashboard.text.contains("<li>emp-test/web-7f9c</li>"))
            #expect(dashboard.text.contains("<tr><td>trading-0</td><td>metal-0 → metal-1</td><td>running</td><td>25% of 8.0 GiB</td>"))
            #expect(dashboard.text.contains("<li>emp-test/&lt;img src=x&gt;</li>"))
            #expect(dashboard.text.contains("Hosts <span data-field=\"hostsHourly\">$9.22</span>/h"))
            #expect(dashboard.text.contains("Nothing to move") || dashboard.text.contains("<table id=\"plan\"><tr>"))
            #expect(dashboard.text.contains("No history yet"))  // one sample is no line
            let missing = try await get(client, "/pools/nope", cookie: signed.cookie)
            #expect(missing.status == .notFound)
        }
    }

    @Test func theDashboardDrawsTheLastDayFromTheSamples() async throws {
        try await seed()
        let sampler = CostSampler(store: store, settings: .init(), clock: clock, logger: Logger(label: "test"))
        for _ in 0..<5 {
            await sampler.sampleOnce()
            clock.advance(by: .seconds(60))
        }
        try await application().test(.router) { client in
            let signed = try await login(client)
            let dashboard = try await get(client, "/pools/trading", cookie: signed.cookie).text
            #expect(dashboard.contains(#"data-chart="CPU, last 24 h""#))
            #expect(dashboard.components(separatedBy: "<polyline").count - 1 == 6)  // limit, allocated, used × CPU, memory
            #expect(dashboard.contains("last 4 min, top 384.0 CPU"))
            let host = try await get(client, "/hosts/metal-0", cookie: signed.cookie).text
            #expect(host.contains("last 4 min, top 192.0 CPU"))  // one host: 96 cores × 2
            #expect(host.components(separatedBy: "<polyline").count - 1 == 6)
            let savings = try await get(client, "/savings", cookie: signed.cookie).text
            #expect(savings.contains(#"<tr data-pool="trading">"#))
            #expect(savings.contains("Estimate from on-demand list prices"))
            #expect(savings.contains(#"<span data-field="evmsHourly">$7.68</span>"#))
        }
    }

    @Test func evmDetailsShowEachProvisioningStep() async throws {
        try await seed()
        try await application().test(.router) { client in
            let signed = try await login(client)
            let page = try await get(client, "/evms/trading-2", cookie: signed.cookie).text
            for (step, offset) in [
                ("requested", "+0.0 s"), ("placed", "+0.0 s"), ("nodeRegistered", "+1.0 s"), ("seedWritten", "+2.0 s"),
                ("defined", "+3.0 s"), ("booted", "+4.0 s"), ("nodeReady", "+42.0 s"),
            ] {
                let row = try #require(Self.first(#"(<li class="done" data-step=""# + step + #"">.*?</li>)"#, in: page), "step \(step)")
                #expect(row.contains(offset), "\(step): \(row)")
            }
            #expect(page.contains("steal 0.12 CPU"))
            #expect(page.contains("guest swap 0.0 GiB / 1.0 GiB"))
            #expect(page.contains("Never migrated."))
            let moved = try await get(client, "/evms/trading-0", cookie: signed.cookie).text
            #expect(moved.contains("<tr><td>metal-0 → metal-1</td><td>running</td><td>relieve</td>"))
        }
    }

    /// Steps a fraction of a second apart keep their order on the wire (its other dates are whole seconds).
    @Test func provisioningStepsTravelWithMilliseconds() throws {
        let steps = ProvisioningSteps(seedWrittenAt: APIFixture.epoch + 0.25, bootedAt: APIFixture.epoch + 0.75)
        let data = try WireJSON.encoder().encode(steps)
        let decoded = try WireJSON.decoder().decode(ProvisioningSteps.self, from: data)
        #expect(decoded == steps)
        #expect(String(decoding: data, as: UTF8.self).contains(".250Z"))
        let whole = try WireJSON.decoder().decode(ProvisioningSteps.self, from: Data(#"{"definedAt":"2023-11-14T22:13:20Z"}"#.utf8))
        #expect(whole.definedAt == APIFixture.epoch)
        #expect(throws: DecodingError.self) {
            try WireJSON.decoder().decode(ProvisioningSteps.self, from: Data(#"{"bootedAt":"yesterday"}"#.utf8))
        }
    }

    @Test func markupInNamesAndMessagesIsShownAsText() async throws {
        try await seed()
        try await application().test(.router) { client in
            let signed = try await login(client)
            for path in ["/pools/trading", "/evms/trading-3", "/hosts/metal-0", "/events"] {
                let text = try await get(client, path, cookie: signed.cookie).text
                #expect(!text.contains("<script>alert"), "\(path) carries live markup")
                #expect(!text.contains("<b>bold</b>"), "\(path) carries live markup")
            }
            #expect(try await get(client, "/evms/trading-3", cookie: signed.cookie).text.contains("&lt;script&gt;alert(&#39;node&#39;)"))
            #expect(try await get(client, "/hosts/metal-0", cookie: signed.cookie).text.contains("&lt;b&gt;bold&lt;/b&gt;"))
        }
    }

    @Test func eventsFilterByObjectAndReason() async throws {
        try await seed()
        try await application().test(.router) { client in
            let signed = try await login(client)
            let placed = try await get(client, "/events?kind=evm&id=trading-4&reason=placed", cookie: signed.cookie).text
            #expect(placed.contains("placed on host metal-0"))
            #expect(!placed.contains("placed on host metal-1"))
            let hosts = try await get(client, "/events?kind=host", cookie: signed.cookie).text
            #expect(hosts.contains("HostReady") && !hosts.contains("Placed"))
            let bad = try await get(client, "/events?kind=planet", cookie: signed.cookie).text
            #expect(bad.contains("unknown kind &quot;planet&quot;"))
        }
    }

    // MARK: Access

    @Test func everyPageAndFormRefusesAMissingOrExpiredSession() async throws {
        try await seed()
        try await application().test(.router) { client in
            let pages = ["/", "/pools/trading", "/evms/trading-1", "/hosts/metal-0", "/events", "/savings", "/console/updates"]
            for path in pages {
                let response = try await client.execute(uri: path, method: .get)
                #expect([.seeOther, .unauthorized].contains(response.status), "\(path) answered \(response.status)")
                #expect(!String(buffer: response.body).contains("trading-1"), "\(path) leaked data")
            }
            let signed = try await login(client)
            #expect(try await get(client, "/hosts/metal-0", cookie: signed.cookie).status == .ok)
            clock.advance(by: .seconds(3601))
            let expired = try await client.execute(uri: "/hosts/metal-0", method: .get, headers: [.cookie: signed.cookie])
            #expect(expired.status == .seeOther && expired.headers[.location] == "/login")
            for action in ["cordon", "uncordon", "maintenance"] {
                let response = try await post(
                    client, "/hosts/metal-0/\(action)", cookie: signed.cookie, form: "csrf=\(signed.csrf)&enabled=true")
                #expect(response.status == .unauthorized)
            }
            let host = try #require(try await host("metal-0"))
            #expect(!host.cordoned && !host.maintenance)
            let forged = try await post(client, "/hosts/metal-0/cordon", cookie: "emp_session=0123", form: "csrf=0123")
            #expect(forged.status == .unauthorized)
        }
    }

    @Test func aFormWithoutItsCSRFTokenChangesNothing() async throws {
        try await seed()
        try await application().test(.router) { client in
            let signed = try await login(client)
            for form in ["", "csrf=", "csrf=deadbeef"] {
                let response = try await post(client, "/hosts/metal-0/cordon", cookie: signed.cookie, form: form)
                #expect(response.status == .forbidden)
                #expect(String(buffer: response.body).contains("Nothing was changed"))
            }
            #expect(try await host("metal-0")?.cordoned == false)
            let done = try await post(client, "/hosts/metal-0/cordon", cookie: signed.cookie, form: "csrf=\(signed.csrf)")
            #expect(done.status == .seeOther && done.headers[.location] == "/hosts/metal-0?done=Cordoned")
            #expect(try await host("metal-0")?.cordoned == true)
            let page = try await get(client, "/hosts/metal-0?done=Cordoned", cookie: signed.cookie).text
            #expect(page.contains(#"<strong data-field="state">cordoned</strong>"#))
            #expect(page.contains("Done: Cordoned."))
            let crafted = try await get(client, "/hosts/metal-0?done=Send+your+token+to+evil.example", cookie: signed.cookie).text
            #expect(!crafted.contains("evil.example"))
            let maintenance = try await post(
                client, "/hosts/metal-1/maintenance", cookie: signed.cookie, form: "csrf=\(signed.csrf)&enabled=true")
            #expect(maintenance.status == .seeOther)
            #expect(try await host("metal-1")?.maintenance == true)
            let unknown = try await post(client, "/hosts/metal-9/cordon", cookie: signed.cookie, form: "csrf=\(signed.csrf)")
            #expect(unknown.status == .notFound)
        }
    }

    @Test func aViewerLooksButCannotAct() async throws {
        try await seed()
        try await application().test(.router) { client in
            let signed = try await login(client, token: Self.viewer)
            let page = try await get(client, "/hosts/metal-0", cookie: signed.cookie).text
            #expect(page.contains("signed in as viewer"))
            #expect(!page.contains(#"id="cordon""#))
            let refused = try await post(client, "/hosts/metal-0/cordon", cookie: signed.cookie, form: "csrf=\(signed.csrf)")
            #expect(refused.status == .forbidden)
            #expect(try await host("metal-0")?.cordoned == false)
            // The GET API takes the viewer token; changes need an operator's.
            let bearer: HTTPFields = [.authorization: "Bearer \(Self.viewer)"]
            #expect(try await client.execute(uri: "/v1/hosts/metal-0", method: .get, headers: bearer).status == .ok)
            let write = try await client.execute(uri: "/v1/hosts/metal-0/cordon", method: .post, headers: bearer)
            #expect(write.status == .forbidden)
            #expect(try await host("metal-0")?.cordoned == false)
            let wrong = try await client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=guess"))
            #expect(wrong.status == .unauthorized && wrong.headers[.setCookie] == nil)
        }
    }

    @Test func liveUpdatesSayWhenSomethingHappened() async throws {
        try await seed()
        let app = application()
        try await app.test(.live) { client in
            let signed = try await login(client)
            let socket = try RawSocket(port: try #require(client.port), readTimeout: .milliseconds(200))
            try socket.send("GET /console/updates HTTP/1.1\r\nHost: x\r\nCookie: \(signed.cookie)\r\n\r\n")
            let newest = try await store.read { try $0.events(EventFilter(limit: 1)).first!.id }
            var seen = ""
            #expect(
                try await eventually {
                    seen += socket.readAll().text
                    return seen.contains("data: \(newest)\n")
                }, "stream so far: \(seen)")
            #expect(seen.contains("text/event-stream"))
            _ = try await store.write { tx in
                try tx.append(Event(time: APIFixture.epoch, object: ObjectRef(.host, "metal-1"), reason: "Cordoned", message: "x"))
            }
            // The stream writes, then waits on the clock: advance only once it waits, or the step passes it by.
            try await clock.waitForSleepers(1)
            try await clock.step(by: .seconds(2))
            #expect(
                try await eventually {
                    seen += socket.readAll().text
                    return seen.contains("data: \(newest + 1)\n")
                }, "stream so far: \(seen)")
            console.close()
            store.endWaits(prefix: "console/")
        }
    }
}
