import CLibvirt

/// One libvirt domain (an EVM on its host): lifecycle, facts, XML and migration.
///
/// - Note: Thread-safe; it keeps its ``Connection`` alive. Name and UUID are read once when the handle is made.
public final class Domain: Sendable {
    public let connection: Connection
    /// The domain name (the EVM id for EMP's domains).
    public let name: String
    /// The domain UUID, lowercase with dashes.
    public let uuid: String
    let handle: Handle

    /// Wraps a `virDomainPtr` we own one reference to. Call on a libvirt thread.
    init(owning pointer: OpaquePointer, connection: Connection) {
        self.handle = Handle(raw: pointer)
        self.connection = connection
        self.name = virDomainGetName(pointer).map { String(cString: $0) } ?? ""
        self.uuid = uuidString(of: pointer)
    }

    deinit { _ = virDomainFree(handle.raw) }

    /// Runs `body` on the libvirt thread pool with this domain's pointer.
    func withDomain<T: Sendable>(_ body: @escaping @Sendable (OpaquePointer) throws -> T) async throws -> T {
        let handle = self.handle
        // The connection's withConnection keeps the connection referenced while the domain call runs.
        return try await connection.withConnection { _ in
            try withExtendedLifetime(self) { try body(handle.raw) }
        }
    }

    // MARK: Lifecycle

    /// `virDomainCreate`: boots a defined domain.
    public func start() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainCreate") { virDomainCreate(dom) } }
    }

    /// `virDomainShutdown`: asks the guest to power off (ACPI); returns at once.
    public func shutdown() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainShutdown") { virDomainShutdown(dom) } }
    }

    /// `virDomainSuspend`: stops the guest's vCPUs; its memory stays resident and its devices keep their state.
    public func suspend() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainSuspend") { virDomainSuspend(dom) } }
    }

    /// `virDomainResume`: runs a suspended guest's vCPUs again from where they stopped.
    public func resume() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainResume") { virDomainResume(dom) } }
    }

    /// `virDomainManagedSave`: writes the guest's memory and device state to a file libvirt manages and stops the
    /// domain; the next ``start()`` restores it from there instead of booting.
    public func managedSave() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainManagedSave") { virDomainManagedSave(dom, 0) } }
    }

    /// `virDomainHasManagedSaveImage`: true when a ``managedSave()`` image waits to be restored.
    public func hasManagedSaveImage() async throws -> Bool {
        try await withDomain { dom in try libvirtCall("virDomainHasManagedSaveImage") { virDomainHasManagedSaveImage(dom, 0) } == 1 }
    }

    /// `virDomainDestroy`: stops the domain at once (power cut).
    public func destroy() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainDestroy") { virDomainDestroy(dom) } }
    }

    /// `virDomainUndefineFlags`: removes the persistent definition (and managed save, snapshot and NVRAM metadata).
    public func undefine() async throws {
        let flags =
            VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
            | VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        let basic = VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue
        try await withDomain { dom in
            if virDomainUndefineFlags(dom, flags) == 0 { return }
            let error = lastError(function: "virDomainUndefineFlags")
            // Drivers without NVRAM or checkpoints (the test driver) refuse those flags; retry without them.
            guard error.code == .invalidArgument else { throw error }
            _ = try libvirtCall("virDomainUndefineFlags") { virDomainUndefineFlags(dom, basic) }
        }
    }

    // MARK: Facts

    /// `virDomainGetInfo`.
    public func info() async throws -> DomainInfo {
        try await withDomain { dom in
            var info = virDomainInfo()
            try libvirtCall("virDomainGetInfo") { virDomainGetInfo(dom, &info) }
            return DomainInfo(
                state: DomainState(rawValue: Int32(info.state)),
                maxMemoryBytes: Int64(info.maxMem) * 1024,
                memoryBytes: Int64(info.memory) * 1024,
                vcpus: Int(info.nrVirtCpu),
                cpuTimeNanoseconds: UInt64(info.cpuTime)
            )
        }
    }

    /// `virDomainGetState`.
    public func state() async throws -> DomainState {
        try await withDomain { dom in
            var state: Int32 = 0
            var reason: Int32 = 0
            try libvirtCall("virDomainGetState") { virDomainGetState(dom, &state, &reason, 0) }
            return DomainState(rawValue: state)
        }
    }

    /// `virDomainIsActive`.
    public func isActive() async throws -> Bool {
        try await withDomain { dom in try libvirtCall("virDomainIsActive") { virDomainIsActive(dom) } == 1 }
    }

    /// `virDomainIsPersistent`.
    public func isPersistent() async throws -> Bool {
        try await withDomain { dom in try libvirtCall("virDomainIsPersistent") { virDomainIsPersistent(dom) } == 1 }
    }

    /// `virDomainGetXMLDesc`; pass ``XMLFlags/migratable`` for XML fit to send to a migration destination.
    public func xml(_ flags: XMLFlags = []) async throws -> String {
        try await withDomain { dom in
            takeString(try libvirtCall("virDomainGetXMLDesc") { virDomainGetXMLDesc(dom, flags.rawValue) })
        }
    }

    /// EMP's `<metadata>` element, or nil when the domain has none (a domain EMP does not manage).
    public func empMetadata() async throws -> EVMMetadata? {
        let xml: String? = try await withDomain { dom in
            let type = Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue)
            guard let pointer = virDomainGetMetadata(dom, type, EVMMetadata.namespaceURI, 0) else {
                let error = lastError(function: "virDomainGetMetadata")
                if error.code == .noDomainMetadata { return nil }
                throw error
            }
            return takeString(pointer)
        }
        return xml.flatMap { EVMMetadata(elementXML: $0, namespaced: false) }
    }
}

