public import AsyncHTTPClient
import EMPAgent
public import EMPModel
public import Foundation
import NIOConcurrencyHelpers
public import NIOCore
import NIOFoundationCompat
public import NIOHTTP1

/// Simulated agents for fleet-scale runs (`emp-bench fleet`, the 2,000-host test): each joins with its own join
/// token, long-polls its desired state as `emp-agent` does and reports its EVMs as running, over real HTTP with the
/// agent's own client. Only libvirt is left out: an EVM runs the moment it is desired.
public final class FleetSimulator: Sendable {
    /// The simulated fleet's size and the figures its hosts report.
    public struct Settings: Sendable {
        public var hosts: Int
        public var poolID = "fleet"
        public var hostPrefix = "sim"
        public var hostCores = 64
        public var hostMemoryBytes: Int64 = 512 << 30
        /// The EVM shape: small enough that every host holds its share.
        public var evmVCPUs = 1
        public var evmMemory = "4Gi"
        /// What each running EVM reports as its RSS.
        public var evmRSSBytes: Int64 = 1 << 30
        /// The long poll's `wait` (seconds), as `emp-agent --poll-wait`.
        public var pollWait = 30

        public init(hosts: Int) { self.hosts = hosts }
    }

    /// One simulated host's credential and what it last learned of its desired state.
    final class SimulatedHost: Sendable {
        struct State {
            var revision: Int64 = -1
            var desired: [String: EVMPhase] = [:]
            var cpuNanoseconds: Int64 = 0
        }
        let credential: Credential
        let state = NIOLockedValueBox(State())
        init(credential: Credential) { self.credential = credential }
    }

    public let settings: Settings
    public let http: HTTPClient
    let baseURL: String
    let operatorToken: String
    let client: ControlPlaneClient
    let hosts = NIOLockedValueBox<[SimulatedHost]>([])
    /// Latencies (seconds) by kind: `report`, `create`, `get`, `join`; and failures by kind.
    public let latencies = LatencyLog()

    /// Connects to the control plane at `baseURL` with room for one long poll per host plus the reports.
    public init(
        settings: Settings, baseURL: String, operatorToken: String, eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup
    ) {
        self.settings = settings
        self.baseURL = baseURL
        self.operatorToken = operatorToken
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(
            idleTimeout: .seconds(120), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.hosts * 2 + 64)
        configuration.timeout = .init(connect: .seconds(30))
        http = HTTPClient(eventLoopGroupProvider: .shared(eventLoopGroup), configuration: configuration)
        client = ControlPlaneClient(http: http, baseURL: baseURL)
    }

    public func shutdown() async throws { try await http.shutdown() }

    // MARK: Operator calls

