import Foundation

/// Checks a JSON document before anything decodes it: strict RFC 8259 syntax (no trailing commas, no comments,
/// no leading zeros), nesting depth and element count within limits, and no key twice in one object.
///
/// Foundation's parsers accept trailing commas and keep one of two duplicate keys silently, so a duplicated field
/// could bypass the unknown-field check, and a deep or huge document costs memory before any limit applies. This
/// scanner reads the bytes once, allocates only for object keys, and names the place it stopped
/// (`shape.vcpus`, `items[3]`). Hand-written: no library on the machine validates JSON with these rules.
public enum JSONGuard {
    /// Limits for one document; the defaults are ``InputLimits``'.
    public struct Limits: Sendable {
        public var maxDepth: Int
        public var maxElements: Int

        public init(maxDepth: Int = InputLimits.jsonDepth, maxElements: Int = InputLimits.jsonElements) {
            self.maxDepth = maxDepth
            self.maxElements = maxElements
        }
    }

    /// The fields a document may have (``check(_:limits:fields:)``): a key not listed is refused by name while
    /// scanning, so strict request decoding needs no second parse to find unknown fields.
    public indirect enum Fields: Sendable {
        /// Anything: no check below this point.
        case any
        /// A JSON object (or null below the top) with only these keys.
        case object([String: Fields])
        /// A JSON list (or null below the top) whose every element follows the element's fields.
        case list(Fields)
    }

    /// Why a document was refused and where (`path` is a dotted field path, empty for the document itself).
    public struct Failure: Error, Sendable, Equatable, CustomStringConvertible {
        public let path: String
        public let message: String
        /// True when the syntax was fine but a field was unknown or of the wrong kind (``Fields``).
        public var isFieldError = false
        public var description: String { path.isEmpty ? message : "\(path): \(message)" }
    }

