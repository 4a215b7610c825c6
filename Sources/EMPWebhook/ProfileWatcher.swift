import EMPModel
import Foundation
public import Kube
public import Logging
import Metrics
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// The profile in force, read by every admission request without I/O; written only by ``ProfileWatcher``.
public final class ProfileState: Sendable {
    private let box = NIOLockedValueBox<(profile: WebhookProfile, ready: Bool, problem: ProfileError?)>(
        (WebhookProfile.optedOut, false, nil))

    public init(_ initial: WebhookProfile = .optedOut, ready: Bool = false) {
        box.withLockedValue { $0 = (initial, ready, nil) }
    }

    public var profile: WebhookProfile { box.withLockedValue { $0.profile } }
    /// True once the ConfigMap has been read (or found absent) at least once.
    public var isReady: Bool { box.withLockedValue { $0.ready } }
    /// Why the ConfigMap in the cluster is not the profile in force, if it is not.
    public var problem: ProfileError? { box.withLockedValue { $0.problem } }

    /// Puts `profile` in force (the watcher does this; embedders may set a fixed profile).
    public func set(_ profile: WebhookProfile) { box.withLockedValue { $0 = (profile, true, nil) } }
    func reject(_ problem: ProfileError) { box.withLockedValue { $0 = ($0.profile, true, problem) } }
}

/// Follows ConfigMap `default/emp-profile-cm` with an informer and keeps ``ProfileState`` current. A malformed
/// ConfigMap keeps the last good profile and is reported three ways: a log line, the
/// `emp_webhook_profile_errors_total{key}` counter, and a Warning Event on the ConfigMap. A deleted ConfigMap
/// opts every namespace out.
public struct ProfileWatcher: Service {
    let client: KubeClient
    let state: ProfileState
    let logger: Logger

    public init(client: KubeClient, state: ProfileState, logger: Logger) {
        self.client = client
        self.state = state
        self.logger = logger
    }

    public func run() async throws {
        let informer = Informer(
            client.resources(ConfigMap.self, namespace: Profile.configMapNamespace),
            fieldSelector: "metadata.name=\(Profile.configMapName)", logger: logger)
        let events = await informer.subscribe()
        try await cancelWhenGracefulShutdown {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await informer.run() }
                group.addTask {
                    for await event in events {
                        switch event {
                        case .added(let map), .modified(let map): await apply(map)
                        case .deleted: adopt(.optedOut, reason: "ConfigMap deleted: every namespace is opted out")
                        case .synced:
                            if let map = await informer.items.first {
                                await apply(map)
                            } else {
                                adopt(
                                    .optedOut,
                                    reason: "no ConfigMap \(Profile.configMapNamespace)/\(Profile.configMapName): no namespace is opted in")
                            }
                        }
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        }
    }

    func apply(_ map: ConfigMap) async {
        do {
            adopt(try WebhookProfile.parse(map.data), reason: "ConfigMap resourceVersion \(map.metadata.resourceVersion ?? "?")")
        } catch {
            guard state.problem != error else { return }
            state.reject(error)
            logger.error("keeping the last good profile", metadata: ["key": "\(error.key)", "error": "\(error.message)"])
            Counter(label: "emp_webhook_profile_errors_total", dimensions: [("key", error.key)]).increment()
            let event = CoreEvent(
                regarding: ObjectReference(of: map), type: "Warning", reason: "InvalidProfile",
                message: "\(error.description); the last good profile stays in force", component: "emp-webhook")
            do {
                _ = try await client.resources(CoreEvent.self, namespace: Profile.configMapNamespace).create(event)
            } catch {
                logger.warning("could not record the profile event", metadata: ["error": "\(error)"])
            }
        }
    }

    func adopt(_ profile: WebhookProfile, reason: String) {
        let changed = state.profile != profile || !state.isReady || state.problem != nil
        state.set(profile)
        guard changed else { return }
        Gauge(label: "emp_webhook_profile_namespaces").record(profile.namespaces.count)
        logger.info(
            "profile in force",
            metadata: [
                "namespaces": "\(profile.namespaces.sorted())", "labels": "\(profile.labels ?? [:])", "source": "\(reason)",
            ])
    }
}

/// Logged by ServiceLifecycle at start: the name only, never the Kubernetes client's credentials.
extension ProfileWatcher: CustomStringConvertible {
    public var description: String { "ProfileWatcher" }
}
