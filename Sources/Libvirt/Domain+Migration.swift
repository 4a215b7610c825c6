import CLibvirt

/// Flags for ``Domain/migrate(to:parameters:flags:)`` (`virDomainMigrateFlags`).
public struct MigrationFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let live = MigrationFlags(rawValue: VIR_MIGRATE_LIVE.rawValue)
    public static let peerToPeer = MigrationFlags(rawValue: VIR_MIGRATE_PEER2PEER.rawValue)
    public static let tunnelled = MigrationFlags(rawValue: VIR_MIGRATE_TUNNELLED.rawValue)
    public static let persistDestination = MigrationFlags(rawValue: VIR_MIGRATE_PERSIST_DEST.rawValue)
    public static let undefineSource = MigrationFlags(rawValue: VIR_MIGRATE_UNDEFINE_SOURCE.rawValue)
    public static let paused = MigrationFlags(rawValue: VIR_MIGRATE_PAUSED.rawValue)
    public static let unsafe = MigrationFlags(rawValue: VIR_MIGRATE_UNSAFE.rawValue)
    public static let offline = MigrationFlags(rawValue: VIR_MIGRATE_OFFLINE.rawValue)
    public static let compressed = MigrationFlags(rawValue: VIR_MIGRATE_COMPRESSED.rawValue)
    public static let abortOnError = MigrationFlags(rawValue: VIR_MIGRATE_ABORT_ON_ERROR.rawValue)
    public static let autoConverge = MigrationFlags(rawValue: VIR_MIGRATE_AUTO_CONVERGE.rawValue)
    /// Allows ``Domain/startPostCopy()`` during the migration.
    public static let postCopy = MigrationFlags(rawValue: VIR_MIGRATE_POSTCOPY.rawValue)

    /// EMP's default for EVMs: live, peer-to-peer, persisted on the destination, auto-converge. Not
    /// ``undefineSource``: libvirt drops the finished job's statistics with the source definition, so the agent
    /// reads them first and undefines the source itself.
    public static let evmLive: MigrationFlags = [
        .live, .peerToPeer, .persistDestination, .autoConverge, .abortOnError,
    ]
}

/// Typed `VIR_MIGRATE_PARAM_*` values; nil fields are not sent.
public struct MigrationParameters: Sendable, Hashable {
    /// `VIR_MIGRATE_PARAM_DEST_XML`: destination-specific XML from the running domain (`XMLFlags.migratable`).
    public var destinationXML: String?
    /// `VIR_MIGRATE_PARAM_PERSIST_XML`: XML persisted on the destination.
    public var persistXML: String?
    /// `VIR_MIGRATE_PARAM_URI`: where the migration stream connects (`tcp://10.250.0.2`).
    public var migrationURI: String?
    /// `VIR_MIGRATE_PARAM_DEST_NAME`.
    public var destinationName: String?
    /// `VIR_MIGRATE_PARAM_BANDWIDTH`, MiB/s.
    public var bandwidthMiBPerSecond: UInt64?
    /// `VIR_MIGRATE_PARAM_LISTEN_ADDRESS`.
    public var listenAddress: String?
    /// `VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL`, percent.
    public var autoConvergeInitial: Int32?

    public init(
        destinationXML: String? = nil,
        persistXML: String? = nil,
        migrationURI: String? = nil,
        destinationName: String? = nil,
        bandwidthMiBPerSecond: UInt64? = nil,
        listenAddress: String? = nil,
        autoConvergeInitial: Int32? = nil
    ) {
        self.destinationXML = destinationXML
        self.persistXML = persistXML
        self.migrationURI = migrationURI
        self.destinationName = destinationName
        self.bandwidthMiBPerSecond = bandwidthMiBPerSecond
        self.listenAddress = listenAddress
        self.autoConvergeInitial = autoConvergeInitial
    }

    func makeList() throws -> TypedParameterList {
        let list = TypedParameterList()
        if let destinationXML { try list.add(VIR_MIGRATE_PARAM_DEST_XML, string: destinationXML) }
        if let persistXML { try list.add(VIR_MIGRATE_PARAM_PERSIST_XML, string: persistXML) }
        if let migrationURI { try list.add(VIR_MIGRATE_PARAM_URI, string: migrationURI) }
        if let destinationName { try list.add(VIR_MIGRATE_PARAM_DEST_NAME, string: destinationName) }
        if let bandwidthMiBPerSecond { try list.add(VIR_MIGRATE_PARAM_BANDWIDTH, uint64: bandwidthMiBPerSecond) }
        if let listenAddress { try list.add(VIR_MIGRATE_PARAM_LISTEN_ADDRESS, string: listenAddress) }
        if let autoConvergeInitial { try list.add(VIR_MIGRATE_PARAM_AUTO_CONVERGE_INITIAL, int32: autoConvergeInitial) }
        return list
    }
}

/// `virDomainGetJobStats`, typed; nil where libvirt did not report the field.
public struct JobStats: Sendable, Hashable {
    public var type: JobType
    public var operation: Int?
    public var elapsedMilliseconds: Int64?
    public var dataTotalBytes: Int64?
    public var dataProcessedBytes: Int64?
    public var dataRemainingBytes: Int64?
    public var memoryTotalBytes: Int64?
    public var memoryProcessedBytes: Int64?
    public var memoryRemainingBytes: Int64?
    /// Pages dirtied per second (`memory_dirty_rate`).
    public var memoryDirtyRatePagesPerSecond: Int64?
    public var memoryIteration: Int64?
    public var memoryPageSize: Int64?
    /// Guest downtime of a completed live migration.
    public var downtimeMilliseconds: Int64?
    public var raw: [String: TypedValue]

