import EMPModel
import Foundation
public import Hummingbird

/// An API failure rendered as `{"error": code, "message": text, "field": name?}` with its HTTP status.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    /// Stable machine-readable code (`invalid`, `not_found`, `conflict`, `unauthorized`, `forbidden`).
    public let code: String
    public let message: String
    /// The request field at fault, as a dotted path.
    public let field: String?

    public init(_ status: HTTPResponse.Status, code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    static func invalid(_ message: String, field: String?) -> APIError {
        APIError(.badRequest, code: "invalid", message, field: field)
    }
    static func notFound(_ what: String) -> APIError { APIError(.notFound, code: "not_found", "\(what) not found") }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, code: "conflict", message) }
    static let unauthorized = APIError(.unauthorized, code: "unauthorized", "missing or invalid bearer token")
    static let forbidden = APIError(.forbidden, code: "forbidden", "this credential may not call this endpoint")

    init(_ validation: ValidationError) {
        self.init(.badRequest, code: "invalid", validation.description, field: validation.field)
    }

    private struct Body: Encodable {
        let error: String
        let message: String
        let field: String?
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response { rendered }

    /// The JSON error response.
    var rendered: Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let data = (try? encoder.encode(Body(error: code, message: message, field: field))) ?? Data()
        return Response(
            status: status,
            headers: [.contentType: "application/json", .contentLength: "\(data.count)"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

// MARK: Domain errors

extension APIError {
    /// The one mapping from domain refusals to HTTP: not found 404, invalid 400 (with the field), forbidden 403,
    /// conflict and insufficient capacity 409.
    init(_ error: DomainError) {
        let status: HTTPResponse.Status
        switch error.code {
        case .notFound: status = .notFound
        case .invalid: status = .badRequest
        case .forbidden: status = .forbidden
        default: status = .conflict
        }
        self.init(status, code: error.code.description, error.message, field: error.field)
    }
}

/// Domain errors thrown through a route render as their ``APIError``.
extension DomainError: HTTPResponseError {
    public var status: HTTPResponse.Status { APIError(self).status }

    public func response(from request: Request, context: some RequestContext) throws -> Response { APIError(self).rendered }
}
