public import Foundation

/// An API failure decoded from the server's `Status` body, so callers switch on ``Reason`` instead of codes.
public struct KubeError: Error, Sendable, CustomStringConvertible {
    /// The `Status.reason` values this project acts on.
    public enum Reason: String, Sendable, Hashable {
        case notFound = "NotFound"
        case alreadyExists = "AlreadyExists"
        case conflict = "Conflict"
        case forbidden = "Forbidden"
        case unauthorized = "Unauthorized"
        case invalid = "Invalid"
        case gone = "Gone"
        /// Also `Expired` (410 from a list continue token).
        case expired = "Expired"
        case tooManyRequests = "TooManyRequests"
        case timeout = "Timeout"
        case serverTimeout = "ServerTimeout"
        case badRequest = "BadRequest"
        case methodNotAllowed = "MethodNotAllowed"
        case unsupportedMediaType = "UnsupportedMediaType"
        case internalError = "InternalError"
        case serviceUnavailable = "ServiceUnavailable"
        /// The server sent something that is not the API (garbage on a watch, non-JSON body).
        case invalidResponse = "InvalidResponse"
        case unknown = ""
    }

    /// A field-level cause of an `Invalid` error.
    public struct Cause: Sendable, Hashable {
        public var field: String?
        public var message: String
        public var reason: String?
    }

    public var reason: Reason
    public var code: Int
    public var message: String
    public var causes: [Cause]
    /// Seconds the server asked us to wait (Retry-After or `details.retryAfterSeconds`).
    public var retryAfterSeconds: Int?

    public init(reason: Reason, code: Int, message: String, causes: [Cause] = [], retryAfterSeconds: Int? = nil) {
        self.reason = reason
        self.code = code
        self.message = message
        self.causes = causes
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Decodes a `Status` body; falls back on the HTTP code when the body is not a Status.
    public init(status code: Int, body: Data, retryAfter: Int? = nil) {
        let value = try? JSONDecoder().decode(JSONValue.self, from: body)
        let status = value?["kind"]?.stringValue == "Status" ? value : nil
        self.init(statusObject: status, code: code, fallback: String(decoding: body.prefix(512), as: UTF8.self))
        if retryAfterSeconds == nil { retryAfterSeconds = retryAfter }
    }

    /// Decodes a `Status` object (as carried by a watch ERROR event).
    public init(statusObject status: JSONValue?, code: Int, fallback: String = "") {
        let statusCode = status?["code"]?.intValue.map(Int.init) ?? code
        let reasonText = status?["reason"]?.stringValue ?? ""
        self.code = statusCode
        self.reason = Reason(rawValue: reasonText).flatMap { $0 == .unknown ? nil : $0 } ?? Self.reason(forCode: statusCode)
        self.message = status?["message"]?.stringValue ?? (fallback.isEmpty ? "HTTP \(statusCode)" : fallback)
        self.causes = (status?.value(atPath: "details.causes")?.arrayValue ?? []).map {
            Cause(field: $0["field"]?.stringValue, message: $0["message"]?.stringValue ?? "", reason: $0["reason"]?.stringValue)
        }
        self.retryAfterSeconds = status?.value(atPath: "details.retryAfterSeconds")?.intValue.map(Int.init)
    }

    static func reason(forCode code: Int) -> Reason {
        switch code {
        case 400: .badRequest
        case 401: .unauthorized
        case 403: .forbidden
        case 404: .notFound
        case 405: .methodNotAllowed
        case 409: .conflict
        case 410: .gone
        case 415: .unsupportedMediaType
        case 422: .invalid
        case 429: .tooManyRequests
        case 500: .internalError
        case 503: .serviceUnavailable
        case 504: .timeout
        default: .unknown
        }
    }

    public var description: String {
        var text = "\(reason == .unknown ? "HTTP \(code)" : reason.rawValue): \(message)"
        if !causes.isEmpty {
            text += " (" + causes.map { [$0.field, $0.message].compactMap { $0 }.joined(separator: ": ") }.joined(separator: "; ") + ")"
        }
        return text
    }

    /// True for 410: a watch or continue token too old; relist.
    public var isGone: Bool { reason == .gone || reason == .expired || code == 410 }
}
