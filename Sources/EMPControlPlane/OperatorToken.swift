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
        let token = "emp_" + Secrets.random()
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
