import AsyncHTTPClient
import Foundation
import Kube
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Calls the registered mutating webhooks as the API server does: AdmissionReview v1 over HTTPS (verified with the
/// configuration's caBundle), in name order, honouring rules, namespaceSelector, objectSelector, timeoutSeconds and
/// failurePolicy, and applying the JSONPatch each returns.
final class SimAdmission: Sendable {
    let store: SimStore
    let options: KubeSim.Options
    let logger: Logger
    private let clients = NIOLockedValueBox<[Data: HTTPClient]>([:])

    init(store: SimStore, options: KubeSim.Options, logger: Logger) {
        self.store = store
        self.options = options
        self.logger = logger
    }

    func shutdown() async {
        let all = clients.withLockedValue { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }

    func admit(
        _ resource: SimResource, operation: String, object: JSONObject, old: JSONObject?, user: SimUser, api: SimAPI
    ) async throws -> JSONObject {
        var current = object
        let configurations = store.list(SimResource.webhooks.key, namespace: nil).items.map {
            MutatingWebhookConfiguration(object: $0.object)
        }
        let namespaceLabels = object.namespace.flatMap { store.get(SimResource.namespaces.key, namespace: nil, name: $0)?.labels } ?? [:]
        for configuration in configurations {
            for webhook in configuration.webhooks {
                let type = resource.type
                guard
                    webhook.rules.contains(where: {
                        $0.matches(operation: operation, group: type.group, version: type.version, resource: type.plural)
                    }),
                    !type.namespaced || webhook.namespaceSelector.matches(namespaceLabels),
                    webhook.objectSelector.matches(current.labels)
                else { continue }
                do {
                    current = try await call(webhook, resource: resource, operation: operation, object: current, old: old, user: user)
                } catch let error as SimError {
                    throw error
                } catch {
                    guard webhook.failurePolicy == "Ignore" else {
                        throw SimError.internalError("failed calling webhook \"\(webhook.name)\": \(error)")
                    }
                    logger.warning("webhook failed; failurePolicy Ignore", metadata: ["webhook": "\(webhook.name)", "error": "\(error)"])
                }
            }
        }
        return current
    }

    private func call(
        _ webhook: MutatingWebhookConfiguration.Webhook, resource: SimResource, operation: String, object: JSONObject,
        old: JSONObject?, user: SimUser
    ) async throws -> JSONObject {
        let url = try endpoint(webhook)
        let uid = UUID().uuidString.lowercased()
        let type = resource.type
        let kind = JSONValue.object(["group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind)])
        let resourceValue = JSONValue.object([
            "group": .string(type.group), "version": .string(type.version), "resource": .string(type.plural),
        ])
        var request: JSONObject = [
            "uid": .string(uid), "kind": kind, "resource": resourceValue, "requestKind": kind, "requestResource": resourceValue,
            "name": .string(object.name), "operation": .string(operation),
            "userInfo": .object(["username": .string(user.name)]), "object": .object(object),
            "oldObject": old.map(JSONValue.object) ?? .null,
            "dryRun": .bool(false),
            "options": .object(["kind": .string("CreateOptions"), "apiVersion": .string("meta.k8s.io/v1")]),
        ]
        if let namespace = object.namespace { request["namespace"] = .string(namespace) }
        let review: JSONValue = .object([
            "apiVersion": .string(AdmissionReview.apiVersion), "kind": .string("AdmissionReview"), "request": .object(request),
        ])
        var http = HTTPClientRequest(url: url)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.headers.add(name: "Accept", value: "application/json")
        http.body = .bytes(ByteBuffer(data: try KubeJSON.encode(review)))
        let timeout = Int64(min(30, max(1, webhook.timeoutSeconds)))
        let response = try await client(caBundle: webhook.caBundle).execute(http, timeout: .seconds(timeout))
        let data = Data(buffer: try await response.body.collect(upTo: 8 << 20))
        guard response.status == .ok else { throw AdmissionCallError("webhook answered HTTP \(response.status.code)") }
        guard let answer = try? JSONDecoder().decode(AdmissionReview.self, from: data), let result = answer.response else {
            throw AdmissionCallError("webhook response is not an AdmissionReview")
        }
        guard result.uid == uid else { throw AdmissionCallError("expected response.uid=\"\(uid)\", got \"\(result.uid)\"") }
        guard result.allowed else {
            let code = result.object["status"]?["code"]?.intValue.map(Int.init) ?? 403
            throw SimError(
                code: code, reason: code == 403 ? "Forbidden" : "BadRequest",
                message: "admission webhook \"\(webhook.name)\" denied the request: \(result.message ?? "without explanation")")
        }
        guard let patch = result.patch else { return object }
        guard result.patchType == "JSONPatch" else { throw AdmissionCallError("unsupported patchType \(result.patchType ?? "nil")") }
        guard let patched = try JSONValue.object(object).jsonPatched(with: patch).objectValue else {
            throw AdmissionCallError("the patch turned the object into a non-object")
        }
        return patched
    }

    private func endpoint(_ webhook: MutatingWebhookConfiguration.Webhook) throws -> String {
        if let url = webhook.url { return url }
        if let service = webhook.service, let name = service["name"]?.stringValue, let namespace = service["namespace"]?.stringValue {
            guard let address = options.serviceEndpoints["\(namespace)/\(name)"] else {
                throw AdmissionCallError("service \(namespace)/\(name) has no endpoint in KubeSim (Options.serviceEndpoints)")
            }
            return "https://\(address)\(service["path"]?.stringValue ?? "/")"
        }
        throw AdmissionCallError("webhook \(webhook.name) has neither clientConfig.url nor clientConfig.service")
    }

    private func client(caBundle: Data?) throws -> HTTPClient {
        let key = caBundle ?? Data()
        if let existing = clients.withLockedValue({ $0[key] }) { return existing }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caBundle { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caBundle))) }
        let client = HTTPClient(eventLoopGroup: NIOSingletons.posixEventLoopGroup, configuration: .init(tlsConfiguration: tls))
        let winner = clients.withLockedValue { clients in
            if let existing = clients[key] { return existing }
            clients[key] = client
            return client
        }
        if winner !== client { Task { try? await client.shutdown() } }
        return winner
    }
}

/// A webhook could not be called or answered badly (its failurePolicy decides what happens).
struct AdmissionCallError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
