import Hummingbird
import NIOCore

/// The request context of both listeners: Hummingbird's core storage plus the peer address, which the
/// source allow-list and the boot API's per-installation IP check need.
public struct AgentRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address as text (`127.0.0.1`, `::1`), IPv4-mapped IPv6 addresses unwrapped.
    public var peerAddress: String? {
        guard let address = remoteAddress?.ipAddress else { return nil }
        if address.hasPrefix("::ffff:"), address.contains(".") { return String(address.dropFirst(7)) }
        return address
    }
}
