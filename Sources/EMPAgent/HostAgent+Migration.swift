public import AsyncHTTPClient
import EMPModel
public import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

extension HostAgent {
    // MARK: Incoming migrations

    /// Writes the seed ISO of each EVM about to arrive (QEMU on this host opens it when the domain lands), then
    /// tells the control plane the destination is ready, which lets the source start.
    func prepareIncoming(_ desired: DesiredState, _ credential: Credential) async {
        // Only migrations still incoming are remembered, so the set does not grow with every move ever made.
        let current = Set(desired.incoming.map(\.migrationID))
        prepared.withLock { $0.formIntersection(current) }
        for incoming in desired.incoming where incoming.state == .preparing {
            guard !prepared.withLock({ $0.contains(incoming.migrationID) }) else { continue }
            do {
                let seed = CloudInitSeed(evm: incoming.evm, hostID: credential.hostID, kubelet: desired.kubelet)
                try await seedImage.get().write(try seed.files(), to: configuration.seedPath(for: incoming.evm.id))
                try await client.migration(credential, incoming.migrationID, MigrationUpdate(step: .prepared))
                prepared.withLock { _ = $0.insert(incoming.migrationID) }
                logger.info("ready for incoming EVM", metadata: ["evm": "\(incoming.evm.id)", "migration": "\(incoming.migrationID)"])
            } catch {
                logger.error("cannot prepare for an incoming EVM", metadata: ["evm": "\(incoming.evm.id)", "error": "\(error)"])
            }
        }
    }

    // MARK: Interruption notices

    /// Polls the provider's interruption notice every ``AgentConfiguration/interruptionPollInterval``; the first
    /// time it appears (or its time changes) the deadline is reported at once, then with every heartbeat.
    func watchInterruption(_ url: String, _ credential: Credential) async throws {
        while !Task.isCancelled {
            do {
                if let deadline = try await InterruptionNotice.fetch(url, http: client.http), interruption.withLock({ $0 }) != deadline {
                    interruption.withLock { $0 = deadline }
                    logger.warning("interruption notice: the host goes away", metadata: ["at": "\(deadline)"])
                    try await client.report(credential, try await makeReport())
                }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("interruption notice poll failed", metadata: ["error": "\(error)"])
            }
            try await clock.sleep(for: configuration.interruptionPollInterval)
        }
    }
}

/// EC2's spot `instance-action` document: `{"action": "terminate", "time": "2026-11-22T18:00:00Z"}`; 404 means no
/// notice. Other providers can serve the same shape.
public enum InterruptionNotice {
    struct Document: Decodable {
        var action: String
        var time: Date
    }

    /// The deadline the notice announces, or nil when there is none. `http` is the agent's own client (shut down
    /// with the agent).
    public static func fetch(_ url: String, http: HTTPClient = .shared) async throws -> Date? {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        if let token = await sessionToken(for: url, http: http) {
            request.headers.add(name: "X-aws-ec2-metadata-token", value: token)
        }
        let response = try await http.execute(request, timeout: .seconds(2))
        let body = try await response.body.collect(upTo: 64 << 10)
        if response.status == .notFound { return nil }
        guard response.status == .ok else { throw AgentError("interruption notice \(url): HTTP \(response.status.code)") }
        do {
            return try WireJSON.decoder().decode(Document.self, from: Data(buffer: body)).time
        } catch {
            throw AgentError("interruption notice \(url): not an instance-action document (\(error))")
        }
    }

    /// An IMDSv2 session token when `url` is an instance-metadata path (`/latest/meta-data/…`) and the service
    /// hands one out (`PUT /latest/api/token`); nil otherwise, and the read goes without (IMDSv1, other providers).
    /// Instances that require IMDSv2 refuse reads without it.
    static func sessionToken(for url: String, http: HTTPClient) async -> String? {
        guard let parsed = URL(string: url), parsed.path.hasPrefix("/latest/meta-data/"), let host = parsed.host else { return nil }
        var request = HTTPClientRequest(url: "\(parsed.scheme ?? "http")://\(host)\(parsed.port.map { ":\($0)" } ?? "")/latest/api/token")
        request.method = .PUT
        request.headers.add(name: "X-aws-ec2-metadata-token-ttl-seconds", value: "300")
        guard let response = try? await http.execute(request, timeout: .seconds(2)), response.status == .ok,
            let body = try? await response.body.collect(upTo: 4096)
        else { return nil }
        let token = String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }
}
