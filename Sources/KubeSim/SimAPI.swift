import EMPModel
import Foundation
import Hummingbird
import HummingbirdCore
import Kube
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOSSL

/// Request context that keeps the connection, so the handler can read the TLS client certificate.
struct SimContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    var maxUploadSize: Int { 16 << 20 }
}

/// What a request addresses: a kind, maybe a namespace, an object and a subresource.
struct SimTarget {
    var resource: SimResource
    var namespace: String?
    var name: String?
    var subresource: String?
}

/// The HTTP face of KubeSim: authentication, discovery and the REST verbs over ``SimStore``.
final class SimAPI: HTTPResponder, Sendable {
    typealias Context = SimContext

    let store: SimStore
    let options: KubeSim.Options
    let controllers: SimControllers
    let admission: SimAdmission
    let logger: Logger
    /// Canned failures for the next requests (client retry tests).
    let faults = NIOLockedValueBox<[(status: Int, retryAfter: Int?)]>([])
    let port = NIOLockedValueBox<Int>(0)

    init(store: SimStore, options: KubeSim.Options, controllers: SimControllers, admission: SimAdmission, logger: Logger) {
        self.store = store
        self.options = options
        self.controllers = controllers
        self.admission = admission
        self.logger = logger
    }

    func respond(to request: Request, context: SimContext) async throws -> Response {
        do {
            let user = try await authenticate(request, context: context)
            let path = request.uri.path
            if let fault = faults.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) {
                var headers = HTTPFields()
                if let after = fault.retryAfter { headers[.retryAfter] = String(after) }
                let reasons = [429: "TooManyRequests", 503: "ServiceUnavailable", 504: "Timeout"]
                let error = SimError(code: fault.status, reason: reasons[fault.status] ?? "InternalError", message: "injected fault")
                return Self.json(error.status, status: .init(code: fault.status), headers: headers)
            }
            if let response = try discovery(path: path, request: request) { return response }
            let target = try self.target(path)
            try authorize(user, request.method, target)
            return try await handle(request, target: target, user: user)
        } catch let error as SimError {
            return Self.json(error.status, status: .init(code: error.code))
        }
    }

    // MARK: authentication

    /// Bearer token from the configured set, or a client certificate the TLS layer verified against the sim's CA.
    func authenticate(_ request: Request, context: SimContext) async throws(SimError) -> SimUser {
        if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
            let token = String(header.dropFirst(7))
            guard let user = options.tokens[token] else { throw .unauthorized() }
            return user
        }
        if let certificate = try? await context.channel.nioSSL_peerCertificate().get() {
            let subject = certificate.description
            return SimUser(name: Self.commonName(subject) ?? "system:anonymous", readOnly: false)
        }
        throw .unauthorized()
    }

    static func commonName(_ description: String) -> String? {
        guard let range = description.range(of: "CN=") else { return nil }
        return String(description[range.upperBound...].prefix { $0 != "," && $0 != ";" && $0 != ">" && $0 != "/" })
    }

    func authorize(_ user: SimUser, _ method: HTTPRequest.Method, _ target: SimTarget) throws(SimError) {
        guard user.readOnly, method != .get else { return }
        let verb = method == .post ? "create" : method == .delete ? "delete" : method == .patch ? "patch" : "update"
        let scope = target.namespace.map { "in the namespace \"\($0)\"" } ?? "at the cluster scope"
        let what = target.name.map { "\(target.resource.key) \"\($0)\"" } ?? target.resource.key
        throw SimError(
            code: 403, reason: "Forbidden",
            message: "\(what) is forbidden: User \"\(user.name)\" cannot \(verb) resource \"\(target.resource.type.plural)\" "
                + "in API group \"\(target.resource.type.group)\" \(scope)")
    }

    // MARK: routing

    /// The built-in kinds and those the stored CustomResourceDefinitions add.
    var resources: [SimResource] {
        SimResource.all + store.list(SimResource.crds.key, namespace: nil).items.flatMap { SimResource.custom(from: $0.object) }
    }

    func find(group: String, version: String, plural: String) -> SimResource? {
        SimResource.find(group: group, version: version, plural: plural)
            ?? resources.first { $0.type.group == group && $0.type.version == version && $0.type.plural == plural }
    }

    func target(_ path: String) throws(SimError) -> SimTarget {
        var parts = path.split(separator: "/").map { $0.removingPercentEncoding ?? String($0) }
        let group: String
        let version: String
        if parts.first == "api", parts.count >= 2 {
            group = ""
            version = parts[1]
            parts.removeFirst(2)
        } else if parts.first == "apis", parts.count >= 3 {
            group = parts[1]
            version = parts[2]
            parts.removeFirst(3)
        } else {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        var namespace: String?
        if parts.count >= 3, parts[0] == "namespaces" {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        guard let plural = parts.first, let resource = find(group: group, version: version, plural: plural) else {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        if resource.type.namespaced == false, namespace != nil {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        let name = parts.count > 1 ? parts[1] : nil
        let subresource = parts.count > 2 ? parts[2] : nil
        if let subresource, !resource.subresources.contains(subresource) {
            throw SimError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        }
        return SimTarget(resource: resource, namespace: namespace, name: name, subresource: subresource)
    }

    func handle(_ request: Request, target: SimTarget, user: SimUser) async throws -> Response {
        let query = Query(request.uri)
        switch (request.method, target.name, target.subresource) {
        case (.get, nil, _):
            if query.flag("watch") { return try watch(target, query: query) }
            return try list(target, query: query, accept: request.headers[.accept])
        case (.get, let name?, "scale"):
            return Self.json(try scale(of: try object(target, name)))
        case (.get, let name?, _):
            return try get(target, name, accept: request.headers[.accept])
        case (.post, nil, _):
            return try await create(target, body: try await body(request), user: user, dryRun: query.values["dryRun"] != nil)
        case (.post, let name?, "eviction"):
            return try await evict(target, name, body: try await body(request))
        case (.post, let name?, "binding"):
            return try bind(target, name, body: try await body(request))
        case (.put, let name?, let subresource):
            return try await update(target, name, body: try await body(request), subresource: subresource)
        case (.patch, let name?, let subresource):
            let data = try await rawBody(request)
            return try await patch(target, name, data, contentType: request.headers[.contentType] ?? "", subresource: subresource)
        case (.delete, let name?, nil):
            let data = try await rawBody(request)
            let options = data.isEmpty ? [:] : (try? JSONDecoder().decode(JSONObject.self, from: data)) ?? [:]
            return try delete(target, name, options: options, query: query)
        case (.delete, nil, nil):
            return try deleteCollection(target, query: query)
        default:
            throw SimError.methodNotAllowed("the server does not allow this method on the requested resource")
        }
    }

    /// The request body, at most 16 MiB, refused (400) unless it is strict JSON within depth and size limits
    /// with no key twice in an object (the API server's JSON decoder refuses duplicate fields too).
    func rawBody(_ request: Request) async throws -> Data {
        let data = Data(buffer: try await request.body.collect(upTo: 16 << 20))
        guard !data.isEmpty else { return data }
        do {
            try JSONGuard.check(data, limits: JSONGuard.Limits(maxDepth: 64, maxElements: 500_000))
        } catch {
            throw SimError.badRequest("the request body is not acceptable JSON: \(error)")
        }
        return data
    }

    func body(_ request: Request) async throws -> JSONObject {
        if let type = request.headers[.contentType], type.contains("protobuf") || type.contains("cbor") {
            throw SimError(
                code: 415, reason: "UnsupportedMediaType",
                message:
                    "KubeSim speaks JSON only, not \(type) (kubectl's typed \"create <kind>\" commands send protobuf: use kubectl apply -f)"
            )
        }
        let data = try await rawBody(request)
        guard let value = try? JSONValue.parse(data), let object = value.objectValue else {
            throw SimError.badRequest("the body of the request was in an unknown format - accepted media types include: application/json")
        }
        return object
    }

    // MARK: responses

    static func json(_ object: JSONObject, status: HTTPResponse.Status = .ok, headers: HTTPFields = HTTPFields()) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? KubeJSON.encode(JSONValue.object(object))) ?? Data()
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    static func successStatus(_ details: JSONObject? = nil) -> JSONObject {
        var object: JSONObject = [
            "kind": .string("Status"), "apiVersion": .string("v1"), "metadata": .object([:]), "status": .string("Success"),
        ]
        if let details { object["details"] = .object(details) }
        return object
    }

    func object(_ target: SimTarget, _ name: String) throws(SimError) -> JSONObject {
        guard let object = store.get(target.resource.key, namespace: target.namespace, name: name) else {
            throw SimError.notFound(target.resource, name)
        }
        return object
    }
}

/// Who is calling, and whether they may only read (to exercise Forbidden).
public struct SimUser: Sendable, Hashable {
    public var name: String
    public var readOnly: Bool
    public init(name: String, readOnly: Bool = false) {
        self.name = name
        self.readOnly = readOnly
    }
}

/// Query parameters of a request.
struct Query {
    var values: [String: String] = [:]

    init(_ uri: URI) {
        for (key, value) in uri.queryParameters { values[String(key)] = String(value) }
    }

    func flag(_ key: String) -> Bool { values[key] == "true" || values[key] == "1" }
}
