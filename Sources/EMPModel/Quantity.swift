public import Foundation

/// A Kubernetes resource quantity (`3Gi`, `500m`, `1.5`, `2e3`), parsed exactly so requests add up like the API server's.
///
/// The grammar is the one of `k8s.io/apimachinery/pkg/api/resource`:
/// `<sign><digits>[.<digits>]<suffix>` where the suffix is a binary SI suffix (`Ki`…`Ei`), a decimal SI
/// suffix (`n u m "" k M G T P E`) or a decimal exponent (`e3`, `E-2`).
public struct Quantity: Sendable, Hashable, CustomStringConvertible {
    /// The exact value.
    public let value: Decimal
    /// The text it was parsed from.
    public let text: String

    /// Parses `text`; throws ``QuantityError`` naming what is wrong.
    public init(_ text: String) throws {
        self.text = text
        self.value = try Quantity.parse(text)
    }

    public var description: String { text }

    /// The value rounded up to an integer, as Kubernetes' `Quantity.Value()` does.
    public var roundedUp: Int64 { Quantity.ceil(value) }

    /// The value in thousandths rounded up, as Kubernetes' `Quantity.MilliValue()` does (CPU millicores).
    public var milliRoundedUp: Int64 { Quantity.ceil(value * 1000) }

    // MARK: Parsing

    private static let binarySuffixes: [String: Decimal] = [
        "Ki": pow(2, 10), "Mi": pow(2, 20), "Gi": pow(2, 30),
        "Ti": pow(2, 40), "Pi": pow(2, 50), "Ei": pow(2, 60),
    ]
    private static let decimalSuffixes: [String: Int] = [
        "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
    ]

    private static func parse(_ text: String) throws -> Decimal {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { throw QuantityError(text, "is empty") }
        var i = 0
        var negative = false
        if scalars[i] == "+" || scalars[i] == "-" {
            negative = scalars[i] == "-"
            i += 1
        }
        var digits = ""
        var sawDigit = false
        var sawPoint = false
        while i < scalars.count {
            let c = scalars[i]
            if c.properties.numericType == .decimal, c.isASCII {
                digits.unicodeScalars.append(c)
                sawDigit = true
            } else if c == "." && !sawPoint {
                digits.append(".")
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { throw QuantityError(text, "has no number") }
        guard digits.count <= 40 else { throw QuantityError(text, "has too many digits") }
        let suffix = String(String.UnicodeScalarView(scalars[i...]))
        guard var number = Decimal(string: digits, locale: Locale(identifier: "en_US_POSIX")) else {
            throw QuantityError(text, "has no number")
        }
        if let multiplier = binarySuffixes[suffix] {
            number *= multiplier
        } else if let exponent = decimalSuffixes[suffix] {
            number *= pow10(exponent)
        } else if let exponent = decimalExponent(suffix) {
            number *= pow10(exponent)
        } else {
            throw QuantityError(text, "has an unknown suffix \"\(suffix)\"")
        }
        return negative ? -number : number
    }

    /// `e3`, `E-2`, `e+6`: Kubernetes' decimal exponent form (bounded so values stay representable).
    private static func decimalExponent(_ suffix: String) -> Int? {
        guard let first = suffix.first, first == "e" || first == "E", suffix.count > 1 else { return nil }
        let rest = suffix.dropFirst()
        let body = rest.first == "+" || rest.first == "-" ? rest.dropFirst() : rest
        guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isNumber }), let exponent = Int(rest) else {
            return nil
        }
        return abs(exponent) <= 30 ? exponent : nil
    }

    private static func pow10(_ exponent: Int) -> Decimal {
        Decimal(sign: .plus, exponent: exponent, significand: 1)
    }

    private static func ceil(_ value: Decimal) -> Int64 {
        var input = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &input, 0, .up)
        if rounded >= Decimal(Int64.max) { return Int64.max }
        if rounded <= Decimal(Int64.min) { return Int64.min }
        return NSDecimalNumber(decimal: rounded).int64Value
    }
}

/// Why a quantity string was refused; the message quotes the text.
public struct QuantityError: Error, Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let reason: String

    init(_ text: String, _ reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "quantity \"\(text)\" \(reason)" }
}
