import Foundation

/// A value that maps to and from JSON, so typed accessors on ``JSONBacked`` objects read and write through to it.
public protocol JSONRepresentable {
    init?(json: JSONValue)
    var json: JSONValue { get }
}

/// A typed view over a JSON object: the modelled fields are accessors; every other member survives a round trip.
public protocol JSONBacked: JSONRepresentable, Codable, Sendable, Hashable {
    var object: JSONObject { get set }
    init(object: JSONObject)
}

extension JSONBacked {
    public init?(json: JSONValue) {
        guard let object = json.objectValue else { return nil }
        self.init(object: object)
    }

    public var json: JSONValue { .object(object) }

    public init(from decoder: any Decoder) throws {
        self.init(object: try JSONObject(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try object.encode(to: encoder)
    }

    /// A typed member; nil when absent or of another type. Setting nil removes the member.
    public subscript<T: JSONRepresentable>(_ key: String) -> T? {
        get { object[key].flatMap(T.init(json:)) }
        set { object[key] = newValue?.json }
    }

    /// A list member, empty when absent; setting an empty list removes the member.
    public subscript<T: JSONRepresentable>(list key: String) -> [T] {
        get { object[key]?.arrayValue?.compactMap(T.init(json:)) ?? [] }
        set { object[key] = newValue.isEmpty ? nil : .array(newValue.map(\.json)) }
    }

    /// A string map member (labels, nodeSelector, data), empty when absent; setting an empty map removes it.
    public subscript(map key: String) -> [String: String] {
        get { self[key] ?? [:] }
        set { object[key] = newValue.isEmpty ? nil : newValue.json }
    }

    /// A nested object, empty when absent; setting an empty object removes it.
    public subscript<T: JSONBacked>(object key: String) -> T {
        get { self[key] ?? T(object: [:]) }
        set { object[key] = newValue.object.isEmpty ? nil : newValue.json }
    }
}

extension JSONValue: JSONRepresentable {
    public init?(json: JSONValue) { self = json }
    public var json: JSONValue { self }
}

extension String: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let value = json.stringValue else { return nil }
        self = value
    }
    public var json: JSONValue { .string(self) }
}

extension Int: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let value = json.intValue, let int = Int(exactly: value) else { return nil }
        self = int
    }
    public var json: JSONValue { .int(Int64(self)) }
}

extension Int64: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let value = json.intValue else { return nil }
        self = value
    }
    public var json: JSONValue { .int(self) }
}

extension Bool: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let value = json.boolValue else { return nil }
        self = value
    }
    public var json: JSONValue { .bool(self) }
}

extension Array: JSONRepresentable where Element: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let values = json.arrayValue else { return nil }
        self = values.compactMap(Element.init(json:))
    }
    public var json: JSONValue { .array(map(\.json)) }
}

extension Dictionary: JSONRepresentable where Key == String, Value: JSONRepresentable {
    public init?(json: JSONValue) {
        guard let object = json.objectValue else { return nil }
        self = object.compactMapValues(Value.init(json:))
    }
    public var json: JSONValue { .object(mapValues(\.json)) }
}

/// Any JSON object, for kinds this module does not model (and for KubeSim's storage).
public struct Unstructured: JSONBacked {
    public var object: JSONObject
    public init(object: JSONObject) { self.object = object }
}
