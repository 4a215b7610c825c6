import EMPModel
import EMPScheduling
import EMPStore
import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import NIOCore
import ServerGuard
import Synchronization

/// The operator console at `/`: server-rendered pages (Mustache), gauges and charts as inline SVG, a small script
/// that refreshes the page when `/console/updates` (Server-Sent Events) says something changed, and POST forms with a
/// CSRF token for the host actions. Sessions start by logging in with an operator or a viewer token.
struct ConsoleRoutes<Context: RequestContext>: Sendable {
    let store: any StateStore
    let sessions: ConsoleSessions
    let pending: PendingBoard
    let plans: PlanBoard
    let operatorTokens: [String]
    let viewerTokens: [String]
    let model: CostModel
    let planner: RebalanceSettings
    /// Cookies are marked Secure when the control plane serves TLS.
    let secure: Bool
    let now: @Sendable () -> Date
    let library: MustacheLibrary

    static var cookie: String { "emp_session" }
    /// Never bumped: the live-update streams wait on it for their pace, and shutdown ends those waits.
    static var updatesScope: String { "console/updates" }
    /// Largest form accepted (a token or a CSRF field).
    static var maxFormBytes: Int { 8 << 10 }
    /// What a form's redirect may announce (`?done=`).
    static var outcomes: Set<String> { ["Cordoned", "Uncordoned", "MaintenanceOn", "MaintenanceOff"] }

    init(
        store: any StateStore, sessions: ConsoleSessions, pending: PendingBoard, plans: PlanBoard, operatorTokens: [String],
        viewerTokens: [String],
        model: CostModel, planner: RebalanceSettings, secure: Bool, now: @escaping @Sendable () -> Date
    ) {
        self.store = store
        self.sessions = sessions
        self.pending = pending
        self.plans = plans
        self.operatorTokens = operatorTokens
        self.viewerTokens = viewerTokens
        self.model = model
        self.planner = planner
        self.secure = secure
        self.now = now
        var library = MustacheLibrary()
        for (name, text) in ConsoleTemplates.all {
            // The templates are part of the binary: a broken one is a programming error caught by every console test.
            try! library.register(text, named: name)
        }
        self.library = library
    }

