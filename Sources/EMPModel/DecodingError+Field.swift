import Foundation

extension DecodingError {
    /// The dotted path of the field at fault (`hosts[0].capacity`, `tls.key`); empty for the document itself.
    public var fieldPath: String {
        let keys: [any CodingKey]
        switch self {
        case .keyNotFound(let key, let context): keys = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): keys = context.codingPath
        @unknown default: keys = []
        }
        var path = ""
        for key in keys {
            if let index = key.intValue {
                path += "[\(index)]"
            } else {
                path += path.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return path
    }

    /// What is wrong with the field, for people: `is required`, `must be a string`, or the decoder's reason.
    public var problem: String {
        switch self {
        case .keyNotFound: "is required"
        case .typeMismatch(let type, _): "must be \(Self.name(of: type))"
        case .valueNotFound(let type, _): "must be \(Self.name(of: type)), not null"
        case .dataCorrupted(let context): fieldPath.isEmpty ? "is not valid: \(context.debugDescription)" : context.debugDescription
        @unknown default: "\(self)"
        }
    }

    /// `tls.key is required`, `hosts[0].capacity: <decoder's reason>`, or the problem alone for the document.
    public var fieldDescription: String {
        if fieldPath.isEmpty { return problem }
        if case .dataCorrupted = self { return "\(fieldPath): \(problem)" }
        return "\(fieldPath) \(problem)"
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is [Any].Type: "a list"
        case is [String: Any].Type: "a mapping"
        default: "a \(type)".replacingOccurrences(of: "Swift.", with: "")
        }
    }
}
