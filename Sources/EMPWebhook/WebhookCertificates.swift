import EMPCertificates
import Foundation

/// `emp-webhook certs`: a CA and a serving certificate for the webhook's Service, written as files a Secret can
/// be made from, and the `caBundle` for the MutatingWebhookConfiguration. For clusters without cert-manager.
public enum WebhookCertificates {
    /// What was written.
    public struct Written: Sendable {
        /// Base64 of the CA certificate PEM: the `caBundle` value.
        public var caBundle: String
        public var files: [String]
    }

    /// The DNS names the API server may use to reach `service` in `namespace`.
    public static func dnsNames(service: String, namespace: String) -> [String] {
        [service, "\(service).\(namespace)", "\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local"]
    }

    /// Writes `ca.crt`, `ca.key`, `tls.crt`, `tls.key` into `directory` (keys 0600). An existing CA there is reused,
    /// so re-running renews the serving certificate without changing the caBundle.
    public static func write(service: String, namespace: String, to directory: String, extraNames: [String] = []) throws -> Written {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let caCertificate = "\(directory)/ca.crt"
        let caKey = "\(directory)/ca.key"
        let authority: CertificateAuthority
        if fileManager.fileExists(atPath: caCertificate), fileManager.fileExists(atPath: caKey) {
            authority = try CertificateAuthority(
                certificatePEM: String(contentsOfFile: caCertificate, encoding: .utf8),
                privateKeyPEM: String(contentsOfFile: caKey, encoding: .utf8))
        } else {
            authority = try CertificateAuthority(commonName: "emp-webhook-ca")
            try write(authority.privateKeyPEM, to: caKey, mode: 0o600)
            try write(authority.certificatePEM, to: caCertificate, mode: 0o644)
        }
        let addresses = extraNames.filter { CertificateAuthority.isIPAddress($0) }
        let names = dnsNames(service: service, namespace: namespace) + extraNames.filter { !CertificateAuthority.isIPAddress($0) }
        let serving = try authority.issueServer(commonName: "\(service).\(namespace).svc", dnsNames: names, ipAddresses: addresses)
        try write(serving.privateKeyPEM, to: "\(directory)/tls.key", mode: 0o600)
        try write(serving.certificatePEM, to: "\(directory)/tls.crt", mode: 0o644)
        return Written(
            caBundle: Data(authority.certificatePEM.utf8).base64EncodedString(),
            files: ["ca.crt", "ca.key", "tls.crt", "tls.key"].map { "\(directory)/\($0)" })
    }

    /// Writes through a temporary file and a rename, so a reloading server never reads half a file.
    static func write(_ text: String, to path: String, mode: Int) throws {
        let partial = path + ".partial"
        try Data(text.utf8).write(to: URL(fileURLWithPath: partial))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: partial)
        // rename(2) replaces the old file atomically: a reloading server never finds it missing.
        guard rename(partial, path) == 0 else { throw WebhookError("cannot move \(partial) to \(path)") }
    }
}
