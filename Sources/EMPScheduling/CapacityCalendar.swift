public import EMPModel
public import Foundation

/// When a pool's schedules are active and what floor they set: pure, so the autoscaler, `empctl pool show` and the
/// simulator read the same answer for the same instant.
///
/// Cron is read in the schedule's time zone, with the daylight-saving rules Kubernetes documents for CronJobs with
/// `timeZone`: a local time the clock skips (spring forward) runs once, at the first valid minute after the gap; a
/// local time the clock repeats (fall back) runs once, at its first occurrence.
public enum CapacityCalendar {
    /// The first activation of `schedule` strictly after `instant`, or nil when none within eight years (a
    /// `30 0 31 2 *` never comes) or the schedule is invalid.
    public static func nextActivation(of schedule: CapacitySchedule, after instant: Date) -> Date? {
        guard let cron = schedule.expression, let zone = schedule.zone else { return nil }
        return nextActivation(cron, in: zone, after: instant)
    }

    /// The first instant after `instant` at which `cron`, read in `zone`, fires.
    public static func nextActivation(_ cron: CronExpression, in zone: TimeZone, after instant: Date) -> Date? {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        // Local wall-clock time as if it were UTC ("naive" seconds); start one day early so that a gap or an
        // earlier offset cannot hide a candidate.
        let naiveNow = instant.timeIntervalSince1970 + Double(zone.secondsFromGMT(for: instant))
        var day = (naiveNow / 86_400).rounded(.down) * 86_400 - 86_400
        let minutes = cron.minutes.sorted()
        let hours = cron.hours.sorted()
        let lastDay = day + 8 * 366 * 86_400
        while day <= lastDay {
            let parts = utc.dateComponents([.month, .day, .weekday], from: Date(timeIntervalSince1970: day))
            if let month = parts.month, let dayOfMonth = parts.day, let weekday = parts.weekday,
                cron.matchesDay(month: month, day: dayOfMonth, weekday: weekday - 1)
            {
                for hour in hours {
                    for minute in minutes {
                        let naive = day + Double(hour * 3600 + minute * 60)
                        if let fire = instantOf(naive: naive, in: zone), fire > instant { return fire }
                    }
                }
            }
            day += 86_400
        }
        return nil
    }

    /// The instant a local wall-clock time (as naive seconds) denotes in `zone`: its first occurrence when the
    /// clock repeats it; the end of the gap when the clock skips it.
    static func instantOf(naive: TimeInterval, in zone: TimeZone) -> Date? {
        let before = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: naive - 86_400)))
        let after = Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: naive + 86_400)))
        let candidates = Set([naive - before, naive - after]).sorted().filter { candidate in
            Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: candidate))) == naive - candidate
        }
        if let first = candidates.first { return Date(timeIntervalSince1970: first) }
        // Skipped: the first valid minute after the gap is the transition itself.
        return zone.nextDaylightSavingTimeTransition(after: Date(timeIntervalSince1970: naive - max(before, after)))
    }

    /// The activation whose window contains `instant`, or nil when the schedule is not active then.
    public static func activeWindow(of schedule: CapacitySchedule, at instant: Date) -> DateInterval? {
        guard let seconds = schedule.seconds,
            let start = nextActivation(of: schedule, after: instant.addingTimeInterval(-Double(seconds))), start <= instant
        else { return nil }
        return DateInterval(start: start, duration: Double(seconds))
    }

    /// The floor `policy` sets at `instant`: the maximum of its base and every active schedule.
    public static func floor(_ policy: PoolPolicy, at instant: Date) -> CapacityFloor {
        var floor = CapacityFloor(minEVMs: policy.minEVMs, warm: policy.warm?.count ?? 0, active: [])
        for schedule in policy.schedules ?? [] where activeWindow(of: schedule, at: instant) != nil {
            floor.minEVMs = max(floor.minEVMs, schedule.minEVMs ?? 0)
            floor.warm = max(floor.warm, schedule.warm ?? 0)
            floor.active.append(schedule.name)
        }
        floor.warm = min(floor.warm, max(0, policy.maxEVMs - floor.minEVMs))
        return floor
    }
}

/// What a pool must keep at one instant.
public struct CapacityFloor: Sendable, Hashable {
    /// EVMs in use (not warm) kept at least.
    public var minEVMs: Int
    /// Warm EVMs kept.
    public var warm: Int
    /// Names of the schedules active now.
    public var active: [String]

    public init(minEVMs: Int, warm: Int, active: [String]) {
        self.minEVMs = minEVMs
        self.warm = warm
        self.active = active
    }
}
