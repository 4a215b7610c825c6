import EMPModel
import Foundation
import Hummingbird

/// The fields a request type accepts, so unknown fields are refused by name rather than ignored.
public indirect enum FieldSchema: Sendable {
    case value
    case object([String: FieldSchema])
}

/// A request body type that declares its accepted fields.
public protocol StrictDecodable: Decodable {
    static var schema: FieldSchema { get }
}

/// Decodes JSON request bodies strictly: invalid JSON, unknown fields, wrong types and missing fields
/// become ``APIError``s that name the field.
enum StrictJSON {
    static func decode<T: StrictDecodable>(_ type: T.Type, from data: Data) throws -> T {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw APIError.invalid("request body is not valid JSON", field: nil)
        }
        try checkFields(object, against: T.schema, path: "")
        do {
            return try WireJSON.decoder().decode(T.self, from: data)
        } catch let error as DecodingError {
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

    private static func checkFields(_ value: Any, against schema: FieldSchema, path: String) throws {
        guard case .object(let fields) = schema else { return }
        guard let dictionary = value as? [String: Any] else {
            throw APIError.invalid("must be a JSON object", field: path.isEmpty ? nil : path)
        }
        for key in dictionary.keys.sorted() {
            let field = path.isEmpty ? key : "\(path).\(key)"
            guard let child = fields[key] else {
                throw APIError.invalid("unknown field", field: field)
            }
            if let nested = dictionary[key], !(nested is NSNull) {
                try checkFields(nested, against: child, path: field)
            }
        }
    }

    private static func describe(_ error: DecodingError) -> APIError {
        let field = error.fieldPath
        return .invalid(error.problem, field: field.isEmpty ? nil : field)
    }
}
