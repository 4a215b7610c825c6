import Foundation
public import Hummingbird
public import Logging
import NIOConcurrencyHelpers

/// The routes a server registered, by path pattern and method, so a request for a known path with the wrong
/// method is answered `405 Method Not Allowed` with an `Allow` header instead of `404` (RFC 9110 §15.5.6).
/// Hummingbird's router keeps its route trie to itself; ``RecordingRoutes`` fills this table as routes are added.
///
/// - Note: Thread-safe; filled while the router is built, read on every unmatched request.
public final class RouteTable: Sendable {
    private let routes = NIOLockedValueBox<[(segments: [Substring], method: HTTPRequest.Method)]>([])

    public init() {}

    func add(_ path: String, _ method: HTTPRequest.Method) {
        let segments = path.split(separator: "/")
        routes.withLockedValue { $0.append((segments, method)) }
    }

    /// The methods registered for paths that `path` matches (`{id}`, `:id` and `*` match one segment, `**` the rest).
    public func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        var found: [HTTPRequest.Method] = []
        for route in routes.withLockedValue({ $0 }) where Self.matches(route.segments, parts) && !found.contains(route.method) {
            found.append(route.method)
        }
        return found
    }

    static func matches(_ pattern: [Substring], _ parts: [Substring]) -> Bool {
        var index = 0
        for segment in pattern {
            if segment == "**" { return true }
            guard index < parts.count else { return false }
            let wildcard = segment == "*" || segment.hasPrefix(":") || (segment.hasPrefix("{") && segment.hasSuffix("}"))
            guard wildcard || segment == parts[index] else { return false }
            index += 1
        }
        return index == parts.count
    }
}

/// A route group that records every route it adds in a ``RouteTable``; use it wherever a `RouterGroup` was.
public struct RecordingRoutes<Context: RequestContext>: RouterMethods {
    let group: RouterGroup<Context>
    let prefix: String
    public let table: RouteTable

    /// Records routes under `prefix` (the group's own path) in `table`.
    public init(_ group: RouterGroup<Context>, prefix: String, table: RouteTable) {
        self.group = group
        self.prefix = prefix
        self.table = table
    }

    @discardableResult
    public func on<Responder: HTTPResponder>(_ path: RouterPath, method: HTTPRequest.Method, responder: Responder) -> Self
    where Responder.Context == Context {
        table.add("\(prefix)/\(path.description)", method)
        group.on(path, method: method, responder: responder)
        return self
    }

    public func add(middleware: any MiddlewareProtocol<Request, Response, Context>) -> Self {
        RecordingRoutes(group.add(middleware: middleware), prefix: prefix, table: table)
    }

    /// A nested group under `path`, recording into the same table.
    public func recordingGroup(_ path: String) -> RecordingRoutes<Context> {
        RecordingRoutes(group.group(RouterPath(path)), prefix: "\(prefix)/\(path)", table: table)
    }
}

/// Turns every error that leaves the router into the server's JSON error body: the router's own 404 becomes 405
/// (with `Allow`) when the path exists under another method, and errors that carry no body of their own (from
/// Hummingbird, a body too large, an unexpected failure) get one. Unexpected errors are logged at error level.
public struct ErrorBodyMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Renders `(status, code, message)` as the server's error response.
    public typealias Render = @Sendable (HTTPResponse.Status, String, String) -> Response
    /// Maps an error the middleware does not know to a status, code and message (e.g. a store failure to 503);
    /// nil leaves it as 500.
    public typealias Classify = @Sendable (any Error) -> (HTTPResponse.Status, String, String)?

    let routes: RouteTable
    let render: Render
    let classify: Classify
    let logger: Logger

    public init(routes: RouteTable, logger: Logger, classify: @escaping Classify = { _ in nil }, render: @escaping Render) {
        self.routes = routes
        self.logger = logger
        self.classify = classify
        self.render = render
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            if error.status == .notFound {
                let allowed = routes.methods(for: request.uri.path)
                if !allowed.isEmpty, !allowed.contains(request.method) {
                    var response = render(
                        .methodNotAllowed, "method_not_allowed", "\(request.method) is not allowed on \(request.uri.path)")
                    response.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                    return response
                }
                return render(.notFound, "not_found", "no route for \(request.method) \(request.uri.path)")
            }
            return render(error.status, Self.code(error.status), error.body ?? error.status.reasonPhrase)
        } catch let error as any HTTPResponseError {
            throw error
        } catch is CancellationError {
            // The server is stopping under this request (a test's or a forced stop): nothing to report.
            return render(.serviceUnavailable, "unavailable", "the server is stopping")
        } catch {
            if let (status, code, message) = classify(error) {
                logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(message)"])
                return render(status, code, message)
            }
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return render(.internalServerError, "internal", "internal error; the server log has the cause")
        }
    }

    static func code(_ status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "invalid"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 413: "too_large"
        case 503: "unavailable"
        default: status.code >= 500 ? "internal" : "error"
        }
    }
}
