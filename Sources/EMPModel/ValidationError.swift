/// A value the caller supplied is out of range or malformed; `field` names it (`policy.memoryOvercommit`).
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path of the offending field, as it appears in the JSON/YAML the user wrote.
    public let field: String
    /// What is wrong and what is allowed.
    public let message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }

    /// Prefixes the field path (`shape` + `.memoryBytes`), so nested validators report full paths.
    public func nested(under parent: String) -> ValidationError {
        ValidationError(field: "\(parent).\(field)", message)
    }
}

/// Small checks shared by every validator so messages read the same everywhere.
enum Check {
    static func require(_ condition: Bool, _ field: String, _ message: @autoclosure () -> String) throws {
        if !condition { throw ValidationError(field: field, message()) }
    }
}

/// Names of pools and hosts: DNS labels, so they can be Kubernetes label values and parts of node names.
public enum DNSLabel {
    /// Throws a ``ValidationError`` on `field` unless `value` is 1–63 lowercase letters, digits and '-',
    /// starting and ending with a letter or digit.
    public static func validate(_ value: String, field: String) throws {
        try Check.require(!value.isEmpty, field, "must not be empty")
        try Check.require(value.count <= 63, field, "must be at most 63 characters")
        let allowed = value.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-"
        }
        try Check.require(
            allowed && value.first != "-" && value.last != "-",
            field,
            "must be lowercase letters, digits and '-', starting and ending with a letter or digit (got \"\(value)\")"
        )
    }
}
