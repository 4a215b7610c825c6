import EMPModel
import Foundation
import Hummingbird
import NIOFoundationCompat

/// The fields a request type accepts, so unknown fields are refused by name rather than ignored.
public indirect enum FieldSchema: Sendable {
    case value
    case object([String: FieldSchema])
    /// A list whose every element follows the schema.
    case list(FieldSchema)
}

extension FieldSchema {
    /// The same, as the scanner checks it.
    var fields: JSONGuard.Fields {
        switch self {
        case .value: .any
        case .object(let children): .object(children.mapValues(\.fields))
        case .list(let element): .list(element.fields)
        }
    }
}

/// A request body type that declares its accepted fields.
public protocol StrictDecodable: Decodable {
    static var schema: FieldSchema { get }
}

/// Decodes JSON request bodies strictly: invalid JSON, unknown fields, wrong types and missing fields
/// become ``APIError``s that name the field.
enum StrictJSON {
    static func decode<T: StrictDecodable>(_ type: T.Type, from data: Data) throws -> T {
        // Syntax, depth, size, duplicate keys and unknown fields in one scan, before any parser builds objects
        // from the bytes.
        do {
            try JSONGuard.check(data, fields: T.schema.fields)
        } catch let failure as JSONGuard.Failure {
            let field = failure.path.isEmpty ? nil : failure.path
            if failure.isFieldError { throw APIError.invalid(failure.message, field: field) }
            throw APIError.invalid("request body is not acceptable JSON: \(failure.message)", field: field)
        }
        do {
            return try WireJSON.decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            // Foundation reports a number that does not fit an integer field as invalid JSON with no path: find it.
            if error.fieldPath.isEmpty, let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
                let path = firstNonInteger(object, path: "")
            {
                throw APIError.invalid("must be an integer between -9223372036854775808 and 9223372036854775807", field: path)
            }
            throw describe(error)
        }
    }

    static func decode<T: StrictDecodable>(_ type: T.Type, from request: Request, maxBytes: Int) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBytes)
        } catch {
            throw APIError(.contentTooLarge, code: "too_large", "request body exceeds \(maxBytes) bytes")
        }
        return try decode(type, from: Data(buffer: buffer))
    }

    /// The path of the first number that is not a whole number within Int64's range, if any.
    private static func firstNonInteger(_ value: Any, path: String) -> String? {
        if let dictionary = value as? [String: Any] {
            for key in dictionary.keys.sorted() {
                if let found = firstNonInteger(dictionary[key]!, path: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
        } else if let array = value as? [Any] {
            for (index, item) in array.enumerated() {
                if let found = firstNonInteger(item, path: "\(path)[\(index)]") { return found }
            }
        } else if let number = value as? NSNumber, !(value is Bool) {
            let double = number.doubleValue
            if double.rounded() != double || double >= 9.2233720368547758e18 || double < -9.2233720368547758e18 { return path }
        }
        return nil
    }

    private static func describe(_ error: DecodingError) -> APIError {
        let field = error.fieldPath
        return .invalid(error.problem, field: field.isEmpty ? nil : field)
    }
}
