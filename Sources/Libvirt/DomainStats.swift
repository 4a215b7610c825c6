import CLibvirt

/// One domain's `virConnectGetAllDomainStats` record, typed. Fields the driver did not report are nil, not zero.
public struct DomainStats: Sendable, Hashable {
    public var name: String
    public var uuid: String
    /// libvirt's id of the running domain (`virDomainGetID`), new at every start; nil when the domain is inactive.
    public var id: UInt32?
    /// `state.state`.
    public var state: DomainState?
    /// `balloon.rss`: resident memory of the QEMU process, bytes.
    public var balloonRSSBytes: Int64?
    /// `balloon.current`: memory the guest currently has, bytes.
    public var balloonCurrentBytes: Int64?
    /// `balloon.maximum`, bytes.
    public var balloonMaximumBytes: Int64?
    /// `balloon.swap_in` / `balloon.swap_out`: what the guest swapped since boot, bytes (virtio balloon statistics;
    /// nil when the guest's driver reports none).
    public var balloonSwapInBytes: Int64?
    public var balloonSwapOutBytes: Int64?
    /// `balloon.unused` / `balloon.available`: memory the guest leaves unused / could use, bytes.
    public var balloonUnusedBytes: Int64?
    public var balloonAvailableBytes: Int64?
    /// `cpu.time`: total CPU time, nanoseconds.
    public var cpuTimeNanoseconds: Int64?
    /// `vcpu.current`.
    public var vcpuCount: Int?
    /// Per vCPU (`vcpu.N.*`), indexed by N.
    public var vcpus: [VCPUStats]
    /// Every field as libvirt sent it, for what the typed view does not cover.
    public var raw: [String: TypedValue]

    /// Parses the flat `field → value` map of one record.
    public init(name: String, uuid: String, id: UInt32? = nil, fields: [String: TypedValue]) {
        self.id = id
        self.name = name
        self.uuid = uuid
        self.raw = fields
        state = fields["state.state"]?.int64.map { DomainState(rawValue: Int32(truncatingIfNeeded: $0)) }
        balloonRSSBytes = fields["balloon.rss"]?.int64.map { $0 * 1024 }
        balloonCurrentBytes = fields["balloon.current"]?.int64.map { $0 * 1024 }
        balloonMaximumBytes = fields["balloon.maximum"]?.int64.map { $0 * 1024 }
        balloonSwapInBytes = fields["balloon.swap_in"]?.int64.map { $0 * 1024 }
        balloonSwapOutBytes = fields["balloon.swap_out"]?.int64.map { $0 * 1024 }
        balloonUnusedBytes = fields["balloon.unused"]?.int64.map { $0 * 1024 }
        balloonAvailableBytes = fields["balloon.available"]?.int64.map { $0 * 1024 }
        cpuTimeNanoseconds = fields["cpu.time"]?.int64
        vcpuCount = fields["vcpu.current"]?.int64.map { Int($0) }
        let maximum = fields["vcpu.maximum"]?.int64.map { Int($0) } ?? vcpuCount ?? 0
        vcpus = (0..<max(0, maximum)).compactMap { index in
            let stats = VCPUStats(
                index: index,
                state: fields["vcpu.\(index).state"]?.int64.map { Int($0) },
                timeNanoseconds: fields["vcpu.\(index).time"]?.int64,
                waitNanoseconds: fields["vcpu.\(index).wait"]?.int64,
                delayNanoseconds: fields["vcpu.\(index).delay"]?.int64
            )
            return stats.isEmpty ? nil : stats
        }
    }
}

/// One vCPU's counters. `delayNanoseconds` is time runnable but waiting for a host CPU: the host-side steal.
public struct VCPUStats: Sendable, Hashable {
    public var index: Int
    public var state: Int?
    public var timeNanoseconds: Int64?
    public var waitNanoseconds: Int64?
    public var delayNanoseconds: Int64?

    var isEmpty: Bool { state == nil && timeNanoseconds == nil && waitNanoseconds == nil && delayNanoseconds == nil }
}

/// Groups of statistics to ask for (`virDomainStatsTypes`).
public struct DomainStatsGroups: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let state = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_STATE.rawValue)
    public static let cpuTotal = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_CPU_TOTAL.rawValue)
    public static let balloon = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_BALLOON.rawValue)
    public static let vcpu = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_VCPU.rawValue)
    public static let interface = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_INTERFACE.rawValue)
    public static let block = DomainStatsGroups(rawValue: VIR_DOMAIN_STATS_BLOCK.rawValue)
    /// What the agent reports: state, CPU, balloon (RSS) and per-vCPU times.
    public static let usage: DomainStatsGroups = [.state, .cpuTotal, .balloon, .vcpu]
}

extension Connection {
    /// `virConnectGetAllDomainStats` for every domain (active and inactive), sorted by name.
    public func allDomainStats(_ groups: DomainStatsGroups = .usage) async throws -> [DomainStats] {
        try await withConnection { conn in
            var records: UnsafeMutablePointer<UnsafeMutablePointer<virDomainStatsRecord>?>? = nil
            let count = try libvirtCall("virConnectGetAllDomainStats") {
                virConnectGetAllDomainStats(conn, groups.rawValue, &records, 0)
            }
            defer { virDomainStatsRecordListFree(records) }
            var result: [DomainStats] = []
            for index in 0..<Int(count) {
                guard let record = records?[index]?.pointee, let dom = record.dom else { continue }
                let name = virDomainGetName(dom).map { String(cString: $0) } ?? ""
                let uuid = uuidString(of: dom)
                let fields = decodeTypedParameters(record.params, count: record.nparams)
                let id = virDomainGetID(dom)
                result.append(DomainStats(name: name, uuid: uuid, id: id == UInt32.max ? nil : id, fields: fields))
            }
            return result.sorted { $0.name < $1.name }
        }
    }
}
