import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One change on a watch.
public struct WatchEvent<T: KubeResource>: Sendable {
    public enum Kind: String, Sendable {
        case added = "ADDED"
        case modified = "MODIFIED"
        case deleted = "DELETED"
        /// Only `metadata.resourceVersion` is meaningful: the point a later watch resumes from.
        case bookmark = "BOOKMARK"
    }

    public var type: Kind
    public var object: T
}

/// Watch parameters.
public struct WatchOptions: Sendable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Resume after this version; nil starts with synthetic ADDED events for every current object.
    public var resourceVersion: String?
    public var allowBookmarks = true
    /// The server ends the watch after this long (the caller then resumes).
    public var timeoutSeconds = 300

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, resourceVersion: String? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.resourceVersion = resourceVersion
    }
}

extension Resources {
    /// A watch as an async sequence. It ends when the server closes the stream; it throws ``KubeError`` for an ERROR
    /// event (410 ``KubeError/isGone``: relist) and ``KubeError/Reason/invalidResponse`` for bytes that are not events.
    public func watch(_ options: WatchOptions = WatchOptions()) -> AsyncThrowingStream<WatchEvent<T>, any Error> {
        let client = client
        let path = type.path(namespace: namespace)
        var query: [(String, String)] = [("watch", "true"), ("timeoutSeconds", String(options.timeoutSeconds))]
        if options.allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let selector = options.labelSelector, !selector.isEmpty { query.append(("labelSelector", selector)) }
        if let selector = options.fieldSelector, !selector.isEmpty { query.append(("fieldSelector", selector)) }
        if let version = options.resourceVersion { query.append(("resourceVersion", version)) }
        let deadline = Duration.seconds(options.timeoutSeconds + 30)
        let parameters = query
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await client.limiter.acquire()
                    let request = try await client.makeRequest(
                        .GET, path, query: parameters, body: nil, contentType: "application/json", accept: "application/json")
                    let response = try await client.http.execute(request, timeout: .init(deadline))
                    guard response.status == .ok else {
                        let body = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                        throw KubeError(status: Int(response.status.code), body: body, retryAfter: KubeClient.retryAfter(response.headers))
                    }
                    var lines = LineBuffer()
                    for try await chunk in response.body {
                        lines.append(chunk)
                        while let line = try lines.next() {
                            continuation.yield(try Self.event(line))
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func event(_ line: Data) throws -> WatchEvent<T> {
        guard let value = try? JSONValue.parse(line), let typeName = value["type"]?.stringValue,
            let object = value["object"]
        else {
            throw KubeError(
                reason: .invalidResponse, code: 200,
                message: "watch sent a line that is not an event: \(String(decoding: line.prefix(120), as: UTF8.self))")
        }
        if typeName == "ERROR" { throw KubeError(statusObject: object, code: 500) }
        guard let kind = WatchEvent<T>.Kind(rawValue: typeName), let typed = T(json: object) else {
            throw KubeError(reason: .invalidResponse, code: 200, message: "watch sent an event of unknown type \(typeName)")
        }
        return WatchEvent(type: kind, object: typed)
    }
}

/// Splits a chunked byte stream into newline-terminated lines.
struct LineBuffer {
    /// A line longer than this is not an event.
    static let maximum = 32 << 20
    private var buffer = Data()

    mutating func append(_ chunk: ByteBuffer) {
        buffer.append(contentsOf: chunk.readableBytesView)
    }

    mutating func next() throws -> Data? {
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.count > Self.maximum {
                throw KubeError(reason: .invalidResponse, code: 200, message: "watch line longer than \(Self.maximum) bytes")
            }
            return nil
        }
        let line = buffer[buffer.startIndex..<newline]
        buffer = Data(buffer[(newline + 1)...])
        let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }
        return trimmed.isEmpty ? try next() : Data(trimmed)
    }
}
