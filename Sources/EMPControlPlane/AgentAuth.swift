import EMPModel
import EMPStore
import Hummingbird

/// Admits a request under `/v1/agent/hosts/{id}` only with that host's own credential.
///
/// A missing or unknown credential is 401; another host's valid credential is 403, so a compromised host
/// cannot read or change its neighbours.
struct AgentAuth<Context: RequestContext>: RouterMiddleware {
    let store: any StateStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let presented = Secrets.hash(String(header.dropFirst("Bearer ".count)))
        guard let hostID = context.parameters.get("id") else { throw APIError.forbidden }
        let credential = try await store.read { try $0.credential(host: hostID) }
        if let credential, Secrets.constantTimeEqual(credential.secretHash, presented) {
            return try await next(request, context)
        }
        // Tell a valid credential of another host (403) from garbage (401) without revealing which host it is.
        let ownsAnotherHost = try await store.read { tx in
            try tx.hosts().contains { host in
                try tx.credential(host: host.id).map { Secrets.constantTimeEqual($0.secretHash, presented) } ?? false
            }
        }
        throw ownsAnotherHost ? APIError.forbidden : APIError.unauthorized
    }
}
