import Foundation
import Synchronization

/// Ports free on 127.0.0.1 right now, never the same one twice in a test run, and below the kernel's ephemeral range:
/// a port from `bind(0)` comes from that range, which outgoing connections of every process draw their local ports
/// from too, so a peer could find "its" port taken by some client's connection before it bound it (fakenos once
/// failed with EADDRINUSE that way). Ports below the range are only ever taken by an explicit bind.
public enum FreePort {
    public static func tcp() -> Int { unique(type: Int32(SOCK_STREAM.rawValue)) }
    public static func udp() -> Int { unique(type: Int32(SOCK_DGRAM.rawValue)) }

    private static let handedOut = Mutex<Set<Int>>([])

    /// Claims a port a peer derives from another (qemu's VNC WebSocket at display + 5700) so that it is never handed
    /// out as well; false when it already was.
    public static func reserve(_ port: Int) -> Bool {
        handedOut.withLock { $0.insert(port).inserted }
    }

    private static func unique(type: Int32) -> Int {
        handedOut.withLock { handedOut in
            for _ in 0..<1000 {
                let port = allocate(type: type)
                if handedOut.insert(port).inserted { return port }
            }
            preconditionFailure("no unused port left after 1000 tries")
        }
    }

    /// The ports handed out: from 10000 up to the start of the ephemeral range (32768 unless configured otherwise).
    static let candidates: Range<Int> = {
        let configured = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
            .split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) }
        let ephemeralStart = max(configured ?? 32768, 12000)
        return 10000..<ephemeralStart
    }()

    /// A random candidate that can be bound right now with `type`.
    private static func allocate(type: Int32) -> Int {
        for _ in 0..<10_000 {
            let port = Int.random(in: candidates)
            if canBind(port, type: type) { return port }
        }
        preconditionFailure("no bindable port below the ephemeral range after 10000 tries")
    }

    private static func canBind(_ port: Int, type: Int32) -> Bool {
        let descriptor = socket(AF_INET, type, 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Waits (bounded) until something accepts TCP connections on 127.0.0.1:`port`.
    public static func waitForTCP(_ port: Int, timeout: Duration = .seconds(15)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if canConnect(port) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError.timeout("nothing listens on 127.0.0.1:\(port)")
    }

    /// Whether `port` on 127.0.0.1 can be bound right now (for a peer that needs a port derived from another).
    public static func isFree(_ port: Int) -> Bool {
        canBind(port, type: Int32(SOCK_STREAM.rawValue))
    }

    public static func canConnect(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

public enum HarnessError: Error, CustomStringConvertible {
    case timeout(String)
    case peerFailed(String)

    public var description: String {
        switch self {
        case .timeout(let message): return "timeout: \(message)"
        case .peerFailed(let message): return "peer failed: \(message)"
        }
    }
}

/// A TCP port on 127.0.0.1 held by a listening socket until `close()`: "another process already listens here".
public final class TCPPortHolder: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw HarnessError.peerFailed("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0, listen(descriptor, 1) == 0 else {
            Foundation.close(descriptor)
            throw HarnessError.peerFailed("cannot listen on 127.0.0.1")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public func close() {
        Foundation.close(descriptor)
    }
}
