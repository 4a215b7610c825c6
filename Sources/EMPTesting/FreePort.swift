import Foundation

/// A TCP port on 127.0.0.1 that nothing listens on now, for a server whose address must be known before it starts
/// (a replica's advertised URL). The kernel hands ports out in turn, so it stays free for the moment a test needs.
public func freeLoopbackPort() throws -> Int {
    let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw TestSupportError("socket(): errno \(errno)") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            guard bind(socket, generic, length) == 0 else { return false }
            return getsockname(socket, generic, &length) == 0
        }
    }
    guard bound else { throw TestSupportError("bind(127.0.0.1:0): errno \(errno)") }
    return Int(UInt16(bigEndian: address.sin_port))
}
