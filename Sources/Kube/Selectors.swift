import Foundation

/// One requirement of a label selector or node selector term (`key In (a,b)`, `key Exists`, `key Gt 3`, …).
public struct LabelSelectorRequirement: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(key: String, operator op: String, values: [String] = []) {
        self.object = ["key": .string(key), "operator": .string(op)]
        self[list: "values"] = values
    }

    public var key: String { self["key"] ?? "" }
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`, and for node selectors `Gt`, `Lt`.
    public var `operator`: String { self["operator"] ?? "" }
    public var values: [String] { self[list: "values"] }

    public func matches(_ labels: [String: String]) -> Bool {
        let value = labels[key]
        switch self.operator {
        case "In": return value.map(values.contains) ?? false
        case "NotIn": return value.map { !values.contains($0) } ?? true
        case "Exists": return value != nil
        case "DoesNotExist": return value == nil
        case "Gt", "Lt":
            guard let value, let number = Int64(value), let bound = values.first.flatMap({ Int64($0) }) else { return false }
            return self.operator == "Gt" ? number > bound : number < bound
        default: return false
        }
    }
}

/// A structured label selector (`matchLabels` + `matchExpressions`, ANDed), as in PDBs and Deployments.
public struct LabelSelector: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }

    public init(matchLabels: [String: String]) {
        self.object = [:]
        self[map: "matchLabels"] = matchLabels
    }

    public var matchLabels: [String: String] { self[map: "matchLabels"] }
    public var matchExpressions: [LabelSelectorRequirement] { self[list: "matchExpressions"] }

    /// An empty selector matches everything (PDB, Deployment semantics).
    public func matches(_ labels: [String: String]) -> Bool {
        matchLabels.allSatisfy { labels[$0.key] == $0.value } && matchExpressions.allSatisfy { $0.matches(labels) }
    }

    /// The `?labelSelector=` form.
    public var queryString: String {
        var parts = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        for requirement in matchExpressions {
            switch requirement.operator {
            case "In", "NotIn":
                parts.append("\(requirement.key) \(requirement.operator.lowercased()) (\(requirement.values.joined(separator: ",")))")
            case "Exists": parts.append(requirement.key)
            case "DoesNotExist": parts.append("!\(requirement.key)")
            default: continue
            }
        }
        return parts.joined(separator: ",")
    }
}

/// The string selector syntax of `?labelSelector=` and `?fieldSelector=`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
/// `a notin (x)`, `a`, `!a` (the last four for labels only), comma-separated and ANDed.
public struct SelectorQuery: Sendable, Hashable {
    public enum Term: Sendable, Hashable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    public var terms: [Term]

    /// Parses `text`; throws a message naming the term at fault.
    public init(parsing text: String) throws(SelectorError) {
        terms = []
        for raw in Self.split(text) {
            let part = raw.trimmingCharacters(in: .whitespaces)
            if part.isEmpty { continue }
            terms.append(try Self.term(part))
        }
    }

    /// Whether `lookup` (label or field values) satisfies every term.
    public func matches(_ lookup: (String) -> String?) -> Bool {
        terms.allSatisfy { term in
            switch term {
            case .equals(let key, let value): lookup(key) == value
            case .notEquals(let key, let value): lookup(key) != value
            case .isIn(let key, let values): lookup(key).map(values.contains) ?? false
            case .notIn(let key, let values): lookup(key).map { !values.contains($0) } ?? true
            case .exists(let key): lookup(key) != nil
            case .doesNotExist(let key): lookup(key) == nil
            }
        }
    }

    private static func split(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func term(_ part: String) throws(SelectorError) -> Term {
        if let range = part.range(of: "!=") {
            return .notEquals(trim(part[..<range.lowerBound]), trim(part[range.upperBound...]))
        }
        if let range = part.range(of: "==") ?? part.range(of: "=") {
            return .equals(trim(part[..<range.lowerBound]), trim(part[range.upperBound...]))
        }
        for (word, negated) in [(" notin ", true), (" in ", false)] {
            guard let range = part.range(of: word) else { continue }
            let key = trim(part[..<range.lowerBound])
            let list = trim(part[range.upperBound...])
            guard list.hasPrefix("("), list.hasSuffix(")"), !key.isEmpty else {
                throw SelectorError("selector term \"\(part)\": expected \(word.trimmingCharacters(in: .whitespaces)) (a,b)")
            }
            let values = Set(list.dropFirst().dropLast().split(separator: ",").map { trim($0) })
            return negated ? .notIn(key, values) : .isIn(key, values)
        }
        if part.hasPrefix("!") { return .doesNotExist(trim(part.dropFirst())) }
        guard !part.contains(" "), !part.contains("("), !part.contains(")") else {
            throw SelectorError("selector term \"\(part)\" is not key, !key, key=value, key!=value, key in (…) or key notin (…)")
        }
        return .exists(part)
    }

    private static func trim(_ text: Substring) -> String { text.trimmingCharacters(in: .whitespaces) }
}

/// A selector string that does not parse.
public struct SelectorError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
