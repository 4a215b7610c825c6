public import Foundation

/// How a warm EVM waits: booted and joined, its Node tainted `emp.pf9.io/warm`, so a Pending pod gets it in seconds.
public enum WarmMode: String, Sendable, Hashable, Codable, CaseIterable {
    /// The domain keeps running: the kubelet stays Ready, so a claim is a taint removal. Costs the guest's CPU
    /// while idle (little) and its resident memory.
    case running
    /// The domain is suspended (`virDomainSuspend`) once its Node has been Ready: no CPU at all, memory stays
    /// resident; a claim resumes it and waits for the kubelet to report Ready again.
    case paused
    /// The domain's memory is written to disk (libvirt managed save) once its Node has been Ready: no CPU and no
    /// resident memory; a claim restores it (the memory is read back), which takes longer than a resume.
    case saved
}

/// Warm capacity a pool keeps on top of its EVMs in use (`policy.warm`).
public struct WarmPolicy: Sendable, Hashable, Codable {
    /// Warm EVMs kept; 0 keeps none.
    public var count: Int
    /// Default ``WarmMode/running``.
    public var mode: WarmMode

    public init(count: Int, mode: WarmMode = .running) {
        self.count = count
        self.mode = mode
    }

    enum CodingKeys: String, CodingKey { case count, mode }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        mode = try container.decodeIfPresent(WarmMode.self, forKey: .mode) ?? .running
    }
}

/// A window in a time zone that raises a pool's floor (`policy.schedules[]`): from each cron activation for
/// `duration`, the pool keeps at least `minEVMs` EVMs and `warm` warm ones (`cron: "45 8 * * 1-5", timeZone:
/// "Asia/Kolkata", duration: "7h"`: ready before a market opens).
public struct CapacitySchedule: Sendable, Hashable, Codable {
    /// Unique within the pool; names the schedule in events and `empctl pool show`.
    public var name: String
    /// Five-field cron (see ``CronExpression``), read in ``timeZone``.
    public var cron: String
    /// IANA time zone (`Asia/Kolkata`) from the system's tzdata. Default `UTC`.
    public var timeZone: String
    /// How long each activation lasts, as `7h`, `90m` or `1h30m`.
    public var duration: String
    /// The pool's minimum EVMs while active; nil leaves the base policy's.
    public var minEVMs: Int?
    /// Warm EVMs kept while active; nil leaves the base policy's.
    public var warm: Int?

    public init(name: String, cron: String, timeZone: String = "UTC", duration: String, minEVMs: Int? = nil, warm: Int? = nil) {
        self.name = name
        self.cron = cron
        self.timeZone = timeZone
        self.duration = duration
        self.minEVMs = minEVMs
        self.warm = warm
    }

    enum CodingKeys: String, CodingKey { case name, cron, timeZone, duration, minEVMs, warm }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        cron = try container.decode(String.self, forKey: .cron)
        timeZone = try container.decodeIfPresent(String.self, forKey: .timeZone) ?? "UTC"
        duration = try container.decode(String.self, forKey: .duration)
        minEVMs = try container.decodeIfPresent(Int.self, forKey: .minEVMs)
        warm = try container.decodeIfPresent(Int.self, forKey: .warm)
    }

    /// The parsed cron (valid once ``validate(maxEVMs:)`` passed).
    public var expression: CronExpression? { try? CronExpression(cron) }
    /// The zone (valid once validated).
    public var zone: TimeZone? { TimeZone(identifier: timeZone) }
    /// The duration in seconds (valid once validated).
    public var seconds: Int64? { try? DurationText.seconds(duration) }

    /// Throws a ``ValidationError`` on the field at fault (relative: `cron`, `timeZone`).
    public func validate(maxEVMs: Int, base: PoolPolicy) throws {
        try DNSLabel.validate(name, field: "name")
        do { _ = try CronExpression(cron) } catch { throw ValidationError(field: "cron", error.description) }
        try InputLimits.text(timeZone, max: 64, field: "timeZone")
        try Check.require(
            TimeZone(identifier: timeZone) != nil, "timeZone",
            "unknown time zone \"\(timeZone)\" (use an IANA name such as Asia/Kolkata or America/New_York)")
        let seconds: Int64
        do { seconds = try DurationText.seconds(duration) } catch { throw ValidationError(field: "duration", error.description) }
        try Check.require(seconds >= 60, "duration", "must be at least 1m (got \(duration))")
        try Check.require(seconds <= 31 * 86_400, "duration", "must be at most 744h (31 days) (got \(duration))")
        if let minEVMs {
            try Check.require(minEVMs >= 0, "minEVMs", "must not be negative (got \(minEVMs))")
            try Check.require(minEVMs <= maxEVMs, "minEVMs", "must not exceed maxEVMs (\(minEVMs) > \(maxEVMs))")
        }
        if let warm {
            try Check.require(warm >= 0, "warm", "must not be negative (got \(warm))")
            try Check.require(warm <= maxEVMs, "warm", "must not exceed maxEVMs (\(warm) > \(maxEVMs))")
        }
        let floor = (minEVMs ?? base.minEVMs) + (warm ?? base.warm?.count ?? 0)
        try Check.require(
            floor <= maxEVMs, minEVMs != nil ? "minEVMs" : "warm",
            "minEVMs plus warm EVMs (\(floor)) must not exceed maxEVMs \(maxEVMs)")
    }
}

/// Durations as people write them in configuration (`7h`, `90m`, `1h30m`, `45s`): Go's `time.ParseDuration`
/// units from seconds up, without fractions.
public enum DurationText {
    /// Whole seconds; throws ``CronError`` with what is wrong.
    public static func seconds(_ text: String) throws(CronError) -> Int64 {
        guard !text.isEmpty, text.utf8.count <= 32 else { throw CronError("must be like 7h, 90m or 1h30m (got \"\(text)\")") }
        if text.hasPrefix("-") { throw CronError("must not be negative (got \(text))") }
        var total: Int64 = 0
        var number = ""
        for character in text {
            if character.isASCII, character.isNumber {
                number.append(character)
                continue
            }
            let unit: Int64
            switch character {
            case "h": unit = 3600
            case "m": unit = 60
            case "s": unit = 1
            case "d": unit = 86_400
            default: throw CronError("unknown unit \"\(character)\" in \"\(text)\" (use d, h, m, s)")
            }
            guard let value = Int64(number), value <= 1_000_000 else {
                throw CronError("must be like 7h, 90m or 1h30m (got \"\(text)\")")
            }
            total += value * unit
            number = ""
        }
        guard number.isEmpty else { throw CronError("\"\(number)\" has no unit in \"\(text)\" (use d, h, m, s)") }
        return total
    }
}
