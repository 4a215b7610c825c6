import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 channel with ``HTTP1RequestGuard`` inserted where the request's HTTP version is still
/// known (before Hummingbird turns parts into version-less `HTTPTypes`).
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).map { value in
            // The value must reach `handle` whatever happens here (NIO traps when its writer is dropped unfinished);
            // adding fails only on a channel that is already closing, which then needs no guard.
            let operations = channel.pipeline.syncOperations
            if let codec = try? operations.handler(type: HTTP1ToHTTPServerCodec.self) {
                try? operations.addHandler(HTTP1RequestGuard(), position: .before(codec))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Two HTTP/1 rules Hummingbird leaves to the application:
/// - `CONNECT` (a proxy tunnel) is answered `405` with a JSON error and `Connection: close`, and the connection is
///   closed: NIO would otherwise treat the answer as a tunnel (no `Content-Length`) and keep the socket open.
/// - A request that does not ask for keep-alive (HTTP/1.0 without `Connection: keep-alive`, or
///   `Connection: close`) gets `Connection: close` on its response, and the connection is closed after it.
final class HTTP1RequestGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Keep-alive wishes of the requests not yet answered, oldest first (requests may be pipelined).
    private var keepAlive: [Bool] = []
    /// Set after a CONNECT: everything else the client sends is dropped.
    private var refusing = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if refusing { return }
        if case .head(let head) = part {
            if head.method == .CONNECT {
                refusing = true
                refuseConnect(context: context, version: head.version)
                return
            }
            keepAlive.append(head.isKeepAlive)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where keepAlive.first == false:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where !keepAlive.isEmpty:
            let close = keepAlive.removeFirst() == false
            if close {
                let closing = context.eventLoop.makePromise(of: Void.self)
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                closing.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
                promise.map { closing.futureResult.cascade(to: $0) }
                context.writeAndFlush(data, promise: closing)
            } else {
                context.write(data, promise: promise)
            }
        default:
            context.write(data, promise: promise)
        }
    }

    private func refuseConnect(context: ChannelHandlerContext, version: HTTPVersion) {
        let body = #"{"error":"method_not_allowed","message":"CONNECT is not supported by this server"}"#
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: "\(body.utf8.count)")
        headers.add(name: "connection", value: "close")
        // NIO's response encoder drops the framing and body of any answer to CONNECT (it expects a tunnel), so the
        // bytes are written below it, from the encoder's own context.
        var text = "HTTP/\(version.major).\(version.minor) 405 Method Not Allowed\r\n"
        for header in headers { text += "\(header.name): \(header.value)\r\n" }
        text += "\r\n" + body
        let bytes = context.channel.allocator.buffer(string: text)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        guard let encoder = try? context.pipeline.syncOperations.context(handlerType: HTTPResponseEncoder.self) else {
            context.close(promise: nil)
            return
        }
        encoder.writeAndFlush(NIOAny(bytes)).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
