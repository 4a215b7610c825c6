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
        guard let secret = Secrets.bearer(request.headers) else { throw APIError.unauthorized }
        let presented = Secrets.hash(secret)
        guard let hostID = context.parameters.get("id") else { throw APIError.forbidden }
        // One indexed lookup by the secret's hash, whatever the request: no scan of other hosts' credentials.
        let credential = try await store.read { try $0.credential(secretHash: presented) }
        guard let credential, Secrets.constantTimeEqual(credential.secretHash, presented) else { throw APIError.unauthorized }
        // Another host's valid credential is 403 (without saying which host it belongs to).
        guard credential.hostID == hostID else { throw APIError.forbidden }
        return try await next(request, context)
    }
}
