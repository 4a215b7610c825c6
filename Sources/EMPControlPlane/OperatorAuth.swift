import Foundation
import Hummingbird

/// Refuses requests without a valid operator bearer token (compared in constant time).
struct OperatorAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let presented = String(header.dropFirst("Bearer ".count))
        guard tokens.contains(where: { Secrets.constantTimeEqual($0, presented) }) else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }
}
