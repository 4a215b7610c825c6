public import Foundation

/// The JSON conventions of EMP's HTTP APIs (control plane ↔ agent, ↔ empctl): ISO 8601 dates, sorted keys.
/// Both sides use these so a value round-trips unchanged.
public enum WireJSON {
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
