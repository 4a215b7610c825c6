import EMPCertificates
public import EMPModel
import Foundation
public import Logging
import NIOConcurrencyHelpers
import NIOCore
public import NIOSSL
public import ServiceLifecycle

/// Serves the certificate and key currently on disk: every TLS handshake takes the last pair loaded, and the
/// files are checked every ``interval`` (cert-manager and Secret volumes replace them in place). A pair that does
/// not load, or whose key does not match, is refused and the previous one kept, so a half-finished rotation never
/// breaks handshakes.
public final class CertificateReloader: Service, Sendable {
    struct Loaded {
        var chain: [NIOSSLCertificate]
        var key: NIOSSLPrivateKey
        var signature: String
    }

    public let certificatePath: String
    public let keyPath: String
    let interval: Duration
    /// The checks run on this clock.
    let clock: any EMPClock
    let logger: Logger
    private let current: NIOLockedValueBox<Loaded>
    /// The file signature last refused, so one bad rotation is logged once, not at every check.
    private let refused = NIOLockedValueBox<String?>(nil)

    /// Loads the pair now; throws a message naming the file when it cannot be used.
    public init(
        certificatePath: String, keyPath: String, interval: Duration = .seconds(2), clock: any EMPClock = SystemClock(),
        logger: Logger
    ) throws {
        self.clock = clock
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.interval = interval
        self.logger = logger
        current = NIOLockedValueBox(try Self.load(certificatePath, keyPath))
    }

    /// The serial number of the certificate in use, for logs and tests.
    public var servingSerial: [UInt8] { current.withLockedValue { $0.chain.first?.serialNumber ?? [] } }

    /// A server configuration whose certificate follows the files.
    public func tlsConfiguration() -> TLSConfiguration {
        let loaded = current.withLockedValue { $0 }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: loaded.chain.map { .certificate($0) }, privateKey: .privateKey(loaded.key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { [current] _, promise in
            let loaded = current.withLockedValue { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = loaded.chain.map { .certificate($0) }
            override.privateKey = .privateKey(loaded.key)
            promise.succeed(override)
        }
        return configuration
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    try await self.clock.sleep(for: self.interval)
                    self.reloadIfChanged()
                }
            }
        } catch is CancellationError {}
    }

    /// Loads the files again when they changed; returns true when a new pair is now in use.
    @discardableResult
    public func reloadIfChanged() -> Bool {
        let signature = Self.signature(certificatePath, keyPath)
        guard signature != current.withLockedValue({ $0.signature }), signature != refused.withLockedValue({ $0 }) else { return false }
        do {
            let loaded = try Self.load(certificatePath, keyPath)
            current.withLockedValue { $0 = loaded }
            logger.notice("serving certificate reloaded", metadata: ["certificate": "\(certificatePath)"])
            return true
        } catch {
            refused.withLockedValue { $0 = signature }
            logger.error("keeping the previous serving certificate", metadata: ["error": "\(error)"])
            return false
        }
    }

    static func load(_ certificatePath: String, _ keyPath: String) throws -> Loaded {
        let signature = signature(certificatePath, keyPath)
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw WebhookError("cannot read the serving certificate \(certificatePath): \(error)")
        }
        guard !chain.isEmpty else { throw WebhookError("\(certificatePath) holds no PEM certificate") }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw WebhookError("cannot read the serving key \(keyPath): \(error)")
        }
        let matches = try? CertificateAuthority.keyMatches(
            certificatePEM: String(contentsOfFile: certificatePath, encoding: .utf8),
            keyPEM: String(contentsOfFile: keyPath, encoding: .utf8))
        guard matches == true else {
            throw WebhookError("the key \(keyPath) does not belong to the certificate \(certificatePath)")
        }
        return Loaded(chain: chain, key: key, signature: signature)
    }

    /// Modification time, size and inode of both files (Secret volumes swap a symlink; stat follows it).
    static func signature(_ paths: String...) -> String {
        paths.map { path in
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return "missing" }
            let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
            return "\(modified)/\(attributes[.size] ?? 0)/\(attributes[.systemFileNumber] ?? 0)"
        }.joined(separator: "|")
    }
}

/// A webhook setup problem, worded for the operator.
public struct WebhookError: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Logged by ServiceLifecycle at start: the name only, never key material.
extension CertificateReloader: CustomStringConvertible {
    public var description: String { "CertificateReloader" }
}
