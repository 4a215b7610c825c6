public import EMPModel

/// Why a domain operation (placement, deletion, migration, snapshot, agent report) refused: typed, so the loops
/// match a ``Code`` instead of a string, and free of HTTP — the routes map it to a status in one place
/// (`Routes/APIError.swift`).
public struct DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of refusal; compare with the static members (`error.code == .insufficientCapacity`).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case notFound = "not_found"
            case conflict
            case invalid
            case insufficientCapacity = "insufficient_capacity"
            case forbidden
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The object named does not exist.
        public static let notFound = Code(.notFound)
        /// The request contradicts the current state (limits, phases, ownership).
        public static let conflict = Code(.conflict)
        /// A field of the request is wrong; ``DomainError/field`` names it.
        public static let invalid = Code(.invalid)
        /// The hosts lack room; ``DomainError/evmsThatFit`` says how many would fit.
        public static let insufficientCapacity = Code(.insufficientCapacity)
        /// The caller may not do this to this object.
        public static let forbidden = Code(.forbidden)

        /// The stable machine-readable name the API shows (`insufficient_capacity`).
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String
    /// The request field at fault, as a dotted path (``Code/invalid``).
    public let field: String?
    /// How many of the requested EVMs the hosts have room for (``Code/insufficientCapacity``).
    public let evmsThatFit: Int?

    private init(_ code: Code, _ message: String, field: String? = nil, evmsThatFit: Int? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.evmsThatFit = evmsThatFit
    }

    public static func notFound(_ what: String) -> DomainError { DomainError(.notFound, "\(what) not found") }
    public static func conflict(_ message: String) -> DomainError { DomainError(.conflict, message) }
    public static func invalid(_ message: String, field: String) -> DomainError { DomainError(.invalid, message, field: field) }
    public static func forbidden(_ message: String) -> DomainError { DomainError(.forbidden, message) }
    public static func insufficientCapacity(_ message: String, evmsThatFit: Int) -> DomainError {
        DomainError(.insufficientCapacity, message, evmsThatFit: evmsThatFit)
    }
    /// A model validation failure, keeping its field.
    public static func invalid(_ validation: ValidationError) -> DomainError {
        DomainError(.invalid, validation.description, field: validation.field)
    }

    public var description: String { "\(code): \(message)" }
}
