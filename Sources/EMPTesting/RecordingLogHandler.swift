import Foundation
public import Logging

/// A log handler that keeps every message, so a test can wait for what a component logged (a retry, a warning)
/// instead of sleeping and hoping it happened.
public struct RecordingLogHandler: LogHandler {
    /// The messages logged so far, shared by every copy of the handler.
    public final class Records: @unchecked Sendable {
        // @unchecked: guarded by `lock`.
        private let lock = NSLock()
        private var messages: [String] = []

        public init() {}

        func append(_ message: String) { lock.withLock { messages.append(message) } }

        /// Every message so far, oldest first.
        public var all: [String] { lock.withLock { messages } }
    }

    public let records: Records
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]

    public init(records: Records) { self.records = records }

    /// A logger whose messages land in `records`.
    public static func logger(label: String, records: Records) -> Logger {
        Logger(label: label) { _ in RecordingLogHandler(records: records) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        records.append(event.message.description)
    }
}
