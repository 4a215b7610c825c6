import EMPTesting
import Foundation
import Hummingbird
import Kube
import KubeSim
import NIOCore
import Testing

/// Collects informer events in order.
actor EventLog {
    var events: [String] = []
    func add(_ event: InformerEvent<ConfigMap>) {
        switch event {
        case .added(let map): events.append("added \(map.name)")
        case .modified(let map): events.append("modified \(map.name)")
        case .deleted(let map): events.append("deleted \(map.name)")
        case .synced: events.append("synced")
        }
    }
}

@Suite struct InformerTests {
    func start(_ informer: Informer<ConfigMap>) async -> (EventLog, Task<Void, Never>) {
        let log = EventLog()
        let stream = await informer.subscribe()
        Task { for await event in stream { await log.add(event) } }
        return (log, Task { await informer.run() })
    }

    func map(_ name: String, _ value: String = "v") -> ConfigMap {
        var map = ConfigMap(name: name, namespace: "default")
        map.data = ["k": value]
        return map
    }

    /// The cache holds exactly what the server holds (names and resourceVersions).
    func converged(_ informer: Informer<ConfigMap>, _ maps: Resources<ConfigMap>) async throws -> Bool {
        let server = try await maps.list().items.map { "\($0.name)@\($0.metadata.resourceVersion ?? "")" }.sorted()
        let cached = await informer.items.map { "\($0.name)@\($0.metadata.resourceVersion ?? "")" }.sorted()
        return server == cached
    }

    @Test func resumesAcrossAnAPIServerRestartWithoutLosingAChange() async throws {
        let harness = try await SimHarness.start { $0.bookmarkInterval = .milliseconds(200) }
        defer { Task { await harness.close() } }
        let maps = harness.client.resources(ConfigMap.self, namespace: "default")
        let informer = Informer(maps, watchTimeoutSeconds: 30)
        let (log, task) = await start(informer)
        defer { task.cancel() }
        await informer.waitUntilSynced()
        for index in 0..<5 { _ = try await maps.create(map("cm-\(index)")) }
        try await eventually { await informer.items.count == 5 }

        await harness.sim.stop()
        try await harness.sim.start()
        // Changes right after the restart: the informer is still reconnecting and must get them from its resourceVersion.
        for index in 5..<10 { _ = try await maps.create(map("cm-\(index)")) }
        var first = try await maps.get("cm-0")
        first.data = ["k": "changed"]
        _ = try await maps.update(first)
        try await maps.delete("cm-1")

        #expect(try await eventually { try await converged(informer, maps) })
        #expect(await informer.get("default/cm-0")?.data["k"] == "changed")
        // The cache converges before the last events reach the log (they are handed over by another task).
        #expect(try await eventually { await log.events.contains("deleted cm-1") })
        let events = await log.events
        for index in 0..<10 { #expect(events.filter { $0 == "added cm-\(index)" }.count == 1) }
        #expect(events.contains("modified cm-0"))
        // It resumed its watch: one list in all.
        #expect(await informer.lists == 1)
    }

    @Test func relistsAfter410AndEmitsTheDifference() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let maps = harness.client.resources(ConfigMap.self, namespace: "default")
        for name in ["keep", "change", "drop"] { _ = try await maps.create(map(name)) }
        let informer = Informer(maps)
        let (_, task) = await start(informer)
        await informer.waitUntilSynced()
        task.cancel()
        _ = await task.value

        // While the informer is away: changes, then compaction of the history it would resume from.
        var changed = try await maps.get("change")
        changed.data = ["k": "new"]
        _ = try await maps.update(changed)
        try await maps.delete("drop")
        _ = try await maps.create(map("new"))
        harness.sim.compactHistory()

        let (log, again) = await start(informer)
        defer { again.cancel() }
        #expect(try await eventually { await informer.lists == 2 })
        #expect(try await eventually { try await converged(informer, maps) })
        let events = await log.events
        #expect(events.contains("modified change"))
        #expect(events.contains("deleted drop"))
        #expect(events.contains("added new"))
        #expect(!events.contains("modified keep"))
    }

    @Test func aWatchAfterCompactionIsGone() async throws {
        let harness = try await SimHarness.start()
        defer { Task { await harness.close() } }
        let maps = harness.client.resources(ConfigMap.self, namespace: "default")
        let old = try await maps.create(map("a")).metadata.resourceVersion
        _ = try await maps.create(map("b"))
        harness.sim.compactHistory()
        await #expect {
            for try await _ in maps.watch(WatchOptions(resourceVersion: old)) {}
        } throws: { ($0 as? KubeError)?.isGone == true }
    }

    @Test func garbageOnTheWatchStreamIsATypedErrorAndARelist() async throws {
        let router = Router()
        router.get("/api/v1/namespaces/default/configmaps") { request, _ -> Response in
            if request.uri.queryParameters["watch"] == "true" {
                return Response(
                    status: .ok,
                    body: .init(byteBuffer: ByteBuffer(string: "{\"type\":\"ADDED\",\"object\":{\"metadata\":\n<html>oops</html>\n")))
            }
            let list =
                #"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"5"},"items":[{"metadata":{"name":"only","namespace":"default","resourceVersion":"5"}}]}"#
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: list)))
        }
        let (ready, signal) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { signal.yield($0.localAddress?.port ?? 0) })
        let server = ServingTask(app)
        defer { Task { await server.stop() } }
        var port = 0
        for await value in ready {
            port = value
            break
        }
        let client = try KubeClient(config: KubeConfig(server: "http://127.0.0.1:\(port)"))
        defer { Task { try? await client.shutdown() } }
        let maps = client.resources(ConfigMap.self, namespace: "default")
        await #expect {
            for try await _ in maps.watch() {}
        } throws: { ($0 as? KubeError)?.reason == .invalidResponse }

        let informer = Informer(maps)
        let task = Task { await informer.run() }
        defer { task.cancel() }
        #expect(try await eventually { await informer.lists >= 2 })
        #expect(await informer.items.map(\.name) == ["only"])
    }
}
