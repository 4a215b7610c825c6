import Foundation
import Hummingbird

/// Refuses requests without a valid operator bearer token (compared in constant time).
struct OperatorAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = Secrets.bearer(request.headers) else { throw APIError.unauthorized }
        guard tokens.contains(where: { Secrets.constantTimeEqual($0, presented) }) else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}