    func register(on root: RecordingRoutes<Context>) {
        root.get("console/style.css") { _, _ in asset(ConsoleTemplates.style, type: "text/css; charset=utf-8") }
        root.get("console/live.js") { _, _ in asset(ConsoleTemplates.script, type: "text/javascript; charset=utf-8") }
        root.get("login") { _, _ in page("login", title: "Sign in", session: nil, LoginView(error: nil)) }
        root.post("login") { request, _ in try await login(request) }
        root.post("logout") { request, _ in
            try await act(request) { session, _ in
                sessions.end(session.id)
                var response = redirect("/login")
                response.setCookie(
                    Cookie(name: Self.cookie, value: "", maxAge: 0, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
                return response
            }
        }
        root.get("/") { request, _ in
            try await view(request, "pools", title: "Pools") { tx, _, time in
                try ConsolePages.pools(tx, model: model, pending: pending, at: time)
            }
        }
        root.get("pools/{id}") { request, context in
            let id = try context.parameters.require("id")
            return try await view(request, "pool", title: "Pool \(id)") { [planner] tx, _, time in
                try ConsolePages.pool(tx, id: id, model: model, pending: pending, plans: plans, settings: planner, at: time)
            }
        }
        root.get("evms/{id}") { request, context in
            let id = try context.parameters.require("id")
            return try await view(request, "evm", title: "EVM \(id)") { tx, _, _ in try ConsolePages.evm(tx, id: id) }
        }
        root.get("hosts/{id}") { request, context in
            let id = try context.parameters.require("id")
            return try await view(request, "host", title: "Host \(id)") { tx, session, time in
                try ConsolePages.host(tx, id: id, session: session, at: time)
            }
        }
        root.get("events") { request, _ in
            let query = request.uri.queryParameters
            let (kind, id, reason) = (query.get("kind"), query.get("id"), query.get("reason"))
            return try await view(request, "events", title: "Events") { tx, _, _ in
                try ConsolePages.events(tx, kind: kind, id: id, reason: reason)
            }
        }
        root.get("savings") { request, _ in
            try await view(request, "savings", title: "Savings") { tx, _, time in try ConsolePages.savings(tx, model: model, at: time) }
        }
        for (action, operation) in [("cordon", HostOperation.cordon), ("uncordon", .uncordon)] {
            root.post("hosts/{id}/\(action)") { request, context in
                let id = try context.parameters.require("id")
                return try await act(request) { session, _ in try await hostAction(id, operation, session: session) }
            }
        }
        root.post("hosts/{id}/maintenance") { request, context in
            let id = try context.parameters.require("id")
            return try await act(request) { session, form in
                guard let enabled = form["enabled"], enabled == "true" || enabled == "false" else {
                    return message(.badRequest, "The form's field \"enabled\" must be true or false.", session: session)
                }
                return try await hostAction(id, .maintenance(enabled == "true"), session: session)
            }
        }
        root.get("console/updates") { request, _ in updates(request) }
    }

    // MARK: Pages

    struct LoginView: Sendable { let error: String? }

    struct MessageView: Sendable {
        let heading: String
        let text: String
        let back: String
        let backLabel: String
    }

    /// A page for a signed-in session; without one, the login page (303).
    private func view<Page: Sendable>(
        _ request: Request, _ template: String, title: String,
        _ read: @escaping @Sendable (any StoreReading, ConsoleSessions.Session, Date) throws -> Page?
    ) async throws -> Response {
        guard let session = session(request) else { return redirect("/login") }
        let time = now()
        guard let data = try await store.read({ try read($0, session, time) }) else {
            return page(
                "login", title: "Not found", session: session, LoginView(error: nil), status: .notFound, flash: "\(title): not found")
        }
        // Only the console's own outcomes: a crafted link cannot make the page say something else.
        let flash = request.uri.queryParameters.get("done").flatMap { Self.outcomes.contains($0) ? "Done: \($0)." : nil }
        return page(template, title: title, session: session, data, flash: flash)
    }

    /// What the layout needs besides the page.
    struct Layout: Sendable {
        let title: String
        let page: String
        let body: String
        let signedIn: Bool
        let role: String
        let csrf: String
        let flash: String?
    }

    private func page(
        _ template: String, title: String, session: ConsoleSessions.Session?, _ data: Any, status: HTTPResponse.Status = .ok,
        flash: String? = nil
    ) -> Response {
        let body = library.render(data, withTemplate: template) ?? ""
        let layout = Layout(
            title: title, page: template, body: body, signedIn: session != nil, role: session?.role.rawValue ?? "",
            csrf: session?.csrf ?? "",
            flash: flash)
        return html(library.render(layout, withTemplate: "layout") ?? "", status: status)
    }

    private func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        var headers = Self.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// No framing, no inline script, no foreign origin; pages are never cached (they carry CSRF tokens).
    static var securityHeaders: HTTPFields {
        [
            .contentSecurityPolicy:
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
            HTTPField.Name("X-Frame-Options")!: "DENY", .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "same-origin",
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        ]
    }

    private func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    private func redirect(_ location: String) -> Response {
        var headers = Self.securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// A refusal: without a session the login form with the reason (sign in again); with one, the reason and a way back.
    private func message(_ status: HTTPResponse.Status, _ text: String, session: ConsoleSessions.Session? = nil) -> Response {
        guard let session else { return page("login", title: "Sign in", session: nil, LoginView(error: text), status: status) }
        return page(
            "message", title: "Refused", session: session,
            MessageView(heading: status == .notFound ? "Not found" : "Refused", text: text, back: "/", backLabel: "Back to the pools"),
            status: status)
    }

    // MARK: Sessions

    private func session(_ request: Request) -> ConsoleSessions.Session? {
        sessions.session(request.cookies[Self.cookie]?.value)
    }

    private func login(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        let token = form["token"] ?? ""
        let role: ConsoleSessions.Role? =
            operatorTokens.contains(where: { Secrets.constantTimeEqual($0, token) })
            ? .operator : viewerTokens.contains(where: { Secrets.constantTimeEqual($0, token) }) ? .viewer : nil
        guard !token.isEmpty, let role else {
            return page(
                "login", title: "Sign in", session: nil,
                LoginView(error: "That token is not an operator or viewer token of this control plane."),
                status: .unauthorized)
        }
        let session = sessions.start(role)
        var response = redirect("/")
        response.setCookie(
            Cookie(
                name: Self.cookie, value: session.id, maxAge: Int(sessions.lifetime), path: "/", secure: secure, httpOnly: true,
                sameSite: .strict))
        return response
    }

    /// A form that changes something: needs a live operator session and the session's CSRF token, else nothing changes.
    private func act(
        _ request: Request, _ body: @Sendable (ConsoleSessions.Session, [String: String]) async throws -> Response
    ) async throws -> Response {
        guard let session = session(request) else {
            return message(.unauthorized, "Your session is missing or expired: sign in again. Nothing was changed.")
        }
        let form = try await Self.form(request)
        guard let presented = form["csrf"], Secrets.constantTimeEqual(presented, session.csrf) else {
            return message(
                .forbidden, "The form's CSRF token is missing or wrong: reload the page and try again. Nothing was changed.",
                session: session)
        }
        guard session.role == .operator || request.uri.path == "/logout" else {
            return message(.forbidden, "Viewers can look but not change anything. Nothing was changed.", session: session)
        }
        return try await body(session, form)
    }

    private func hostAction(_ id: String, _ operation: HostOperation, session: ConsoleSessions.Session) async throws -> Response {
        let time = now()
        do {
            _ = try await store.write { try $0.apply(operation, toHost: id, at: time) }
        } catch let error as DomainError {
            return message(error.code == .notFound ? .notFound : .conflict, error.message, session: session)
        }
        let done = operation.reason.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        return redirect("/hosts/\(id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)?done=\(done)")
    }

    /// An `application/x-www-form-urlencoded` body as fields (Hummingbird's decoder); an unreadable one is empty.
    static func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: maxFormBytes)
        return (try? URLEncodedFormDecoder().decode([String: String].self, from: String(buffer: buffer))) ?? [:]
    }

    // MARK: Live updates

    /// Server-Sent Events: the newest event's id at once, then whenever it changes (checked every 2 s), and a
    /// message every 30 s regardless (usage figures change without events). Ends on shutdown or when the session ends.
    private func updates(_ request: Request) -> Response {
        guard let session = session(request) else { return message(.unauthorized, "Sign in to receive updates.") }
        var headers = Self.securityHeaders
        headers[.contentType] = "text/event-stream"
        let store = store
        let sessions = sessions
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                var last: Int64 = -1
                var quiet = 0
                try await writer.write(ByteBuffer(string: "retry: 5000\n\n"))
                while !sessions.closing.load(ordering: .relaxed), sessions.session(session.id) != nil {
                    let newest = try await store.read { try $0.events(EventFilter(limit: 1)).first?.id ?? 0 }
                    if newest != last || quiet >= 15 {
                        try await writer.write(ByteBuffer(string: "data: \(newest)\n\n"))
                        last = newest
                        quiet = 0
                    }
                    // The store's clock paces the stream; shutdown ends the wait at once (``ControlPlaneService``).
                    _ = try await store.waitForRevision(Self.updatesScope, differentFrom: 0, timeout: .seconds(2))
                    quiet += 1
                }
                try await writer.finish(nil)
            })
    }
}
