/// A numeric object identifier such as `1.3.6.1.2.1.1.5.0`. No MIB files: the agent speaks numbers.
public struct OID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var components: [UInt]

    public init(_ components: [UInt]) {
        self.components = components
    }

    /// Parses `1.3.6.1...` (a leading dot is allowed).
    public init?(_ text: String) {
        let trimmed = text.hasPrefix(".") ? String(text.dropFirst()) : text
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.count <= 128 else { return nil }
        var components: [UInt] = []
        for part in parts {
            guard let value = UInt(part), value <= UInt(UInt32.max) else { return nil }
            components.append(value)
        }
        self.components = components
    }

    public var description: String { components.map(String.init).joined(separator: ".") }

    /// True when `other` lies in the subtree rooted here.
    public func isAncestor(of other: OID) -> Bool {
        other.components.count > components.count && Array(other.components.prefix(components.count)) == components
    }

    /// The components after this prefix (the index part of a table cell).
    public func suffix(of other: OID) -> [UInt] {
        Array(other.components.dropFirst(components.count))
    }

    public func appending(_ more: UInt...) -> OID { OID(components + more) }
    public func appending(_ more: [UInt]) -> OID { OID(components + more) }

    public static func < (lhs: OID, rhs: OID) -> Bool { lhs.components.lexicographicallyPrecedes(rhs.components) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = OID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a numeric OID: \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A value in an SNMP variable binding.
public enum SNMPValue: Sendable, Hashable {
    case integer(Int64)
    case octets([UInt8])
    case null
    case objectIdentifier(OID)
    case ipAddress([UInt8])
    case counter32(UInt32)
    case gauge32(UInt32)
    case timeTicks(UInt32)
    case opaque([UInt8])
    case counter64(UInt64)
    case noSuchObject
    case noSuchInstance
    case endOfMibView

    /// The value as text: octet strings as UTF-8 (control characters dropped), numbers in decimal.
    public var text: String? {
        switch self {
        case .octets(let bytes): return String(decoding: bytes.filter { $0 >= 0x20 || $0 == 0x09 }, as: UTF8.self)
        case .integer(let value): return String(value)
        case .counter32(let value), .gauge32(let value), .timeTicks(let value): return String(value)
        case .counter64(let value): return String(value)
        case .objectIdentifier(let oid): return oid.description
        case .ipAddress(let bytes): return bytes.map(String.init).joined(separator: ".")
        default: return nil
        }
    }

    /// Any numeric value as an unsigned integer.
    public var unsigned: UInt64? {
        switch self {
        case .integer(let value): return value >= 0 ? UInt64(value) : nil
        case .counter32(let value), .gauge32(let value), .timeTicks(let value): return UInt64(value)
        case .counter64(let value): return value
        default: return nil
        }
    }

    /// Any numeric value as a signed integer (negative INTEGERs kept: many MIBs use -1 for "not measured").
    public var number: Int64? {
        switch self {
        case .integer(let value): return value
        case .counter32(let value), .gauge32(let value), .timeTicks(let value): return Int64(value)
        case .counter64(let value): return Int64(exactly: value)
        default: return nil
        }
    }

    /// True for noSuchObject, noSuchInstance and endOfMibView.
    public var isException: Bool {
        switch self {
        case .noSuchObject, .noSuchInstance, .endOfMibView: return true
        default: return false
        }
    }
}

/// One name/value pair of a response.
public struct VariableBinding: Sendable, Hashable {
    public var oid: OID
    public var value: SNMPValue

    public init(oid: OID, value: SNMPValue) {
        self.oid = oid
        self.value = value
    }
}
