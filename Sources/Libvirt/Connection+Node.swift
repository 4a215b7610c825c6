import CLibvirt
import Foundation

/// What `virNodeGetInfo` says about the machine behind a connection.
public struct NodeInfo: Sendable, Hashable {
    public var cpuModel: String
    /// `virNodeGetInfo`'s memory; may cover one NUMA node only. Use ``Connection/totalMemoryBytes()``.
    public var memoryBytes: Int64
    /// Active logical CPUs.
    public var cpus: Int
    public var mhz: Int
    public var numaNodes: Int
    public var sockets: Int
    public var cores: Int
    public var threads: Int
}

extension Connection {
    // MARK: Node facts

    /// `virNodeGetInfo`.
    public func nodeInfo() async throws -> NodeInfo {
        try await withConnection { conn in
            var info = virNodeInfo()
            try libvirtCall("virNodeGetInfo") { virNodeGetInfo(conn, &info) }
            let model = withUnsafeBytes(of: info.model) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            return NodeInfo(
                cpuModel: model,
                memoryBytes: Int64(info.memory) * 1024,
                cpus: Int(info.cpus),
                mhz: Int(info.mhz),
                numaNodes: Int(info.nodes),
                sockets: Int(info.sockets),
                cores: Int(info.cores),
                threads: Int(info.threads)
            )
        }
    }

    /// `virNodeGetMemoryStats` over all cells, keyed by libvirt's field names (`total`, `free`, …), in bytes.
    public func nodeMemoryStats() async throws -> [String: Int64] {
        try await withConnection { conn in
            let allCells = Int32(truncatingIfNeeded: VIR_NODE_MEMORY_STATS_ALL_CELLS.rawValue)
            var count: Int32 = 0
            try libvirtCall("virNodeGetMemoryStats") { virNodeGetMemoryStats(conn, allCells, nil, &count, 0) }
            guard count > 0 else { return [:] }
            var params = [virNodeMemoryStats](repeating: virNodeMemoryStats(), count: Int(count))
            try libvirtCall("virNodeGetMemoryStats") { virNodeGetMemoryStats(conn, allCells, &params, &count, 0) }
            var result: [String: Int64] = [:]
            for param in params.prefix(Int(count)) {
                let field = withUnsafeBytes(of: param.field) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                result[field] = Int64(clamping: param.value) * 1024
            }
            return result
        }
    }

    /// Total memory of the machine: `virNodeGetMemoryStats`' `total` over all cells, falling back to
    /// `virNodeGetInfo` where the driver does not implement memory stats.
    public func totalMemoryBytes() async throws -> Int64 {
        do {
            if let total = try await nodeMemoryStats()["total"], total > 0 { return total }
        } catch let error as LibvirtError where error.code == .noSupport {
            // Drivers without memory stats (the test driver) report the whole machine in virNodeGetInfo.
        }
        return try await nodeInfo().memoryBytes
    }

    /// `virConnectGetCapabilities` (XML).
    public func capabilities() async throws -> String {
        try await withConnection { conn in
            takeString(try libvirtCall("virConnectGetCapabilities") { virConnectGetCapabilities(conn) })
        }
    }

    /// `virConnectGetHostname`.
    public func hostname() async throws -> String {
        try await withConnection { conn in
            takeString(try libvirtCall("virConnectGetHostname") { virConnectGetHostname(conn) })
        }
    }

    /// The host UUID from the capabilities' `<host><uuid>`, where the driver gives one (the test driver does not).
    public func hostUUID() async throws -> String? {
        Connection.hostUUID(fromCapabilities: try await capabilities())
    }

    /// Extracts `<host><uuid>` from capabilities XML.
    public static func hostUUID(fromCapabilities caps: String) -> String? {
        guard let host = caps.range(of: "<host>"),
            let open = caps.range(of: "<uuid>", range: host.upperBound..<caps.endIndex),
            let close = caps.range(of: "</uuid>", range: open.upperBound..<caps.endIndex)
        else { return nil }
        let uuid = caps[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
        return uuid.isEmpty ? nil : uuid
    }

    /// The libvirt library version (`virConnectGetLibVersion`) as `major.minor.release`.
    public func libraryVersion() async throws -> String {
        try await withConnection { conn in
            var version: UInt = 0
            try libvirtCall("virConnectGetLibVersion") { virConnectGetLibVersion(conn, &version) }
            return Connection.formatVersion(version)
        }
    }

    /// The hypervisor version (`virConnectGetVersion`: QEMU's for the qemu driver) as `major.minor.release`.
    public func hypervisorVersion() async throws -> String {
        try await withConnection { conn in
            var version: UInt = 0
            try libvirtCall("virConnectGetVersion") { virConnectGetVersion(conn, &version) }
            return Connection.formatVersion(version)
        }
    }

    /// The driver name (`QEMU`, `TEST`).
    public func driverType() async throws -> String {
        try await withConnection { conn in
            String(cString: try libvirtCall("virConnectGetType") { virConnectGetType(conn) })
        }
    }

    static func formatVersion(_ version: UInt) -> String {
        "\(version / 1_000_000).\((version / 1000) % 1000).\(version % 1000)"
    }
}
