import AgentCore

/// A 48-bit Ethernet address, accepted in any common notation (`52:54:00:12:34:56`, `52-54-00-12-34-56`,
/// `5254.0012.3456`, `525400123456`, any case) and always printed lower-case with colons.
public struct MACAddress: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Groups of 2 separated by ":" or "-", groups of 4 separated by ".", or 12 digits in a row.
        let pairs = [2, 2, 2, 2, 2, 2]
        switch (trimmed.contains(":"), trimmed.contains("-"), trimmed.contains(".")) {
        case (true, false, false): guard trimmed.split(separator: ":", omittingEmptySubsequences: false).map(\.count) == pairs else { return nil }
        case (false, true, false): guard trimmed.split(separator: "-", omittingEmptySubsequences: false).map(\.count) == pairs else { return nil }
        case (false, false, true): guard trimmed.split(separator: ".", omittingEmptySubsequences: false).map(\.count) == [4, 4, 4] else { return nil }
        case (false, false, false): guard trimmed.count == 12 else { return nil }
        default: return nil
        }
        let hex = trimmed.filter { $0 != ":" && $0 != "-" && $0 != "." }
        guard hex.count == 12, hex.allSatisfy(\.isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        var index = hex.startIndex
        for _ in 0..<6 {
            let next = hex.index(index, offsetBy: 2)
            guard let byte = UInt8(hex[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.bytes = bytes
    }

    /// `52:54:00:12:34:56`
    public var description: String { bytes.map { hexByte($0) }.joined(separator: ":") }
    /// `525400123456`, for identifiers in config files.
    public var compact: String { bytes.map { hexByte($0) }.joined() }

    private func hexByte(_ byte: UInt8) -> String {
        let text = String(byte, radix: 16)
        return text.count == 1 ? "0" + text : text
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

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
}
