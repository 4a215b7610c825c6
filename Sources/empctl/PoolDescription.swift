import EMPModel
import EMPScheduling
import Foundation

/// `empctl pool show`: a pool as an operator reads it, with the floor now and each schedule's next start and end
/// in its own time zone and in UTC.
struct PoolDescription {
    let pool: Pool
    let now: Date

    init(_ pool: Pool, at now: Date) {
        self.pool = pool
        self.now = now
    }

    var text: String {
        let policy = pool.policy
        var lines = [
            "pool/\(pool.id)\(pool.cluster.isEmpty ? "" : "  cluster \(pool.cluster)")",
            "shape:      \(pool.shape.resources)\(pool.shape.image.isEmpty ? "" : ", image \(pool.shape.image)")",
            "overcommit: CPU ×\(policy.cpuOvercommit), memory ×\(policy.memoryOvercommit); high watermark \(Int(policy.highWatermark * 100))%; \(policy.placement.rawValue)",
            "EVMs:       \(policy.minEVMs) to \(policy.maxEVMs); hosts \(policy.minHosts) to \(policy.maxHosts)",
        ]
        if let headroom = policy.headroom { lines.append("headroom:   \(headroom)") }
        lines.append("warm:       " + (policy.warm.map { "\($0.count) \($0.mode.rawValue)" } ?? "none"))
        let floor = CapacityCalendar.floor(policy, at: now)
        let active = floor.active.isEmpty ? "" : " (schedules \(floor.active.joined(separator: ", ")) active)"
        lines.append("floor now:  \(floor.minEVMs) EVMs, \(floor.warm) warm\(active)")
        if let kubelet = pool.kubelet {
            lines.append("kubelet:    joins \(kubelet.apiServer) with token \(kubelet.bootstrapToken)")
        }
        let schedules = policy.schedules ?? []
        guard !schedules.isEmpty else { return lines.joined(separator: "\n") }
        lines.append("schedules:")
        var rows = [["NAME", "CRON", "TIME ZONE", "FOR", "MIN", "WARM", "STATE", "NEXT START (ZONE)", "NEXT START (UTC)", "ENDS (UTC)"]]
        for schedule in schedules {
            let window = CapacityCalendar.activeWindow(of: schedule, at: now)
            let next = CapacityCalendar.nextActivation(of: schedule, after: now)
            let zone = schedule.zone ?? TimeZone(identifier: "UTC")!
            let seconds = Double(schedule.seconds ?? 0)
            rows.append([
                schedule.name, schedule.cron, schedule.timeZone, schedule.duration, schedule.minEVMs.map(String.init) ?? "-",
                schedule.warm.map(String.init) ?? "-", window == nil ? "idle" : "active",
                next.map { Self.format($0, in: zone) } ?? "never",
                next.map { Self.format($0, in: TimeZone(identifier: "UTC")!) } ?? "never",
                (window?.end ?? next?.addingTimeInterval(seconds)).map { Self.format($0, in: TimeZone(identifier: "UTC")!) } ?? "-",
            ])
        }
        lines.append(Table.render(rows))
        return lines.joined(separator: "\n")
    }

    /// `2026-12-01 08:45 IST`.
    static func format(_ date: Date, in zone: TimeZone) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: date)
    }
}
