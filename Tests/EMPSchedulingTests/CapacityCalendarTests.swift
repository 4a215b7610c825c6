import EMPModel
import EMPScheduling
import Foundation
import Testing

/// Schedules as an operator reads them: when each activation starts in UTC for a zone, across daylight-saving
/// changes, and what floor a pool has at a given instant.
@Suite struct CapacityCalendarTests {
    static func utc(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

    static func schedule(_ cron: String, _ zone: String, duration: String = "1h", minEVMs: Int? = nil, warm: Int? = nil)
        -> CapacitySchedule
    {
        CapacitySchedule(name: "s", cron: cron, timeZone: zone, duration: duration, minEVMs: minEVMs, warm: warm)
    }

    @Test func kolkataMarketOpenIsThreeFifteenUTCOnWeekdays() {
        // 08:45 IST (UTC+05:30) on weekdays. 2026-11-27 is a Friday.
        let s = Self.schedule("45 8 * * 1-5", "Asia/Kolkata", duration: "7h")
        let friday = CapacityCalendar.nextActivation(of: s, after: Self.utc("2026-11-27T00:00:00Z"))
        #expect(friday == Self.utc("2026-11-27T03:15:00Z"))
        // After Friday's, the next is Monday's (the weekend is skipped).
        let monday = CapacityCalendar.nextActivation(of: s, after: friday!)
        #expect(monday == Self.utc("2026-11-30T03:15:00Z"))
        #expect(CapacityCalendar.activeWindow(of: s, at: Self.utc("2026-11-27T10:14:59Z"))?.start == friday)
        #expect(CapacityCalendar.activeWindow(of: s, at: Self.utc("2026-11-27T10:15:00Z")) == nil, "7 h after 03:15 it ends")
        #expect(CapacityCalendar.activeWindow(of: s, at: Self.utc("2026-11-27T03:14:59Z")) == nil)
        #expect(CapacityCalendar.activeWindow(of: s, at: Self.utc("2026-11-28T05:00:00Z")) == nil, "Saturday")
    }

    @Test func newYorkFollowsDaylightSavingTime() {
        // 09:00 New York: 14:00 UTC in winter (EST), 13:00 UTC in summer (EDT).
        let s = Self.schedule("0 9 * * *", "America/New_York")
        #expect(CapacityCalendar.nextActivation(of: s, after: Self.utc("2026-03-07T00:00:00Z")) == Self.utc("2026-03-07T14:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: s, after: Self.utc("2026-03-08T00:00:00Z")) == Self.utc("2026-03-08T13:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: s, after: Self.utc("2026-11-01T00:00:00Z")) == Self.utc("2026-11-01T14:00:00Z"))
    }

    /// 2026-03-08: New York's clocks go from 02:00 EST to 03:00 EDT. 02:30 does not exist: it runs once, at the first
    /// valid minute after the gap (03:00 EDT = 07:00 UTC); every skipped minute maps there, and runs once.
    @Test func aSkippedLocalTimeRunsOnceAtTheNextValidMinute() {
        let half = Self.schedule("30 2 * * *", "America/New_York")
        let start = Self.utc("2026-03-08T00:00:00Z")
        #expect(CapacityCalendar.nextActivation(of: half, after: start) == Self.utc("2026-03-08T07:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: half, after: Self.utc("2026-03-08T07:00:00Z")) == Self.utc("2026-03-09T06:30:00Z"))
        let quarterly = Self.schedule("*/15 2 * * *", "America/New_York")
        let first = CapacityCalendar.nextActivation(of: quarterly, after: start)
        #expect(first == Self.utc("2026-03-08T07:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: quarterly, after: first!) == Self.utc("2026-03-09T06:00:00Z"), "once, not four times")
    }

    /// 2026-11-01: New York's clocks go from 02:00 EDT back to 01:00 EST, so 01:30 happens twice; it runs once, at
    /// the first (05:30 UTC), not again at 06:30 UTC.
    @Test func aRepeatedLocalTimeRunsOnce() {
        let s = Self.schedule("30 1 * * *", "America/New_York")
        let first = CapacityCalendar.nextActivation(of: s, after: Self.utc("2026-11-01T00:00:00Z"))
        #expect(first == Self.utc("2026-11-01T05:30:00Z"))
        #expect(CapacityCalendar.nextActivation(of: s, after: first!) == Self.utc("2026-11-02T06:30:00Z"))
        // Hourly through the repeated hour: 01:00 EDT, 01:00 EST is the same local time (runs once), 02:00 EST.
        let hourly = Self.schedule("0 * * * *", "America/New_York")
        let one = CapacityCalendar.nextActivation(of: hourly, after: Self.utc("2026-11-01T04:30:00Z"))
        #expect(one == Self.utc("2026-11-01T05:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: hourly, after: one!) == Self.utc("2026-11-01T07:00:00Z"))
    }

    @Test func theFloorIsTheMaximumOfTheBaseAndEveryActiveSchedule() {
        var policy = PoolPolicy(minEVMs: 1, maxEVMs: 50, warm: WarmPolicy(count: 1))
        policy.schedules = [
            CapacitySchedule(name: "open", cron: "45 8 * * 1-5", timeZone: "Asia/Kolkata", duration: "7h", minEVMs: 20, warm: 5),
            CapacitySchedule(name: "peak", cron: "0 5 * * 1-5", timeZone: "UTC", duration: "1h", minEVMs: 10, warm: 8),
        ]
        let before = CapacityCalendar.floor(policy, at: Self.utc("2026-11-30T03:00:00Z"))
        #expect(before == CapacityFloor(minEVMs: 1, warm: 1, active: []))
        let open = CapacityCalendar.floor(policy, at: Self.utc("2026-11-30T04:00:00Z"))
        #expect(open == CapacityFloor(minEVMs: 20, warm: 5, active: ["open"]))
        let both = CapacityCalendar.floor(policy, at: Self.utc("2026-11-30T05:30:00Z"))
        #expect(both == CapacityFloor(minEVMs: 20, warm: 8, active: ["open", "peak"]))
        let after = CapacityCalendar.floor(policy, at: Self.utc("2026-11-30T10:15:00Z"))
        #expect(after == CapacityFloor(minEVMs: 1, warm: 1, active: []))
    }

    @Test func cronFieldsListsRangesStepsNamesAndMacros() throws {
        let c = try CronExpression("0,30 9-17/2 * jan-mar MON-fri")
        #expect(c.minutes == [0, 30] && c.hours == [9, 11, 13, 15, 17] && c.months == [1, 2, 3] && c.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(try CronExpression("@daily").hours == [0])
        #expect(try CronExpression("0 0 * * 7").daysOfWeek == [0], "7 is Sunday")
        #expect(try CronExpression("5/20 * * * *").minutes == [5, 25, 45])
        // Both day fields restricted: either matches (the 1st, and every Monday).
        let either = Self.schedule("0 0 1 * 1", "UTC")
        #expect(CapacityCalendar.nextActivation(of: either, after: Self.utc("2026-11-24T00:00:00Z")) == Self.utc("2026-11-30T00:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: either, after: Self.utc("2026-11-30T00:00:00Z")) == Self.utc("2026-12-01T00:00:00Z"))
        #expect(CapacityCalendar.nextActivation(of: Self.schedule("0 0 30 2 *", "UTC"), after: Self.utc("2026-01-01T00:00:00Z")) == nil)
    }

    @Test(arguments: [
        ("0 9 * *", "needs 5 fields"), ("60 9 * * *", "minute: 60 is outside 0-59"), ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("0 9 * foo *", "month: \"foo\" is not a number"), ("0 9 5-1 * *", "runs backwards"), ("*/0 * * * *", "step"),
        ("@sometimes", "unknown macro"), ("0 9 * * 8", "outside 0-7"), ("0,,5 * * * *", "empty list item"),
    ])
    func badCronSaysWhichFieldIsWrong(text: String, message: String) {
        #expect(throws: CronError.self) { try CronExpression(text) }
        do {
            _ = try CronExpression(text)
        } catch {
            #expect(error.description.contains(message), "\(text): \(error.description)")
        }
    }
}
