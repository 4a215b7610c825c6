import Foundation
import Hummingbird

/// Refuses requests without a valid operator bearer token (compared in constant time). Viewer tokens may read
/// (GET) and nothing else.
struct OperatorAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]
    var viewerTokens: [String] = []

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Secrets.bearer(request.headers) else { throw APIError.unauthorized }
        if tokens.contains(where: { Secrets.constantTimeEqual($0, presented) }) { return try await next(request, context) }
        guard viewerTokens.contains(where: { Secrets.constantTimeEqual($0, presented) }) else { throw APIError.unauthorized }
        guard request.method == .get || request.method == .head else {
            throw APIError(.forbidden, code: "forbidden", "a viewer token may only read (GET); this needs an operator token")
        }
        return try await next(request, context)
    }
}
