import Foundation
import Kube
import NIOConcurrencyHelpers

/// KubeSim's etcd: objects per kind, one global resourceVersion, a bounded change log that watches resume from
/// (older versions answer 410 Gone), and the open watches.
final class SimStore: Sendable {
    enum ChangeType: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
    }

    struct Change: Sendable {
        var revision: Int64
        var resource: String
        var type: ChangeType
        var object: JSONObject
        /// The object before a modification (watch selectors need it to turn a change into ADDED/DELETED).
        var previous: JSONObject?
    }

    /// What a write does to the stored object.
    enum Write {
        case put(JSONObject)
        case delete
        case unchanged
    }

    private struct Watcher {
        var resource: String
        var continuation: AsyncStream<Change>.Continuation
    }

    private struct State {
        var revision: Int64 = 1
        var objects: [String: [String: JSONObject]] = [:]
        var log: [Change] = []
        /// Changes at or below this revision are no longer in the log.
        var compactedThrough: Int64 = 0
        var watchers: [UUID: Watcher] = [:]
    }

    private let state = NIOLockedValueBox(State())
    let logCapacity: Int

    init(logCapacity: Int = 100_000) {
        self.logCapacity = logCapacity
    }

    static func key(namespace: String?, name: String) -> String {
        namespace.map { "\($0)/\(name)" } ?? name
    }

    var revision: Int64 { state.withLockedValue { $0.revision } }

    func get(_ resource: String, namespace: String?, name: String) -> JSONObject? {
        state.withLockedValue { $0.objects[resource]?[Self.key(namespace: namespace, name: name)] }
    }

    /// Objects of a kind (in one namespace, or all), sorted by namespace and name, with the current revision.
    func list(_ resource: String, namespace: String?) -> (items: [(key: String, object: JSONObject)], revision: Int64) {
        state.withLockedValue { state in
            let all = state.objects[resource] ?? [:]
            let items = all.filter { namespace == nil || $0.value.namespace == namespace }.sorted { $0.key < $1.key }
            return (items.map { ($0.key, $0.value) }, state.revision)
        }
    }

    /// Reads the current object and writes what `body` decides, atomically; the new object gets the next
    /// resourceVersion and watchers see the change. Returns what was written (or the unchanged object).
    @discardableResult
    func write<E: Error>(
        _ resource: String, namespace: String?, name: String, _ body: (JSONObject?) throws(E) -> Write
    ) throws(E) -> JSONObject? {
        let outcome = state.withLockedValue { state -> Result<(JSONObject?, Change?), E> in
            let key = Self.key(namespace: namespace, name: name)
            let current = state.objects[resource]?[key]
            let decision: Write
            do throws(E) {
                decision = try body(current)
            } catch {
                return .failure(error)
            }
            switch decision {
            case .unchanged:
                return .success((current, nil))
            case .delete:
                guard var removed = current else { return .success((nil, nil)) }
                state.revision += 1
                removed.resourceVersion = String(state.revision)
                state.objects[resource]?[key] = nil
                let change = Change(revision: state.revision, resource: resource, type: .deleted, object: removed, previous: current)
                Self.record(change, in: &state, capacity: logCapacity)
                return .success((removed, change))
            case .put(var object):
                state.revision += 1
                object.resourceVersion = String(state.revision)
                state.objects[resource, default: [:]][key] = object
                let change = Change(
                    revision: state.revision, resource: resource, type: current == nil ? .added : .modified, object: object,
                    previous: current)
                Self.record(change, in: &state, capacity: logCapacity)
                return .success((object, change))
            }
        }
        let (result, change) = try outcome.get()
        if let change { notify(change) }
        return result
    }

    private static func record(_ change: Change, in state: inout State, capacity: Int) {
        state.log.append(change)
        if state.log.count > capacity {
            let drop = state.log.count - capacity
            state.compactedThrough = state.log[drop - 1].revision
            state.log.removeFirst(drop)
        }
    }

    private func notify(_ change: Change) {
        let targets = state.withLockedValue { $0.watchers.values.filter { $0.resource == change.resource }.map(\.continuation) }
        for continuation in targets { continuation.yield(change) }
    }

    /// Opens a watch. With `revision` nil the initial changes are synthetic ADDED events for every object; otherwise
    /// they are the logged changes after `revision`. Throws Gone when that history was compacted.
    func watch(_ resource: String, after revision: Int64?) throws(SimError) -> (initial: [Change], stream: AsyncStream<Change>, id: UUID) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Change>.makeStream()
        let outcome = state.withLockedValue { state -> Result<[Change], SimError> in
            let initial: [Change]
            if let revision {
                guard revision >= state.compactedThrough else {
                    return .failure(SimError.gone("too old resource version: \(revision) (\(state.compactedThrough + 1))"))
                }
                initial = state.log.filter { $0.revision > revision && $0.resource == resource }
            } else {
                initial = (state.objects[resource] ?? [:]).sorted { $0.key < $1.key }.map {
                    Change(revision: Int64($0.value.resourceVersion ?? "") ?? 0, resource: resource, type: .added, object: $0.value)
                }
            }
            state.watchers[id] = Watcher(resource: resource, continuation: continuation)
            return .success(initial)
        }
        let initial = try outcome.get()
        continuation.onTermination = { [weak self] _ in self?.stopWatch(id) }
        return (initial, stream, id)
    }

    func stopWatch(_ id: UUID) {
        _ = state.withLockedValue { $0.watchers.removeValue(forKey: id) }
    }

    /// Ends every open watch (server stop).
    func closeWatches() {
        let all = state.withLockedValue { state in
            defer { state.watchers = [:] }
            return state.watchers.values.map(\.continuation)
        }
        for continuation in all { continuation.finish() }
    }

    /// Forgets the change history, as etcd compaction does: watches from older versions get 410.
    func compact() {
        state.withLockedValue { state in
            state.compactedThrough = state.revision
            state.log = []
        }
    }

    /// The oldest revision a watch may resume from.
    var compactedThrough: Int64 { state.withLockedValue { $0.compactedThrough } }
}

extension JSONObject {
    var metadata: JSONObject {
        get { self["metadata"]?.objectValue ?? [:] }
        set { self["metadata"] = .object(newValue) }
    }

    var name: String { metadata["name"]?.stringValue ?? "" }
    var namespace: String? { metadata["namespace"]?.stringValue }
    var labels: [String: String] { metadata["labels"].flatMap([String: String].init(json:)) ?? [:] }
    var uid: String? { metadata["uid"]?.stringValue }

    var resourceVersion: String? {
        get { metadata["resourceVersion"]?.stringValue }
        set { metadata["resourceVersion"] = newValue.map(JSONValue.string) }
    }
}
