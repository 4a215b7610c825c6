import Crypto
import Foundation
import HTTPTypes

/// Random secrets and their stored hashes (join tokens, agent credentials, generated operator tokens).
enum Secrets {
    /// 32 random bytes as lowercase hex.
    static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// SHA-256 of `secret`, hex: what the store keeps.
    static func hash(_ secret: String) -> String { hex(SHA256.hash(data: Data(secret.utf8))) }

    /// HMAC-SHA256 of `label` under `key`, hex: a secret that can be made again from the label (a launch's join
    /// token) without being stored.
    static func derived(key: SymmetricKey, from label: String) -> String {
        hex(HMAC<SHA256>.authenticationCode(for: Data(label.utf8), using: key))
    }

    /// Lowercase hex of `bytes`.
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        for byte in bytes {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// The secret of an `Authorization: Bearer <secret>` header; nil when there is none.
    static func bearer(_ headers: HTTPFields) -> String? {
        guard let header = headers[.authorization], header.hasPrefix("Bearer ") else { return nil }
        return String(header.dropFirst("Bearer ".count))
    }

    /// Compares in time independent of the inputs' contents and lengths: both are hashed to 32 bytes first, and
    /// the digests are compared without an early exit (no length leaks, as it would from comparing the strings).
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(SHA256.hash(data: Data(a.utf8))), Array(SHA256.hash(data: Data(b.utf8))))
        var difference: UInt8 = 0
        for index in 0..<32 { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
