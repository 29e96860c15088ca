import AgentCore

/// A 48-bit Ethernet address, accepted in any common notation (`52:54:00:12:34:56`, `52-54-00-12-34-56`,
/// `5254.0012.3456`, `525400123456`, any case) and always printed lower-case with colons.
public struct MACAddress: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The six bytes, the first in the highest of the low 48 bits: ordering by value is ordering by bytes.
    private let value: UInt64

    /// Parses the notations above; spaces and tabs around the address are ignored, anything else is refused.
    public init?(_ text: String) {
        var text = text
        if let first = text.utf8.first, let last = text.utf8.last, Self.mayBeSpace(first) || Self.mayBeSpace(last) {
            text = text.trimmingCharacters(in: .whitespaces)
        }
        guard let value = text.utf8.withContiguousStorageIfAvailable(Self.parse) ?? Self.parse(Array(text.utf8)) else { return nil }
        self.value = value
    }

    /// `52:54:00:12:34:56`
    public var description: String { Self.text(value, separator: UInt8(ascii: ":")) }
    /// `525400123456`, for identifiers in config files.
    public var compact: String { Self.text(value, separator: nil) }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.value < rhs.value }

    /// Parses or throws a 400 naming `field`.
    public static func parse(_ text: String, field: String) throws -> MACAddress {
        guard let address = MACAddress(text) else { throw AgentError.invalidField(field, "not a MAC address: \(text)") }
        return address
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = MACAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a MAC address: \(text)"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// A space or tab, or the first or last byte of another Unicode character (which may be a space of another kind).
    private static func mayBeSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte >= 0x80 }

    /// Groups of 2 hex digits separated by one kind of ":" or "-", groups of 4 separated by ".", or 12 digits in a row.
    private static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        let separator: UInt8?
        switch bytes.count {
        case 17 where bytes[2] == UInt8(ascii: ":") || bytes[2] == UInt8(ascii: "-"): separator = bytes[2]
        case 14 where bytes[4] == UInt8(ascii: "."): separator = bytes[4]
        case 12: separator = nil
        default: return nil
        }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            let separatorPlace = switch bytes.count {
            case 17: index % 3 == 2
            case 14: index == 4 || index == 9
            default: false
            }
            if separatorPlace {
                guard byte == separator else { return nil }
                continue
            }
            guard let digit = hexDigit(byte) else { return nil }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func parse(_ bytes: [UInt8]) -> UInt64? { bytes.withUnsafeBufferPointer(parse) }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static let digits = Array("0123456789abcdef".utf8)

    private static func text(_ value: UInt64, separator: UInt8?) -> String {
        String(unsafeUninitializedCapacity: 17) { buffer in
            var count = 0
            for index in 0..<6 {
                if index > 0, let separator {
                    buffer[count] = separator
                    count += 1
                }
                let byte = Int(value >> UInt64(40 - 8 * index) & 0xff)
                buffer[count] = digits[byte >> 4]
                buffer[count + 1] = digits[byte & 0xf]
                count += 2
            }
            return count
        }
    }
}
