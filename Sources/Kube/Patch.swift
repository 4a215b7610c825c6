public import Foundation

/// A patch body and its content type, for the API's three patch flavours.
public enum Patch: Sendable {
    /// RFC 7386 JSON merge patch: objects merge, `null` deletes, lists are replaced.
    case merge(JSONValue)
    /// Kubernetes strategic merge patch: like merge, but lists with a merge key (conditions by `type`,
    /// containers by `name`) merge element-wise.
    case strategic(JSONValue)
    /// RFC 6902 JSON patch: an ordered list of operations (with `test` for optimistic checks).
    case json([JSONPatchOperation])

    public var contentType: String {
        switch self {
        case .merge: "application/merge-patch+json"
        case .strategic: "application/strategic-merge-patch+json"
        case .json: "application/json-patch+json"
        }
    }

    public func body() throws -> Data {
        switch self {
        case .merge(let value), .strategic(let value): try KubeJSON.encode(value)
        case .json(let operations): try KubeJSON.encode(operations)
        }
    }
}

/// One RFC 6902 operation.
public struct JSONPatchOperation: Codable, Sendable, Hashable {
    public var op: String
    public var path: String
    public var value: JSONValue?
    public var from: String?

    public init(op: String, path: String, value: JSONValue? = nil, from: String? = nil) {
        self.op = op
        self.path = path
        self.value = value
        self.from = from
    }

    /// The operation as a JSON object.
    public var json: JSONValue {
        var object: JSONObject = ["op": .string(op), "path": .string(path)]
        if let value { object["value"] = value }
        if let from { object["from"] = .string(from) }
        return .object(object)
    }

    public static func add(_ path: String, _ value: JSONValue) -> Self { .init(op: "add", path: path, value: value) }
    public static func replace(_ path: String, _ value: JSONValue) -> Self { .init(op: "replace", path: path, value: value) }
    public static func remove(_ path: String) -> Self { .init(op: "remove", path: path) }
    public static func test(_ path: String, _ value: JSONValue) -> Self { .init(op: "test", path: path, value: value) }

    /// Escapes one JSON-pointer token (`~` → `~0`, `/` → `~1`), e.g. for label keys with slashes.
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// Why a patch could not be applied (the API answers 422 Invalid, or 409 for a failed `test`).
public struct PatchError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// A failed `test` operation (a conflict rather than a malformed patch).
    public let testFailed: Bool
    init(_ description: String, testFailed: Bool = false) {
        self.description = description
        self.testFailed = testFailed
    }
}

extension JSONValue {
    /// RFC 7386: the result of merging `patch` into `self`.
    public func mergePatched(with patch: JSONValue) -> JSONValue {
        guard case .object(let members) = patch else { return patch }
        var result = objectValue ?? [:]
        for (key, value) in members {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = (result[key] ?? .null).mergePatched(with: value)
            }
        }
        return .object(result)
    }

    /// RFC 6902: applies `operations` in order, all or nothing.
    public func jsonPatched(with operations: [JSONPatchOperation]) throws(PatchError) -> JSONValue {
        var document = self
        for operation in operations {
            let path = try Self.pointer(operation.path)
            switch operation.op {
            case "add":
                try document.insert(try Self.required(operation), at: path, replacing: false)
            case "replace":
                _ = try document.remove(at: path)
                try document.insert(try Self.required(operation), at: path, replacing: false)
            case "remove":
                _ = try document.remove(at: path)
            case "test":
                guard document.value(at: path) == (try Self.required(operation)) else {
                    throw PatchError("test failed at \(operation.path)", testFailed: true)
                }
            case "move", "copy":
                guard let from = operation.from else { throw PatchError("\(operation.op) at \(operation.path) needs from") }
                let source = try Self.pointer(from)
                guard let value = document.value(at: source) else { throw PatchError("\(from) does not exist") }
                if operation.op == "move" { _ = try document.remove(at: source) }
                try document.insert(value, at: path, replacing: false)
            default:
                throw PatchError("unknown JSON patch op \"\(operation.op)\"")
            }
        }
        return document
    }

    private static func required(_ operation: JSONPatchOperation) throws(PatchError) -> JSONValue {
        guard let value = operation.value else { throw PatchError("\(operation.op) at \(operation.path) needs value") }
        return value
    }

    static func pointer(_ text: String) throws(PatchError) -> [String] {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { throw PatchError("path \"\(text)\" must start with /") }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    func value(at path: [String]) -> JSONValue? {
        var current: JSONValue? = self
        for token in path {
            switch current {
            case .object(let members): current = members[token]
            case .array(let items): current = Int(token).flatMap { $0 >= 0 && $0 < items.count ? items[$0] : nil }
            default: return nil
            }
        }
        return current
    }

    private mutating func insert(_ value: JSONValue, at path: [String], replacing: Bool) throws(PatchError) {
        guard let token = path.first else {
            self = value
            return
        }
        let rest = Array(path.dropFirst())
        switch self {
        case .object(var members):
            if rest.isEmpty {
                members[token] = value
            } else {
                guard var child = members[token] else { throw PatchError("/\(path.joined(separator: "/")): parent does not exist") }
                try child.insert(value, at: rest, replacing: replacing)
                members[token] = child
            }
            self = .object(members)
        case .array(var items):
            let index = token == "-" ? items.count : Int(token) ?? -1
            guard index >= 0, index <= items.count, rest.isEmpty || index < items.count else {
                throw PatchError("array index \(token) is out of range")
            }
            if rest.isEmpty {
                items.insert(value, at: index)
            } else {
                try items[index].insert(value, at: rest, replacing: replacing)
            }
            self = .array(items)
        default:
            throw PatchError("cannot add \(token) to a scalar")
        }
    }

    private mutating func remove(at path: [String]) throws(PatchError) -> JSONValue {
        guard let token = path.first else { throw PatchError("cannot remove the whole document") }
        let rest = Array(path.dropFirst())
        switch self {
        case .object(var members):
            guard var child = members[token] else { throw PatchError("\(token) does not exist") }
            let removed: JSONValue
            if rest.isEmpty {
                removed = child
                members[token] = nil
            } else {
                removed = try child.remove(at: rest)
                members[token] = child
            }
            self = .object(members)
            return removed
        case .array(var items):
            guard let index = Int(token), index >= 0, index < items.count else { throw PatchError("array index \(token) is out of range") }
            let removed: JSONValue
            if rest.isEmpty {
                removed = items.remove(at: index)
            } else {
                removed = try items[index].remove(at: rest)
            }
            self = .array(items)
            return removed
        default:
            throw PatchError("\(token) does not exist")
        }
    }
}
