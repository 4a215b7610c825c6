import EMPModel
import Foundation
import HTTPTypes
import Hummingbird

/// `?limit=N&continue=TOKEN` on every list endpoint, in the manner of Kubernetes' list chunking: items come in a
/// stable order (by id), at most `limit` (default 500, at most 5,000) per answer; when more remain, the answer
/// carries the header `EMP-Continue: TOKEN` (and `Link: <…>; rel="next"`), which the next call passes as
/// `continue`. The body stays a JSON array, so clients that read one page still work.
struct Page: Sendable {
    static let defaultLimit = 500
    static let maxLimit = 5000
    static let continueHeader = HTTPField.Name("EMP-Continue")!

    let limit: Int
    /// The last key of the previous page; items after it come next.
    let after: String?

    /// Reads and checks `limit` and `continue`; errors name the parameter.
    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        if let text = query.get("limit") {
            guard let value = Int(text), (1...Self.maxLimit).contains(value) else {
                throw APIError.invalid("must be an integer between 1 and \(Self.maxLimit) (got \"\(text)\")", field: "limit")
            }
            limit = value
        } else {
            limit = Self.defaultLimit
        }
        if let token = query.get("continue") {
            guard let data = Data(base64Encoded: Self.padded(token)), let key = String(data: data, encoding: .utf8), !key.isEmpty else {
                throw APIError.invalid("is not a continue token from an earlier answer", field: "continue")
            }
            after = key
        } else {
            after = nil
        }
    }

    /// One page of `items` (any order in, sorted by `key` out) as the response.
    func response<T: Encodable & Sendable>(_ items: [T], key: (T) -> String, request: Request) -> PagedResponse<T> {
        let sorted = items.map { (key($0), $0) }.sorted { $0.0 < $1.0 }
        let rest = after.map { after in sorted.drop { $0.0 <= after } } ?? sorted[...]
        let page = Array(rest.prefix(limit))
        var next: String?
        if rest.count > limit, let last = page.last {
            next = Data(last.0.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        }
        return PagedResponse(items: page.map(\.1), next: next, path: request.uri.path, query: request.uri.query, limit: limit)
    }

    static func padded(_ token: String) -> String {
        let base = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        return base + String(repeating: "=", count: (4 - base.count % 4) % 4)
    }
}

/// A JSON array answer with the paging headers of ``Page``.
struct PagedResponse<T: Encodable & Sendable>: ResponseGenerator, Sendable {
    let items: [T]
    let next: String?
    let path: String
    let query: String?
    let limit: Int

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse(items).response(from: request, context: context)
        if let next {
            response.headers[Page.continueHeader] = next
            let others = (query ?? "").split(separator: "&").filter { !$0.hasPrefix("continue=") && !$0.hasPrefix("limit=") }
            let link = "\(path)?" + (others.map(String.init) + ["limit=\(limit)", "continue=\(next)"]).joined(separator: "&")
            response.headers[HTTPField.Name("Link")!] = "<\(link)>; rel=\"next\""
        }
        return response
    }
}