    /// Throws ``Failure`` unless `data` is one well-formed JSON value within `limits`.
    /// With `fields`, also refuses keys they do not list and objects or lists where they expect the other.
    public static func check(_ data: some Collection<UInt8>, limits: Limits = Limits(), fields: Fields = .any) throws {
        try data.withContiguousStorageIfAvailable { buffer in
            var scanner = Scanner(bytes: buffer, limits: limits)
            try scanner.document(fields)
        }
            ?? {
                let copy = Array(data)
                try copy.withUnsafeBufferPointer { buffer in
                    var scanner = Scanner(bytes: buffer, limits: limits)
                    try scanner.document(fields)
                }
            }()
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        let limits: Limits
        var index = 0
        var elements = 0
        var path: [String] = []

        init(bytes: UnsafeBufferPointer<UInt8>, limits: Limits) {
            self.bytes = bytes
            self.limits = limits
        }

        func fail(_ message: String) -> Failure {
            var text = ""
            for part in path {
                if part.hasPrefix("[") || text.isEmpty { text += part } else { text += ".\(part)" }
            }
            return Failure(path: text, message: message)
        }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let byte = peek, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws {
            skipSpace()
            guard peek == byte else { throw fail("expected \(what) at byte \(index)") }
            index += 1
        }

        /// The first field failure: thrown once the whole document proved well-formed (syntax problems first).
        var fieldFailure: Failure?

        mutating func noteField(_ message: String) {
            guard fieldFailure == nil else { return }
            var failure = fail(message)
            failure.isFieldError = true
            fieldFailure = failure
        }

        mutating func document(_ fields: Fields) throws {
            try value(depth: 0, fields: fields, top: true)
            if let fieldFailure { throw fieldFailure }
            skipSpace()
            guard index == bytes.count else { throw Failure(path: "", message: "unexpected data after the JSON value at byte \(index)") }
        }

        mutating func count() throws {
            elements += 1
            if elements > limits.maxElements { throw fail("the document has more than \(limits.maxElements) keys and elements") }
        }

        mutating func value(depth: Int, fields: Fields = .any, top: Bool = false) throws {
            skipSpace()
            guard let byte = peek else { throw fail("expected a value, found the end of the document") }
            var allowed: [String: Fields]?
            var element = Fields.any
            let null = byte == UInt8(ascii: "n") && !top
            switch fields {
            case .any: break
            case .object(let keys):
                if byte == UInt8(ascii: "{") { allowed = keys } else if !null { noteField("must be a JSON object") }
            case .list(let elements):
                if byte == UInt8(ascii: "[") { element = elements } else if !null { noteField("must be a list") }
            }
            switch byte {
            case UInt8(ascii: "{"):
                guard depth < limits.maxDepth else { throw fail("nested deeper than \(limits.maxDepth) levels") }
                try object(depth: depth + 1, allowed: allowed)
            case UInt8(ascii: "["):
                guard depth < limits.maxDepth else { throw fail("nested deeper than \(limits.maxDepth) levels") }
                try array(depth: depth + 1, element: element)
            case UInt8(ascii: "\""):
                _ = try string(keep: false)
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
            default: throw fail("unexpected character at byte \(index)")
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { throw fail("invalid literal at byte \(index)") }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
                throw fail("invalid literal at byte \(index)")
            }
            index += count
        }

        mutating func object(depth: Int, allowed: [String: Fields]? = nil) throws {
            index += 1
            var keys = Set<String>()
            skipSpace()
            if peek == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { throw fail("expected a key in quotes at byte \(index)") }
                let key = try string(keep: true) ?? ""
                try count()
                path.append(key)
                guard keys.insert(key).inserted else { throw fail("duplicate key") }
                var child = Fields.any
                if let allowed {
                    if let known = allowed[key] { child = known } else { noteField("unknown field \"\(key)\"") }
                }
                try expect(UInt8(ascii: ":"), "':'")
                try value(depth: depth, fields: child)
                path.removeLast()
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    return
                default: throw fail("expected ',' or '}' at byte \(index)")
                }
            }
        }

        mutating func array(depth: Int, element: Fields = .any) throws {
            index += 1
            skipSpace()
            if peek == UInt8(ascii: "]") {
                index += 1
                return
            }
            var position = 0
            while true {
                try count()
                path.append("[\(position)]")
                try value(depth: depth, fields: element)
                path.removeLast()
                position += 1
                skipSpace()
                switch peek {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "]"):
                    index += 1
                    return
                default: throw fail("expected ',' or ']' at byte \(index)")
                }
            }
        }

        /// Reads a string; returns its decoded text when `keep` (object keys), else nil.
        mutating func string(keep: Bool) throws -> String? {
            index += 1
            var scalars = String.UnicodeScalarView()
            var start = index
            var plain = true
            while true {
                guard let byte = peek else { throw fail("unterminated string") }
                if byte == UInt8(ascii: "\"") {
                    defer { index += 1 }
                    guard keep else { return nil }
                    if plain { return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self) }
                    scalars.append(
                        contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
                    return String(scalars)
                }
                if byte < 0x20 { throw fail("control character in a string at byte \(index)") }
                if byte == UInt8(ascii: "\\") {
                    if keep {
                        scalars.append(
                            contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self).unicodeScalars)
                    }
                    plain = false
                    index += 1
                    guard let escaped = peek else { throw fail("unterminated string") }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"):
                        scalars.append(Unicode.Scalar(escaped))
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var unit = try hex4()
                        if (0xD800...0xDBFF).contains(unit), peek == UInt8(ascii: "\\"), index + 1 < bytes.count,
                            bytes[index + 1] == UInt8(ascii: "u")
                        {
                            index += 2
                            let low = try hex4()
                            if (0xDC00...0xDFFF).contains(low) {
                                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                            }
                        }
                        scalars.append(Unicode.Scalar(unit) ?? "\u{FFFD}")
                    default: throw fail("invalid escape in a string at byte \(index - 1)")
                    }
                    start = index
                    continue
                }
                index += 1
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= bytes.count else { throw fail("invalid \\u escape at byte \(index)") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw fail("invalid \\u escape at byte \(index)")
                }
                value = value << 4 | UInt32(digit)
                index += 1
            }
            return value
        }

        mutating func digits() -> Int {
            let start = index
            while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            return index - start
        }

        mutating func number() throws {
            if peek == UInt8(ascii: "-") { index += 1 }
            if peek == UInt8(ascii: "0") {
                index += 1
                if let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                    throw fail("number with a leading zero at byte \(index)")
                }
            } else if digits() == 0 {
                throw fail("invalid number at byte \(index)")
            }
            if peek == UInt8(ascii: ".") {
                index += 1
                guard digits() > 0 else { throw fail("invalid number at byte \(index)") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                index += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { index += 1 }
                guard digits() > 0 else { throw fail("invalid number at byte \(index)") }
            }
        }
    }
}
