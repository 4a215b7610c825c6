import Foundation
public import Logging

/// What an informer tells its subscribers.
public enum InformerEvent<T: KubeResource>: Sendable {
    case added(T)
    case modified(T)
    case deleted(T)
    /// The cache matches a fresh list (after the first list and after every relist).
    case synced
}

/// List + watch into a local cache, with events for subscribers. Survives dropped connections and API server
/// restarts (resumes from the last resourceVersion) and 410 Gone (relists, then emits the difference as events,
/// so no change is missed).
public actor Informer<T: KubeResource> {
    public let resources: Resources<T>
    let labelSelector: String?
    let fieldSelector: String?
    let watchTimeoutSeconds: Int
    let logger: Logger

    private var cache: [String: T] = [:]
    private var subscribers: [UUID: AsyncStream<InformerEvent<T>>.Continuation] = [:]
    private var syncWaiters: [UUID: CheckedContinuation<Void, Never>] = [:]
    private var synced = false
    /// Lists done (1 after start; more after 410 or a broken stream). Tests read it.
    public private(set) var lists = 0
    /// The last resourceVersion seen.
    public private(set) var resourceVersion: String?
    /// Objects added, modified or deleted so far: a reader that cached ``items`` re-reads only when this moved.
    public private(set) var changes = 0

    public init(
        _ resources: Resources<T>, labelSelector: String? = nil, fieldSelector: String? = nil, watchTimeoutSeconds: Int = 300,
        logger: Logger = Logger(label: "emp.kube.informer")
    ) {
        self.resources = resources
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.watchTimeoutSeconds = watchTimeoutSeconds
        self.logger = logger
    }

    /// The cached objects.
    public var items: [T] { Array(cache.values) }

    /// The cached object with this key (`namespace/name`, or `name` for cluster-scoped kinds).
    public func get(_ key: String) -> T? { cache[key] }

    /// Events from now on. The current cache is not replayed; read ``items`` after subscribing.
    public func subscribe() -> AsyncStream<InformerEvent<T>> {
        let id = UUID()
        let (stream, continuation) = AsyncStream<InformerEvent<T>>.makeStream()
        subscribers[id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.unsubscribe(id) } }
        return stream
    }

    private func unsubscribe(_ id: UUID) { subscribers[id] = nil }

    /// Returns once the first list has filled the cache, or when the task is cancelled (a service stopping while
    /// the API server is unreachable must not wait here forever).
    public func waitUntilSynced() async {
        if synced { return }
        let id = UUID()
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume()
                } else {
                    syncWaiters[id] = continuation
                }
            }
        } onCancel: {
            Task { await self.resumeSyncWaiter(id) }
        }
    }

    private func resumeSyncWaiter(_ id: UUID) { syncWaiters.removeValue(forKey: id)?.resume() }

    /// Runs until the task is cancelled.
    public func run() async {
        var backoff = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                if resourceVersion == nil { try await relist() }
                var options = WatchOptions(labelSelector: labelSelector, fieldSelector: fieldSelector, resourceVersion: resourceVersion)
                options.timeoutSeconds = watchTimeoutSeconds
                for try await event in resources.watch(options) {
                    apply(event)
                    backoff = .milliseconds(100)
                }
            } catch is CancellationError {
                break
            } catch let error as KubeError where error.isGone {
                logger.info("informer relists", metadata: ["resource": "\(T.resourceType)", "reason": "\(error)"])
                resourceVersion = nil
            } catch let error as KubeError where error.reason == .invalidResponse {
                // A stream we cannot read: start over from a fresh list, after a pause so a broken server is not hammered.
                logger.warning(
                    "informer relists after a bad watch stream", metadata: ["resource": "\(T.resourceType)", "error": "\(error)"])
                resourceVersion = nil
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            } catch {
                if Task.isCancelled { break }
                logger.debug("informer watch failed; resuming", metadata: ["resource": "\(T.resourceType)", "error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
        for subscriber in subscribers.values { subscriber.finish() }
    }

    private func relist() async throws {
        let list = try await resources.listAll(ListOptions(labelSelector: labelSelector, fieldSelector: fieldSelector))
        lists += 1
        var fresh: [String: T] = [:]
        for item in list.items { fresh[item.key] = item }
        for (key, old) in cache where fresh[key] == nil { emit(.deleted(old)) }
        for (key, item) in fresh.sorted(by: { $0.key < $1.key }) {
            if let old = cache[key] {
                if old.metadata.resourceVersion != item.metadata.resourceVersion { emit(.modified(item)) }
            } else {
                emit(.added(item))
            }
        }
        cache = fresh
        resourceVersion = list.resourceVersion
        emit(.synced)
        if !synced {
            synced = true
            for waiter in syncWaiters.values { waiter.resume() }
            syncWaiters = [:]
        }
    }

    private func apply(_ event: WatchEvent<T>) {
        if let version = event.object.metadata.resourceVersion { resourceVersion = version }
        let key = event.object.key
        switch event.type {
        case .bookmark:
            return
        case .added, .modified:
            let existed = cache[key] != nil
            cache[key] = event.object
            emit(existed ? .modified(event.object) : .added(event.object))
        case .deleted:
            cache[key] = nil
            emit(.deleted(event.object))
        }
    }

    private func emit(_ event: InformerEvent<T>) {
        if case .synced = event {} else { changes += 1 }
        for subscriber in subscribers.values { subscriber.yield(event) }
    }
}