    init(type: Int32, fields: [String: TypedValue]) {
        self.type = JobType(rawValue: type)
        raw = fields
        operation = fields[VIR_DOMAIN_JOB_OPERATION]?.int64.map { Int($0) }
        elapsedMilliseconds = fields[VIR_DOMAIN_JOB_TIME_ELAPSED]?.int64
        dataTotalBytes = fields[VIR_DOMAIN_JOB_DATA_TOTAL]?.int64
        dataProcessedBytes = fields[VIR_DOMAIN_JOB_DATA_PROCESSED]?.int64
        dataRemainingBytes = fields[VIR_DOMAIN_JOB_DATA_REMAINING]?.int64
        memoryTotalBytes = fields[VIR_DOMAIN_JOB_MEMORY_TOTAL]?.int64
        memoryProcessedBytes = fields[VIR_DOMAIN_JOB_MEMORY_PROCESSED]?.int64
        memoryRemainingBytes = fields[VIR_DOMAIN_JOB_MEMORY_REMAINING]?.int64
        memoryDirtyRatePagesPerSecond = fields[VIR_DOMAIN_JOB_MEMORY_DIRTY_RATE]?.int64
        memoryIteration = fields[VIR_DOMAIN_JOB_MEMORY_ITERATION]?.int64
        memoryPageSize = fields[VIR_DOMAIN_JOB_MEMORY_PAGE_SIZE]?.int64
        downtimeMilliseconds = fields[VIR_DOMAIN_JOB_DOWNTIME]?.int64
    }
}

/// `virDomainJobType`.
public enum JobType: Sendable, Hashable {
    case none, bounded, unbounded, completed, failed, cancelled
    case unknown(Int32)

    init(rawValue: Int32) {
        switch UInt32(bitPattern: rawValue) {
        case VIR_DOMAIN_JOB_NONE.rawValue: self = .none
        case VIR_DOMAIN_JOB_BOUNDED.rawValue: self = .bounded
        case VIR_DOMAIN_JOB_UNBOUNDED.rawValue: self = .unbounded
        case VIR_DOMAIN_JOB_COMPLETED.rawValue: self = .completed
        case VIR_DOMAIN_JOB_FAILED.rawValue: self = .failed
        case VIR_DOMAIN_JOB_CANCELLED.rawValue: self = .cancelled
        default: self = .unknown(rawValue)
        }
    }
}

extension Domain {
    // MARK: Migration

    /// `virDomainMigrateToURI3`: migrates to the libvirt daemon at `destinationURI` (peer-to-peer when
    /// `flags` has ``MigrationFlags/peerToPeer``). Blocks a libvirt thread until the job ends; read progress
    /// meanwhile with ``jobStats(completed:)`` and cancel with ``abortJob()``.
    public func migrate(
        to destinationURI: String,
        parameters: MigrationParameters = MigrationParameters(),
        flags: MigrationFlags = .evmLive
    ) async throws {
        try await withDomain { dom in
            let list = try parameters.makeList()
            try libvirtCall("virDomainMigrateToURI3") {
                virDomainMigrateToURI3(dom, destinationURI, list.params, UInt32(list.count), flags.rawValue)
            }
        }
    }

    /// `virDomainGetJobStats` for the running job, or with `completed` the last finished one.
    public func jobStats(completed: Bool = false) async throws -> JobStats {
        try await withDomain { dom in
            var type: Int32 = 0
            var params: UnsafeMutablePointer<virTypedParameter>? = nil
            var count: Int32 = 0
            let flags = completed ? VIR_DOMAIN_JOB_STATS_COMPLETED.rawValue : 0
            try libvirtCall("virDomainGetJobStats") { virDomainGetJobStats(dom, &type, &params, &count, flags) }
            defer { virTypedParamsFree(params, count) }
            return JobStats(type: type, fields: decodeTypedParameters(params, count: count))
        }
    }

    /// `virDomainAbortJob`: cancels the running job (a migration leaves the domain on its source).
    public func abortJob() async throws {
        try await withDomain { dom in _ = try libvirtCall("virDomainAbortJob") { virDomainAbortJob(dom) } }
    }

    /// `virDomainMigrateSetMaxSpeed`, MiB/s; also throttles a migration in flight.
    public func setMigrationMaxSpeed(mebibytesPerSecond: UInt) async throws {
        try await withDomain { dom in
            _ = try libvirtCall("virDomainMigrateSetMaxSpeed") { virDomainMigrateSetMaxSpeed(dom, mebibytesPerSecond, 0) }
        }
    }

    /// `virDomainMigrateStartPostCopy`: switches a running migration (started with ``MigrationFlags/postCopy``) to post-copy.
    public func startPostCopy() async throws {
        try await withDomain { dom in
            _ = try libvirtCall("virDomainMigrateStartPostCopy") { virDomainMigrateStartPostCopy(dom, 0) }
        }
    }
}
