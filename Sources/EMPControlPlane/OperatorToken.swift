import Foundation

/// The operator token kept in the data directory when none is configured: generated once, mode 0600.
enum OperatorToken {
    static let fileName = "operator-token"

    /// Returns the stored token, creating it when missing; `created` tells the caller to print it once.
    static func loadOrCreate(in directory: String) throws -> (token: String, created: Bool) {
        let path = (directory as NSString).appendingPathComponent(fileName)
        if let existing = try? String(contentsOfFile: path, encoding: .utf8) {
            let token = existing.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return (token, false) }
        }
        var generator = SystemRandomNumberGenerator()
        let token = "emp_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        let written = FileManager.default.createFile(
            atPath: path,
            contents: Data((token + "\n").utf8),
            attributes: [.posixPermissions: 0o600]
        )
        guard written else { throw OperatorTokenError(path: path) }
        return (token, true)
    }
}

/// The generated operator token could not be saved.
struct OperatorTokenError: Error, CustomStringConvertible {
    let path: String
    var description: String { "cannot write the operator token to \(path)" }
}
