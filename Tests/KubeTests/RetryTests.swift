import EMPTesting
import Foundation
import Kube
import KubeSim
import Testing

@Suite struct RetryTests {
    var fast: KubeClient.Options {
        var options = KubeClient.Options()
        options.initialBackoff = .milliseconds(20)
        options.maxRetries = 4
        return options
    }

    @Test func tooManyRequestsIsRetriedAfterRetryAfter() async throws {
        let harness = try await SimHarness.start(clientOptions: fast)
        defer { Task { await harness.close() } }
        harness.sim.injectFailures(status: 429, count: 2, retryAfter: 1)
        let started = ContinuousClock.now
        let created = try await harness.client.resources(ConfigMap.self, namespace: "default").create(
            ConfigMap(name: "after-429", namespace: "default"))
        #expect(created.name == "after-429")
        // Two Retry-After: 1 answers were honoured.
        #expect(ContinuousClock.now - started >= .seconds(2))
    }

    @Test func serverErrorsAreRetriedForReadsButNotForWritesWithoutRetryAfter() async throws {
        let harness = try await SimHarness.start(clientOptions: fast)
        defer { Task { await harness.close() } }
        let maps = harness.client.resources(ConfigMap.self, namespace: "default")
        harness.sim.injectFailures(status: 503, count: 3)
        #expect(try await maps.list().items.isEmpty)
        harness.sim.injectFailures(status: 503, count: 1)
        await #expect { _ = try await maps.create(ConfigMap(name: "once", namespace: "default")) } throws: {
            ($0 as? KubeError)?.reason == .serviceUnavailable
        }
        #expect(try await maps.getIfPresent("once") == nil)
        harness.sim.injectFailures(status: 503, count: 10)
        await #expect { _ = try await maps.list() } throws: { ($0 as? KubeError)?.code == 503 }
    }

    @Test func aRequestWaitsOutAnAPIServerRestart() async throws {
        let records = RecordingLogHandler.Records()
        let harness = try await SimHarness.start(clientOptions: fast, logger: RecordingLogHandler.logger(label: "test", records: records))
        defer { Task { await harness.close() } }
        await harness.sim.stop()
        // The server comes back once the client has failed and is retrying.
        let restart = Task {
            _ = try await eventually { records.all.contains("kube retry") }
            try await harness.sim.start()
        }
        let created = try await harness.client.resources(ConfigMap.self, namespace: "default").create(
            ConfigMap(name: "during-restart", namespace: "default"))
        #expect(created.name == "during-restart")
        try await restart.value
    }

    @Test func theRateLimiterSpacesRequests() async throws {
        let limiter = RateLimiter(qps: 20, burst: 2)
        let started = ContinuousClock.now
        for _ in 0..<6 { try await limiter.acquire() }
        // 2 from the burst, then 4 at 20/s: at least 150 ms (not a timing assertion on our code's speed, but on the limit).
        #expect(ContinuousClock.now - started >= .milliseconds(150))
    }
}
