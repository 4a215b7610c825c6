import EMPStore
import Hummingbird
import Kube
import Logging
public import ServiceLifecycle

/// The control plane as one service: the application, and on graceful shutdown every waiting long poll answered
/// at once (with the state it has) while the HTTP server drains, so a stop takes as long as the slowest ordinary
/// request instead of the longest poll (up to a minute). Agents then re-poll, another replica or this one once back.
///
/// Hummingbird stops its server first and waits for in-flight requests before stopping the application's other
/// services, so the release is hooked on the shutdown signal itself rather than added as one of those services.
public struct ControlPlaneService: Service, CustomStringConvertible {
    let application: Application<RouterResponder<BasicRequestContext>>
    let store: any StateStore
    /// Shut down once the application has stopped (AsyncHTTPClient traps when a client is released running).
    let kube: KubeClient?
    let console: ConsoleState
    public var description: String { "ControlPlane" }

    public func run() async throws {
        do {
            try await withGracefulShutdownHandler {
                try await application.run()
            } onGracefulShutdown: {
                store.endWaits(prefix: HostRevision.scope(""))
                console.close()
                store.endWaits(prefix: ConsoleRoutes<BasicRequestContext>.updatesScope)
            }
        } catch {
            try? await kube?.shutdown()
            throw error
        }
        try await kube?.shutdown()
    }
}
