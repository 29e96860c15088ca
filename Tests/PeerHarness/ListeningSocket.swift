import Foundation

/// Listening sockets for the small in-process peers tests write themselves (a serial line, a silent or trickling
/// control socket): bound, listening and close-on-exec, or an error naming where.
public enum ListeningSocket {
    /// A TCP socket listening on 127.0.0.1:`port`.
    public static func tcp(port: Int, backlog: Int32 = 16) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError.peerFailed("no socket for 127.0.0.1:\(port)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return try listening(descriptor, bound: bound, backlog: backlog, "127.0.0.1:\(port)")
    }

    /// A unix stream socket listening at `path`.
    public static func unix(path: String, backlog: Int32 = 16) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw HarnessError.peerFailed("socket path too long: \(path)") }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError.peerFailed("no socket for \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        return try listening(descriptor, bound: bound, backlog: backlog, path)
    }

    private static func listening(_ descriptor: Int32, bound: Int32, backlog: Int32, _ place: String) throws -> Int32 {
        guard bound == 0, listen(descriptor, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw HarnessError.peerFailed("cannot listen on \(place): \(reason)")
        }
        return descriptor
    }
}
