public import Foundation

/// The environment layer of every executable's configuration (flags over environment over file over defaults):
/// setting `reportIntervalSeconds` of `emp-agent` is read from `EMP_AGENT_REPORT_INTERVAL_SECONDS`. Values that do
/// not parse are errors naming the variable. (Hand-written: swift-configuration needs macOS 15 and tools 6.2 and
/// cannot refuse unknown file keys; see docs/architecture.md.)
public struct EnvironmentLayer: Sendable {
    /// `EMP_AGENT_` for `emp-agent`.
    public let prefix: String
    private let values: [String: String]

    /// The layer of program `program` (`emp-agent`) over `values` (default: this process's environment).
    public init(program: String, values: [String: String] = ProcessInfo.processInfo.environment) {
        prefix = program.uppercased().replacingOccurrences(of: "-", with: "_") + "_"
        self.values = values
    }

    /// The variable that holds `key`: camel case becomes upper snake case under the prefix.
    public func variable(_ key: String) -> String {
        var name = prefix
        for character in key {
            if character.isUppercase, !name.hasSuffix("_") { name += "_" }
            name += character.uppercased()
        }
        return name
    }

    /// The variable's value, when set and not empty.
    public func string(_ key: String) -> String? {
        guard let value = values[variable(key)], !value.isEmpty else { return nil }
        return value
    }

    public func int(_ key: String) throws -> Int? {
        try string(key).map { text in
            guard let value = Int(text) else { throw ValidationError(field: variable(key), "must be a whole number (got \"\(text)\")") }
            return value
        }
    }

    public func double(_ key: String) throws -> Double? {
        try string(key).map { text in
            guard let value = Double(text), value.isFinite else {
                throw ValidationError(field: variable(key), "must be a number (got \"\(text)\")")
            }
            return value
        }
    }
}