/// Flags for ``Domain/xml(_:)`` (`virDomainXMLFlags`).
public struct XMLFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let secure = XMLFlags(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
    public static let inactive = XMLFlags(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
    public static let updateCPU = XMLFlags(rawValue: VIR_DOMAIN_XML_UPDATE_CPU.rawValue)
    /// `VIR_DOMAIN_XML_MIGRATABLE`: what a migration destination accepts.
    public static let migratable = XMLFlags(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
}

/// `virDomainState`.
public enum DomainState: Sendable, Hashable, CustomStringConvertible {
    case noState, running, blocked, paused, shutdown, shutoff, crashed, pmSuspended
    case unknown(Int32)

    init(rawValue: Int32) {
        switch UInt32(bitPattern: rawValue) {
        case VIR_DOMAIN_NOSTATE.rawValue: self = .noState
        case VIR_DOMAIN_RUNNING.rawValue: self = .running
        case VIR_DOMAIN_BLOCKED.rawValue: self = .blocked
        case VIR_DOMAIN_PAUSED.rawValue: self = .paused
        case VIR_DOMAIN_SHUTDOWN.rawValue: self = .shutdown
        case VIR_DOMAIN_SHUTOFF.rawValue: self = .shutoff
        case VIR_DOMAIN_CRASHED.rawValue: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED.rawValue: self = .pmSuspended
        default: self = .unknown(rawValue)
        }
    }

    /// True for states in which the domain has a running QEMU process.
    public var isActive: Bool {
        switch self {
        case .running, .blocked, .paused, .shutdown, .pmSuspended: true
        case .noState, .shutoff, .crashed, .unknown: false
        }
    }

    public var description: String {
        switch self {
        case .noState: "nostate"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shutdown: "shutdown"
        case .shutoff: "shutoff"
        case .crashed: "crashed"
        case .pmSuspended: "pmsuspended"
        case .unknown(let value): "unknown(\(value))"
        }
    }
}

/// `virDomainInfo`, in bytes and nanoseconds.
public struct DomainInfo: Sendable, Hashable {
    public var state: DomainState
    public var maxMemoryBytes: Int64
    public var memoryBytes: Int64
    public var vcpus: Int
    public var cpuTimeNanoseconds: UInt64
}
