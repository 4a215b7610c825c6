import CLibvirt

/// A domain lifecycle event (`VIR_DOMAIN_EVENT_ID_LIFECYCLE`).
public struct DomainEvent: Sendable, Hashable {
    public var domainName: String
    public var domainUUID: String
    public var kind: Kind
    /// The event's detail code (`virDomainEvent*DetailType`), meaning depends on ``kind``.
    public var detail: Int32

    /// `virDomainEventType`.
    public enum Kind: Sendable, Hashable {
        case defined, undefined, started, suspended, resumed, stopped, shutdown, pmSuspended, crashed
        case unknown(Int32)

        init(rawValue: Int32) {
            switch UInt32(bitPattern: rawValue) {
            case VIR_DOMAIN_EVENT_DEFINED.rawValue: self = .defined
            case VIR_DOMAIN_EVENT_UNDEFINED.rawValue: self = .undefined
            case VIR_DOMAIN_EVENT_STARTED.rawValue: self = .started
            case VIR_DOMAIN_EVENT_SUSPENDED.rawValue: self = .suspended
            case VIR_DOMAIN_EVENT_RESUMED.rawValue: self = .resumed
            case VIR_DOMAIN_EVENT_STOPPED.rawValue: self = .stopped
            case VIR_DOMAIN_EVENT_SHUTDOWN.rawValue: self = .shutdown
            case VIR_DOMAIN_EVENT_PMSUSPENDED.rawValue: self = .pmSuspended
            case VIR_DOMAIN_EVENT_CRASHED.rawValue: self = .crashed
            default: self = .unknown(rawValue)
            }
        }
    }
}

/// Receives events on libvirt's event thread and forwards them to an AsyncStream.
private final class EventSink: Sendable {
    let continuation: AsyncStream<DomainEvent>.Continuation
    init(_ continuation: AsyncStream<DomainEvent>.Continuation) { self.continuation = continuation }
}

/// Registration state shared between the registering call and the stream's termination.
private struct Registration: Sendable {
    let callbackID: Int32
}

extension Connection {
    // MARK: Events

    /// Lifecycle events of every domain on this connection, delivered by the default event loop thread.
    ///
    /// The registration lives as long as the stream is iterated; ending the iteration (or dropping the
    /// stream) deregisters the callback on a libvirt thread.
    public func domainEvents(bufferingNewest limit: Int = 1024) async throws -> AsyncStream<DomainEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: DomainEvent.self, bufferingPolicy: .bufferingNewest(limit))
        let sink = EventSink(continuation)
        let registration = try await withConnection { conn in
            let opaque = Unmanaged.passRetained(sink).toOpaque()
            let callback: virConnectDomainEventCallback = { _, dom, event, detail, opaque in
                guard let dom, let opaque else { return 0 }
                let sink = Unmanaged<EventSink>.fromOpaque(opaque).takeUnretainedValue()
                let name = virDomainGetName(dom).map { String(cString: $0) } ?? ""
                let uuid = uuidString(of: dom)
                sink.continuation.yield(
                    DomainEvent(domainName: name, domainUUID: uuid, kind: .init(rawValue: event), detail: detail)
                )
                return 0
            }
            let free: virFreeCallback = { opaque in
                guard let opaque else { return }
                Unmanaged<EventSink>.fromOpaque(opaque).release()
            }
            let generic = unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self)
            let eventID = Int32(VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue)
            let id = virConnectDomainEventRegisterAny(conn, nil, eventID, generic, opaque, free)
            if id < 0 {
                let error = lastError(function: "virConnectDomainEventRegisterAny")
                Unmanaged<EventSink>.fromOpaque(opaque).release()
                throw error
            }
            return Registration(callbackID: id)
        }
        continuation.onTermination = { [self] _ in
            let id = registration.callbackID
            Task { _ = try? await self.withConnection { conn in virConnectDomainEventDeregisterAny(conn, id) } }
        }
        return stream
    }
}
