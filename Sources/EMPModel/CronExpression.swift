import Foundation

/// A standard five-field cron expression (`minute hour day-of-month month day-of-week`), parsed once: lists,
/// ranges, steps, month and weekday names, and the `@daily`-style macros. Written here because no library on
/// the list parses cron; the fields mean what they mean in Vixie cron and in Kubernetes CronJobs (robfig/cron):
/// when both day fields are restricted, a day matching either runs.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// Allowed values per field, as sets of numbers.
    public let minutes: Set<Int>
    public let hours: Set<Int>
    public let daysOfMonth: Set<Int>
    public let months: Set<Int>
    /// 0 = Sunday … 6 = Saturday (7 is read as Sunday).
    public let daysOfWeek: Set<Int>
    /// True when the field was `*` (or `?`): matters for the day-of-month / day-of-week rule.
    public let anyDayOfMonth: Bool
    public let anyDayOfWeek: Bool
    /// The text as written.
    public let description: String

    static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses `text`; the error says which field is wrong and why (`hour: 24 is outside 0-23`).
    public init(_ text: String) throws(CronError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.utf8.count <= 200 else { throw CronError("is longer than 200 characters") }
        let expanded: String
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw CronError("unknown macro \"\(trimmed)\" (use @yearly, @monthly, @weekly, @daily or @hourly)")
            }
            expanded = macro
        } else {
            expanded = trimmed
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronError("needs 5 fields (minute hour day-of-month month day-of-week), got \(fields.count)")
        }
        minutes = try Self.field(fields[0], name: "minute", range: 0...59)
        hours = try Self.field(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.field(fields[2], name: "day-of-month", range: 1...31)
        months = try Self.field(fields[3], name: "month", range: 1...12, names: Self.monthNames, firstName: 1)
        let weekdays = try Self.field(fields[4], name: "day-of-week", range: 0...7, names: Self.dayNames, firstName: 0)
        daysOfWeek = Set(weekdays.map { $0 % 7 })
        anyDayOfMonth = fields[2] == "*" || fields[2] == "?"
        anyDayOfWeek = fields[4] == "*" || fields[4] == "?"
        description = trimmed
    }

    /// True when a day with these calendar numbers runs (`weekday` 0 = Sunday).
    public func matchesDay(month: Int, day: Int, weekday: Int) -> Bool {
        guard months.contains(month) else { return false }
        switch (anyDayOfMonth, anyDayOfWeek) {
        case (true, true): return true
        case (false, true): return daysOfMonth.contains(day)
        case (true, false): return daysOfWeek.contains(weekday)
        case (false, false): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        }
    }

    private static func field(
        _ text: String, name: String, range: ClosedRange<Int>, names: [String] = [], firstName: Int = 0
    ) throws(CronError) -> Set<Int> {
        var values = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !part.isEmpty else { throw CronError("\(name): empty list item in \"\(text)\"") }
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw CronError("\(name): more than one step in \"\(part)\"") }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0, parsed <= range.upperBound + 1 else {
                    throw CronError("\(name): step \"\(pieces[1])\" must be a number from 1 to \(range.upperBound + 1)")
                }
                step = parsed
            }
            let base = pieces[0]
            var low: Int
            var high: Int
            if base == "*" || base == "?" {
                (low, high) = (range.lowerBound, range.upperBound)
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw CronError("\(name): \"\(base)\" is not a value or a range") }
                low = try value(bounds[0], name: name, range: range, names: names, firstName: firstName)
                high = bounds.count == 2 ? try value(bounds[1], name: name, range: range, names: names, firstName: firstName) : low
                if bounds.count == 1, pieces.count == 2 { high = range.upperBound }  // `5/15`: from 5 on
                guard low <= high else { throw CronError("\(name): range \"\(base)\" runs backwards") }
            }
            values.formUnion(stride(from: low, through: high, by: step))
        }
        return values
    }

    private static func value(
        _ text: Substring, name: String, range: ClosedRange<Int>, names: [String], firstName: Int
    ) throws(CronError) -> Int {
        if let index = names.firstIndex(of: text.lowercased()) { return index + firstName }
        guard let number = Int(text) else {
            let hint = names.isEmpty ? "" : " or a name (\(names.first!)…\(names.last!))"
            throw CronError("\(name): \"\(text)\" is not a number\(hint)")
        }
        guard range.contains(number) else {
            throw CronError("\(name): \(number) is outside \(range.lowerBound)-\(range.upperBound)")
        }
        return number
    }
}

/// Why a cron expression was refused.
public struct CronError: Error, Sendable, Hashable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
