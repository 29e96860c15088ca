#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address, parsed strictly with `inet_pton` and printed in canonical form.
public enum IPAddress: Sendable, Hashable, CustomStringConvertible, Comparable {
    case v4(UInt32)
    case v6([UInt8])

    public init?(_ text: String) {
        var v4 = in_addr()
        if !text.contains(":"), inet_pton(AF_INET, text, &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if text.contains(":"), inet_pton(AF_INET6, text, &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    public var isIPv4: Bool { if case .v4 = self { return true } else { return false } }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:10.0.0.10`, as a dual-stack socket reports an IPv4
    /// peer), nil for any other address.
    public var ipv4MappedAddress: IPAddress? {
        guard case .v6(let bytes) = self, bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return .v4(bytes[12...].reduce(0) { ($0 << 8) | UInt32($1) })
    }

    /// Big-endian bytes: 4 for IPv4, 16 for IPv6.
    public var bytes: [UInt8] {
        switch self {
        case .v4(let value): return [UInt8(value >> 24), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
        case .v6(let bytes): return bytes
        }
    }

    public var description: String {
        switch self {
        case .v4:
            return bytes.map(String.init).joined(separator: ".")
        case .v6(let bytes):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        lhs.bytes.count != rhs.bytes.count ? lhs.bytes.count < rhs.bytes.count : lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

/// A CIDR network such as `10.0.0.0/24` or `2001:db8::/64`.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let address: IPAddress
    public let prefixLength: Int

    /// Parses `ADDRESS/PREFIX`; a bare address is a host network (/32 or /128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = address.isIPv4 ? 32 : 128
        let prefix: Int
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...maximum).contains(parsed) else { return nil }
            prefix = parsed
        } else {
            prefix = maximum
        }
        self.init(address: address, prefixLength: prefix)
    }

    public init(address: IPAddress, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.address = IPNetwork.masked(address, prefixLength)
    }

    public func contains(_ candidate: IPAddress) -> Bool {
        candidate.isIPv4 == address.isIPv4 && IPNetwork.masked(candidate, prefixLength) == address
    }

    /// The last address of an IPv4 network (its broadcast address); nil for IPv6.
    public var broadcast: IPAddress? {
        guard case .v4(let value) = address else { return nil }
        let hostBits: UInt32 = prefixLength == 0 ? ~0 : (prefixLength == 32 ? 0 : ~(~UInt32(0) << (32 - UInt32(prefixLength))))
        return .v4(value | hostBits)
    }

    /// Dotted netmask for IPv4 networks (`255.255.255.0`).
    public var netmask: String? {
        guard address.isIPv4 else { return nil }
        let mask: UInt32 = prefixLength == 0 ? 0 : ~UInt32(0) << (32 - UInt32(prefixLength))
        return IPAddress.v4(mask).description
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func masked(_ address: IPAddress, _ prefix: Int) -> IPAddress {
        switch address {
        case .v4(let value):
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << (32 - UInt32(prefix))
            return .v4(value & mask)
        case .v6(let bytes):
            var result = bytes
            for index in 0..<16 {
                let bitsInByte = max(0, min(8, prefix - index * 8))
                result[index] &= bitsInByte == 0 ? 0 : UInt8(0xff) << (8 - bitsInByte)
            }
            return .v6(result)
        }
    }
}