    /// Calls the operator API; returns the status and body.
    public func call(_ method: HTTPMethod, _ path: String, _ json: String? = nil) async throws -> (status: UInt, body: Data) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(operatorToken)")
        if let json {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: json))
        }
        let response = try await http.execute(request, timeout: .seconds(120))
        return (response.status.code, Data(buffer: try await response.body.collect(upTo: 256 << 20)))
    }

    func expect(_ status: UInt, _ method: HTTPMethod, _ path: String, _ json: String? = nil) async throws -> Data {
        let (got, body) = try await call(method, path, json)
        guard got == status else { throw SimulationError("\(method) \(path): \(got) \(String(decoding: body, as: UTF8.self))") }
        return body
    }

    /// Creates the pool every simulated host joins, with room for `maxEVMs`.
    public func createPool(maxEVMs: Int) async throws {
        let shape = #"{"vcpus": \#(settings.evmVCPUs), "memory": "\#(settings.evmMemory)"}"#
        _ = try await expect(
            201, .POST, "/v1/pools",
            #"{"id": "\#(settings.poolID)", "shape": \#(shape), "policy": {"maxEVMs": \#(maxEVMs), "cpuOvercommit": 4, "memoryOvercommit": 1.5}}"#
        )
    }

    /// Each host takes a join token of its own and joins, `concurrency` at a time.
    public func joinAll(concurrency: Int = 32) async throws {
        struct Token: Decodable { let token: String }
        try await forEach(0..<settings.hosts, concurrency: concurrency) { index in
            let id = "\(self.settings.hostPrefix)-\(index)"
            let body = try await self.expect(201, .POST, "/v1/pools/\(self.settings.poolID)/tokens", #"{"hostID": "\#(id)"}"#)
            let token = try JSONDecoder().decode(Token.self, from: body).token
            let inventory = HostInventory(
                hostname: id, cores: self.settings.hostCores, memoryBytes: self.settings.hostMemoryBytes, cpuModel: "simulated",
                hostUUID: UUID().uuidString.lowercased(), libvirtVersion: "9.0.0", hypervisorVersion: "7.2.0")
            let start = ContinuousClock.now
            let joined = try await self.client.join(JoinRequest(token: token, hostID: id, inventory: inventory))
            self.latencies.record("join", since: start)
            let host = SimulatedHost(credential: Credential(hostID: joined.hostID, poolID: joined.poolID, secret: joined.credential))
            self.hosts.withLockedValue { $0.append(host) }
        }
    }

    /// Creates `count` EVMs, `batch` per request (each request's latency recorded as `create`).
    public func createEVMs(_ count: Int, batch: Int = 100) async throws {
        var left = count
        while left > 0 {
            let n = min(batch, left)
            let start = ContinuousClock.now
            _ = try await expect(201, .POST, "/v1/pools/\(settings.poolID)/evms", #"{"count": \#(n)}"#)
            latencies.record("create", since: start)
            left -= n
        }
    }

    /// How many of the pool's EVMs are in `phase` (one small page: the answer's `EMP-Continue` says whether more).
    public func evmCount(phase: EVMPhase) async throws -> Int {
        let body = try await expect(200, .GET, "/v1/evms?pool=\(settings.poolID)&phase=\(phase.rawValue)&limit=5000")
        return try WireJSON.decoder().decode([EVM].self, from: body).count
    }

    /// The pool's hosts, read page by page.
    public func listHosts() async throws -> [EMPModel.Host] {
        var all: [EMPModel.Host] = []
        var next: String?
        repeat {
            var request = HTTPClientRequest(url: baseURL + "/v1/hosts?limit=5000" + (next.map { "&continue=\($0)" } ?? ""))
            request.headers.add(name: "Authorization", value: "Bearer \(operatorToken)")
            let response = try await http.execute(request, timeout: .seconds(120))
            let body = Data(buffer: try await response.body.collect(upTo: 256 << 20))
            guard response.status == .ok else { throw SimulationError("GET /v1/hosts: \(response.status)") }
            all += try WireJSON.decoder().decode([EMPModel.Host].self, from: body)
            next = response.headers.first(name: "EMP-Continue")
        } while next != nil
        return all
    }

    /// One operator GET of a random host or EVM, its latency recorded as `get`.
    public func operatorGet() async {
        let index = Int.random(in: 0..<max(1, settings.hosts))
        let start = ContinuousClock.now
        do {
            _ = try await expect(200, .GET, "/v1/hosts/\(settings.hostPrefix)-\(index)")
            latencies.record("get", since: start)
        } catch {
            latencies.fail("get", error)
        }
    }

    // MARK: Agent behaviour

    /// Every host long-polls its desired state until the task is cancelled, as `emp-agent` does.
    public func longPoll() async {
        await withTaskGroup(of: Void.self) { group in
            for host in hosts.withLockedValue({ $0 }) {
                group.addTask { await self.poll(host) }
            }
        }
    }

    func poll(_ host: SimulatedHost) async {
        while !Task.isCancelled {
            let known = host.state.withLockedValue { $0.revision }
            do {
                let state = try await client.desired(host.credential, after: known, wait: settings.pollWait)
                host.state.withLockedValue { current in
                    current.revision = state.revision
                    current.desired = Dictionary(state.evms.map { ($0.id, $0.phase) }, uniquingKeysWith: { a, _ in a })
                }
                // Migrations the planner starts complete at once: the destination prepares, the source finishes.
                for incoming in state.incoming where incoming.state == .preparing {
                    try await client.migration(host.credential, incoming.migrationID, MigrationUpdate(step: .prepared))
                }
                for outgoing in state.outgoing {
                    try await client.migration(
                        host.credential, outgoing.id,
                        outgoing.cancel ? MigrationUpdate(step: .failed, message: "cancelled") : MigrationUpdate(step: .completed))
                }
            } catch {
                if Task.isCancelled { return }
                latencies.fail("poll", error)
                try? await Task.sleep(for: .seconds(1))  // the agent's backoff, shortened
            }
        }
    }

    /// How many hosts have heard of at least `evms` desired EVMs.
    public func hostsKnowing(atLeast evms: Int) -> Int {
        hosts.withLockedValue { $0.filter { $0.state.withLockedValue { $0.desired.count } >= evms }.count }
    }

    /// How many desired EVMs the hosts know of in all.
    public var knownEVMs: Int { hosts.withLockedValue { $0.reduce(0) { $0 + $1.state.withLockedValue { $0.desired.count } } } }

    /// One report from every host but `silent`, `concurrency` at a time; returns how many failed.
    @discardableResult
    public func reportAll(concurrency: Int = 64, except silent: Set<String> = []) async throws -> Int {
        let failures = NIOLockedValueBox(0)
        let reporting = hosts.withLockedValue { $0 }.filter { !silent.contains($0.credential.hostID) }
        try await forEach(reporting, concurrency: concurrency) { host in
            if !(await self.report(host)) { failures.withLockedValue { $0 += 1 } }
        }
        return failures.withLockedValue { $0 }
    }

    /// Every host reports every `interval` (first report at a random offset, as independent agents do) until the
    /// task is cancelled.
    public func reportEvery(_ interval: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for host in hosts.withLockedValue({ $0 }) {
                group.addTask {
                    let offset = Double.random(in: 0..<1)
                    try? await Task.sleep(for: interval * offset)
                    while !Task.isCancelled {
                        let start = ContinuousClock.now
                        _ = await self.report(host)
                        let took = ContinuousClock.now - start
                        try? await Task.sleep(for: took < interval ? interval - took : .zero)
                    }
                }
            }
        }
    }

    /// One report of `host`: its desired EVMs as running (those being deleted as gone). Returns false on failure.
    func report(_ host: SimulatedHost) async -> Bool {
        let rss = settings.evmRSSBytes
        let domains = host.state.withLockedValue { state -> [DomainReport] in
            state.cpuNanoseconds += 50_000_000
            return state.desired.filter { $0.value != .deleting }.keys.sorted().map {
                DomainReport(evmID: $0, running: true, rssBytes: rss, cpuTimeNanoseconds: state.cpuNanoseconds, instance: "1")
            }
        }
        let used = Resources(cpuMillis: Int64(domains.count) * 50, memoryBytes: Int64(domains.count) * rss + (2 << 30))
        let start = ContinuousClock.now
        do {
            try await client.report(host.credential, HostReport(used: used, domains: domains))
            latencies.record("report", since: start)
            return true
        } catch {
            latencies.fail("report", error)
            return false
        }
    }

    /// Runs `body` for each element, at most `concurrency` at once; the first error ends the run.
    func forEach<S: Sequence & Sendable>(_ items: S, concurrency: Int, _ body: @escaping @Sendable (S.Element) async throws -> Void)
        async throws where S.Element: Sendable
    {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var running = 0
            for item in items {
                if running >= concurrency {
                    try await group.next()
                    running -= 1
                }
                group.addTask { try await body(item) }
                running += 1
            }
            try await group.waitForAll()
        }
    }
}

