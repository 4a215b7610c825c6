import Foundation
import Hummingbird
import Kube
import NIOCore
import NIOFoundationCompat

extension SimAPI {
    func get(_ target: SimTarget, _ name: String, accept: String?) throws(SimError) -> Response {
        let item = try object(target, name)
        if Self.wantsTable(accept) {
            return Self.json(SimTables.table(target.resource, [item], revision: store.revision))
        }
        return Self.json(item)
    }

    func list(_ target: SimTarget, query: Query, accept: String?) throws(SimError) -> Response {
        let filter = try SimFilter(target.resource, query: query)
        let snapshot = store.list(target.resource.key, namespace: target.namespace)
        var items = snapshot.items.filter { filter.matches($0.object) }
        var revision = snapshot.revision
        if let token = query.values["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let decoded = try? JSONDecoder().decode([String].self, from: data),
                decoded.count == 2, let tokenRevision = Int64(decoded[0])
            else { throw SimError.badRequest("continue key is not valid") }
            guard tokenRevision >= store.compactedThrough else {
                throw SimError(
                    code: 410, reason: "Expired",
                    message: "The provided continue parameter is too old to display a consistent list result.")
            }
            revision = tokenRevision
            items = items.filter { $0.key > decoded[1] }
        }
        var continueToken: String?
        if let limit = query.values["limit"].flatMap(Int.init), limit > 0, items.count > limit {
            items = Array(items.prefix(limit))
            let token = [String(revision), items[items.count - 1].key]
            continueToken = (try? JSONEncoder().encode(token))?.base64EncodedString()
        }
        if Self.wantsTable(accept) {
            var table = SimTables.table(target.resource, items.map(\.object), revision: revision)
            if let continueToken { table.metadata["continue"] = .string(continueToken) }
            return Self.json(table)
        }
        var metadata: JSONObject = ["resourceVersion": .string(String(revision))]
        if let continueToken { metadata["continue"] = .string(continueToken) }
        return Self.json([
            "kind": .string("\(target.resource.type.kind)List"), "apiVersion": .string(target.resource.type.apiVersion),
            "metadata": .object(metadata),
            "items": .array(
                items.map { item in
                    var object = item.object
                    object["apiVersion"] = nil
                    object["kind"] = nil
                    return .object(object)
                }),
        ])
    }

    static func wantsTable(_ accept: String?) -> Bool {
        accept?.contains("as=Table") ?? false
    }

    /// A chunked stream of newline-separated watch events, with bookmarks when asked and 410 when too old.
    func watch(_ target: SimTarget, query: Query) throws(SimError) -> Response {
        let filter = try SimFilter(target.resource, query: query)
        let namespace = target.namespace
        var after: Int64?
        if let text = query.values["resourceVersion"], !text.isEmpty, text != "0" {
            guard let value = Int64(text) else { throw SimError.badRequest("resourceVersion \(text) is not a number") }
            after = value
        }
        let bookmarks = query.flag("allowWatchBookmarks")
        let timeout = query.values["timeoutSeconds"].flatMap(Int.init) ?? 1800
        let resource = target.resource
        let store = store
        let interval = options.bookmarkInterval
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let opened: (initial: [SimStore.Change], stream: AsyncStream<SimStore.Change>, id: UUID)
        do {
            opened = try store.watch(resource.key, after: after)
        } catch {
            // The API server answers an expired watch with a 200 stream holding one ERROR event.
            let event = try? KubeJSON.encode(JSONValue.object(["type": .string("ERROR"), "object": .object(error.status)]))
            var line = ByteBuffer(data: event ?? Data())
            line.writeString("\n")
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: line))
        }
        let body = ResponseBody { writer in
            defer { store.stopWatch(opened.id) }
            func send(_ object: JSONObject) async throws {
                var buffer = ByteBuffer(data: try KubeJSON.encode(JSONValue.object(object)))
                buffer.writeString("\n")
                try await writer.write(buffer)
            }
            for change in opened.initial {
                if let event = Self.event(change, filter: filter, namespace: namespace) { try await send(event) }
            }
            let end = ContinuousClock.now + .seconds(timeout)
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (ticks, tick) = AsyncStream<SimStore.Change?>.makeStream()
                group.addTask {
                    for await change in opened.stream { tick.yield(change) }
                    tick.finish()
                }
                group.addTask {
                    while ContinuousClock.now < end {
                        try await Task.sleep(for: min(interval, end - ContinuousClock.now))
                        tick.yield(nil)
                    }
                    tick.finish()
                }
                for await item in ticks {
                    if ContinuousClock.now >= end { break }
                    if let change = item {
                        if let event = Self.event(change, filter: filter, namespace: namespace) { try await send(event) }
                    } else if bookmarks {
                        try await send([
                            "type": .string("BOOKMARK"),
                            "object": .object([
                                "kind": .string(resource.type.kind), "apiVersion": .string(resource.type.apiVersion),
                                "metadata": .object(["resourceVersion": .string(String(store.revision))]),
                            ]),
                        ])
                    }
                }
                group.cancelAll()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The event a watcher with `filter` sees for `change`: objects moving into the selection are ADDED, out of it DELETED.
    static func event(_ change: SimStore.Change, filter: SimFilter, namespace: String?) -> JSONObject? {
        if let namespace, change.object.namespace != namespace { return nil }
        let now = filter.matches(change.object)
        let before = change.previous.map(filter.matches) ?? false
        let type: String
        switch change.type {
        case .added:
            guard now else { return nil }
            type = "ADDED"
        case .deleted:
            guard now || before else { return nil }
            type = "DELETED"
        case .modified:
            if now && before {
                type = "MODIFIED"
            } else if now {
                type = "ADDED"
            } else if before {
                type = "DELETED"
            } else {
                return nil
            }
        }
        return ["type": .string(type), "object": .object(change.object)]
    }
}

/// Label and field selectors of a list or watch.
struct SimFilter: Sendable {
    var labels: SelectorQuery
    var fields: SelectorQuery

    init(_ resource: SimResource, query: Query) throws(SimError) {
        do {
            labels = try SelectorQuery(parsing: query.values["labelSelector"] ?? "")
            fields = try SelectorQuery(parsing: query.values["fieldSelector"] ?? "")
        } catch {
            throw SimError.badRequest("unable to parse requirement: \(error)")
        }
        let allowed = Set(resource.fields + ["metadata.name", "metadata.namespace"])
        for term in fields.terms {
            switch term {
            case .equals(let key, _), .notEquals(let key, _):
                guard allowed.contains(key) else {
                    throw SimError.badRequest(
                        "\"\(key)\" is not a known field selector: only \"\(allowed.sorted().joined(separator: "\", \""))\"")
                }
            default:
                throw SimError.badRequest("field selectors support only =, == and !=")
            }
        }
    }

    /// What an absent field compares as (the API server selects on defaulted values).
    static let absent = ["spec.nodeName": "", "status.podIP": "", "spec.unschedulable": "false", "metadata.namespace": ""]

    func matches(_ object: JSONObject) -> Bool {
        let labelValues = object.labels
        let json = JSONValue.object(object)
        return labels.matches { labelValues[$0] }
            && fields.matches { key in
                guard let value = json.value(atPath: key) else { return Self.absent[key] }
                switch value {
                case .string(let text): return text
                case .bool(let flag): return flag ? "true" : "false"
                case .int(let number): return String(number)
                default: return nil
                }
            }
    }
}
