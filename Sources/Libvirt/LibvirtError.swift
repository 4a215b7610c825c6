import CLibvirt
import Foundation

/// A failed libvirt call: libvirt's own error code, domain and message, read on the calling thread.
///
/// Compare ``code`` with the well-known codes below (`error.code == .noDomain`) rather than matching messages.
public struct LibvirtError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `virErrorNumber` (e.g. 42 = `VIR_ERR_NO_DOMAIN`).
    public let code: Code
    /// `virErrorDomain`: which part of libvirt raised it (e.g. 12 = `VIR_FROM_TEST`).
    public let domain: Int32
    /// libvirt's message, verbatim.
    public let message: String
    /// The libvirt function we called.
    public let function: String

    public init(code: Code, domain: Int32, message: String, function: String) {
        self.code = code
        self.domain = domain
        self.message = message
        self.function = function
    }

    public var description: String { "\(function): \(message) (code \(code.rawValue), domain \(domain))" }

    /// A `virErrorNumber`, with names for the ones callers branch on.
    public struct Code: RawRepresentable, Sendable, Hashable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        init(_ number: virErrorNumber) { self.rawValue = Int32(bitPattern: number.rawValue) }

        public static let internalError = Code(VIR_ERR_INTERNAL_ERROR)
        public static let noSupport = Code(VIR_ERR_NO_SUPPORT)
        public static let noConnect = Code(VIR_ERR_NO_CONNECT)
        public static let invalidArgument = Code(VIR_ERR_INVALID_ARG)
        public static let xmlError = Code(VIR_ERR_XML_ERROR)
        public static let xmlDetail = Code(VIR_ERR_XML_DETAIL)
        public static let operationFailed = Code(VIR_ERR_OPERATION_FAILED)
        public static let operationInvalid = Code(VIR_ERR_OPERATION_INVALID)
        public static let operationAborted = Code(VIR_ERR_OPERATION_ABORTED)
        public static let operationUnsupported = Code(VIR_ERR_OPERATION_UNSUPPORTED)
        public static let noDomain = Code(VIR_ERR_NO_DOMAIN)
        public static let noDomainMetadata = Code(VIR_ERR_NO_DOMAIN_METADATA)
        public static let domainExists = Code(VIR_ERR_DOM_EXIST)
        public static let migrateUnsafe = Code(VIR_ERR_MIGRATE_UNSAFE)
        public static let systemError = Code(VIR_ERR_SYSTEM_ERROR)
        public static let rpcError = Code(VIR_ERR_RPC)
        public static let authFailed = Code(VIR_ERR_AUTH_FAILED)
        public static let argumentUnsupported = Code(VIR_ERR_ARGUMENT_UNSUPPORTED)
    }
}

// MARK: - The C boundary

/// Reads libvirt's thread-local last error. Must run on the thread that made the failing call, right after it.
func lastError(function: String) -> LibvirtError {
    guard let error = virGetLastError() else {
        return LibvirtError(
            code: .internalError,
            domain: 0,
            message: "\(function) failed without setting an error",
            function: function
        )
    }
    let message = error.pointee.message.map { String(cString: $0) } ?? "unknown libvirt error"
    let result = LibvirtError(
        code: LibvirtError.Code(rawValue: error.pointee.code),
        domain: error.pointee.domain,
        message: message,
        function: function
    )
    virResetLastError()
    return result
}

/// Calls a libvirt function that returns -1 on failure; throws ``LibvirtError`` built from `virGetLastError`.
@discardableResult
func libvirtCall(_ function: String, _ body: () -> Int32) throws -> Int32 {
    let result = body()
    if result < 0 { throw lastError(function: function) }
    return result
}

/// Calls a libvirt function that returns NULL on failure.
func libvirtCall<P>(_ function: String, _ body: () -> P?) throws -> P {
    guard let result = body() else { throw lastError(function: function) }
    return result
}

/// Takes ownership of a libvirt-allocated C string (frees it with `free`).
func takeString(_ pointer: UnsafeMutablePointer<CChar>) -> String {
    defer { free(pointer) }
    return String(cString: pointer)
}

/// The UUID of a domain as text (`virDomainGetUUIDString`), or "" if libvirt cannot tell.
func uuidString(of domain: OpaquePointer) -> String {
    var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
    guard virDomainGetUUIDString(domain, &buffer) == 0 else { return "" }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
