public import AsyncHTTPClient
public import EMPModel
public import Foundation
public import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// The EC2 Query API (`Action=...&Version=2016-11-15`, form-encoded POST, SigV4-signed) for the few actions a
/// host provider needs. Hand-written: no AWS SDK for Swift is available here (docs/architecture.md).
public struct EC2Client: Sendable {
    public static let apiVersion = "2016-11-15"

    public let region: String
    public let endpoint: URL
    let credentials: any AWSCredentialSource
    let client: HTTPClient
    let clock: any EMPClock
    /// Attempts per call when AWS says a retry can succeed (throttling, its own faults).
    let attempts: Int
    let timeout: TimeAmount

    /// `endpoint` defaults to `https://ec2.<region>.amazonaws.com` (set it for moto, a VPC endpoint or a proxy).
    public init(
        region: String, endpoint: URL? = nil, credentials: any AWSCredentialSource, client: HTTPClient, clock: any EMPClock = SystemClock(),
        attempts: Int = 4, timeout: TimeAmount = .seconds(30)
    ) {
        self.region = region
        self.endpoint = endpoint ?? URL(string: "https://ec2.\(region).amazonaws.com/")!
        self.credentials = credentials
        self.client = client
        self.clock = clock
        self.attempts = max(1, attempts)
        self.timeout = timeout
    }

    /// Calls `action` with `parameters`; retries with exponential backoff (0.5 s, 1 s, 2 s …) only on errors AWS
    /// documents as retryable. Throws ``EC2Error``.
    public func call(_ action: String, _ parameters: [(String, String)]) async throws -> XMLValue {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await once(action, parameters)
            } catch let error as EC2Error where error.retryable && attempt < attempts {
                try await clock.sleep(for: .milliseconds(500 << (attempt - 1)))
            }
        }
    }

    func once(_ action: String, _ parameters: [(String, String)]) async throws -> XMLValue {
        let form = ([("Action", action), ("Version", Self.apiVersion)] + parameters)
            .map { "\(SigV4Signer.encode($0.0))=\(SigV4Signer.encode($0.1))" }.joined(separator: "&")
        let body = Array(form.utf8)
        let resolved: AWSCredentials
        do {
            guard let found = try await credentials.load() else { throw AWSCredentialError("no AWS credentials") }
            resolved = found
        } catch {
            throw EC2Error(code: "NoCredentials", message: "\(error)", status: 0)
        }
        let contentType = ("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        let signed = SigV4Signer(region: region, service: "ec2").sign(
            method: "POST", url: endpoint, headers: [contentType], body: body, credentials: resolved, date: clock.date)
        var request = HTTPClientRequest(url: endpoint.absoluteString)
        request.method = .POST
        for (name, value) in [contentType] + signed { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        let data: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            data = try await response.body.collect(upTo: 16 << 20)
        } catch {
            throw EC2Error(code: "ConnectionFailed", message: "\(endpoint.absoluteString): \(error)", status: 0)
        }
        let xml = XMLValue.parse(Data(buffer: data))
        guard response.status.code < 300 else {
            let error = xml?.all("Error").first
            throw EC2Error(
                code: error?.text("Code") ?? "HTTP\(response.status.code)",
                message: error?.text("Message") ?? String(buffer: data).prefix(200).description,
                status: Int(response.status.code), requestID: xml?.text("RequestID"))
        }
        guard let xml else { throw EC2Error(code: "MalformedResponse", message: "\(action): the answer is not XML", status: 200) }
        return xml
    }
}

/// An error EC2 answered (its code and message) or a failure to reach it, classified as AWS's documentation does:
/// which errors a retry can fix and which need a person.
public struct EC2Error: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    /// HTTP status; 0 when no answer came.
    public var status: Int
    public var requestID: String?

    public init(code: String, message: String, status: Int, requestID: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.requestID = requestID
    }

    /// What kind of failure this is.
    public enum Kind: Sendable {
        /// No capacity for the type in that zone: try another zone or type, later.
        case capacity
        /// Throttled: the same call succeeds after a wait.
        case throttled
        /// AWS's own fault or no answer: the same call may succeed.
        case transient
        /// Credentials or permissions: a person must act.
        case unauthorized
        /// Anything else (bad parameters, unknown AMI, …): retrying the same call fails the same way.
        case invalid
    }

    public var kind: Kind {
        switch code {
        case "InsufficientInstanceCapacity", "InsufficientHostCapacity", "InsufficientCapacity", "InsufficientReservedInstanceCapacity",
            "InsufficientFreeAddressesInSubnet", "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded":
            return .capacity
        case "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled":
            return .throttled
        case "InternalError", "ServiceUnavailable", "Unavailable", "ConnectionFailed":
            return .transient
        case "UnauthorizedOperation", "AuthFailure", "NoCredentials", "Blocked", "OptInRequired", "SignatureDoesNotMatch":
            return .unauthorized
        default:
            return status >= 500 ? .transient : .invalid
        }
    }

    /// True when the same call may succeed after a wait (AWS's retry guidance: throttling and server errors).
    public var retryable: Bool { kind == .throttled || kind == .transient }

    public var description: String { "\(code): \(message)" }
}
