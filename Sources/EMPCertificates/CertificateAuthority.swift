import Crypto
import Foundation
import SwiftASN1
import X509

/// A throwaway certificate authority that issues loopback serving certificates and client certificates, so the
/// simulator (and tests) speak real TLS with verification instead of skipping it.
public struct CertificateAuthority: Sendable {
    /// A certificate and its private key, PEM-encoded.
    public struct Issued: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    public let certificatePEM: String
    /// The CA's own key, PEM (keep it 0600: it signs serving certificates).
    public var privateKeyPEM: String { (try? key.serializeAsPEM().pemString) ?? "" }
    let certificate: Certificate
    let key: Certificate.PrivateKey
    let name: DistinguishedName

    /// A fresh CA valid for ten years.
    public init(commonName: String) throws {
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3650 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: key)
        self.key = key
        self.name = name
        self.certificate = certificate
        self.certificatePEM = try certificate.serializeAsPEM().pemString
    }

    /// Loads a CA written earlier (`ca.crt`, `ca.key`), to issue more certificates from it.
    public init(certificatePEM: String, privateKeyPEM: String) throws {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        let key = try Certificate.PrivateKey(pemEncoded: privateKeyPEM)
        guard key.publicKey == certificate.publicKey else { throw CertificateError("the CA key does not belong to the CA certificate") }
        self.certificate = certificate
        self.key = key
        self.name = certificate.subject
        self.certificatePEM = certificatePEM
    }

    /// True when `keyPEM` is the private key of the first certificate in `certificatePEM`.
    public static func keyMatches(certificatePEM: String, keyPEM: String) throws -> Bool {
        let certificate = try Certificate(pemEncoded: certificatePEM)
        return try Certificate.PrivateKey(pemEncoded: keyPEM).publicKey == certificate.publicKey
    }

    /// A serving certificate for `dnsNames` and `ipAddresses` (IPv4 or IPv6 text).
    public func issueServer(commonName: String, dnsNames: [String], ipAddresses: [String] = []) throws -> Issued {
        var names = dnsNames.map { GeneralName.dnsName($0) }
        for address in ipAddresses {
            guard let bytes = Self.addressBytes(address) else { throw CertificateError("\(address) is not an IP address") }
            names.append(.ipAddress(ASN1OctetString(contentBytes: bytes[...])))
        }
        return try issue(
            subject: try DistinguishedName { CommonName(commonName) }, usage: .serverAuth, alternativeNames: names)
    }

    /// A client certificate: Kubernetes reads the user from CN and groups from O.
    public func issueClient(user: String, groups: [String] = []) throws -> Issued {
        let subject = try DistinguishedName {
            for group in groups { OrganizationName(group) }
            CommonName(user)
        }
        return try issue(subject: subject, usage: .clientAuth, alternativeNames: [])
    }

    private func issue(subject: DistinguishedName, usage: ExtendedKeyUsage.Usage, alternativeNames: [GeneralName]) throws -> Issued {
        let leafKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let now = Date()
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: leafKey.publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86400),
            issuer: name, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([usage])
                if !alternativeNames.isEmpty { SubjectAlternativeNames(alternativeNames) }
            },
            issuerPrivateKey: key)
        return Issued(certificatePEM: try leaf.serializeAsPEM().pemString, privateKeyPEM: try leafKey.serializeAsPEM().pemString)
    }

    /// True for IPv4 or IPv6 text.
    public static func isIPAddress(_ text: String) -> Bool { addressBytes(text) != nil }

    static func addressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}

/// A certificate could not be made.
public struct CertificateError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