/// Latencies and failures by kind, for percentiles at the end of a run.
public final class LatencyLog: Sendable {
    private struct State {
        var samples: [String: [Double]] = [:]
        var failures: [String: Int] = [:]
        var lastErrors: [String: String] = [:]
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    func record(_ kind: String, since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        state.withLockedValue { $0.samples[kind, default: []].append(seconds) }
    }

    func fail(_ kind: String, _ error: any Error) {
        state.withLockedValue {
            $0.failures[kind, default: 0] += 1
            $0.lastErrors[kind] = "\(error)"
        }
    }

    /// The last failure of `kind`, for the report of a run that had some.
    public func lastError(_ kind: String) -> String? { state.withLockedValue { $0.lastErrors[kind] } }

    /// The `p`-th percentile (0–100) of `kind`'s latencies in seconds; nil without samples.
    public func percentile(_ kind: String, _ p: Double) -> Double? {
        let sorted = state.withLockedValue { $0.samples[kind] ?? [] }.sorted()
        guard !sorted.isEmpty else { return nil }
        let rank = Int((Double(sorted.count) * p / 100).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    public func count(_ kind: String) -> Int { state.withLockedValue { $0.samples[kind]?.count ?? 0 } }
    public func failures(_ kind: String) -> Int { state.withLockedValue { $0.failures[kind] ?? 0 } }

    /// Forgets everything (the start of a measured window).
    public func reset() { state.withLockedValue { $0 = State() } }
}

/// The simulation could not go on: a call was refused.
public struct SimulationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
