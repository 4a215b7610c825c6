import Foundation
import Hummingbird

/// Refuses requests without a valid operator bearer token (compared in constant time).
struct OperatorAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError.unauthorized
        }
        let presented = Array(header.dropFirst("Bearer ".count).utf8)
        guard tokens.contains(where: { Self.constantTimeEqual(Array($0.utf8), presented) }) else {
            throw APIError.unauthorized
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
