import Foundation

/// Why a ``JSONValue`` has no JSON text.
public enum JSONSerializationError: Error, Sendable, Equatable {
    /// NaN or an infinity: JSON has no number for it.
    case notANumber(Double)
}

extension JSONValue {
    /// The compact JSON text ``JSONCoding/encoder`` writes for this value, byte for byte (keys in the order of their
    /// UTF-8 bytes, slashes unescaped, doubles in their shortest form without a trailing ".0"), written directly rather
    /// than through `Encodable`, which spent most of a 30-day graph's time (8,640 points) in generic containers.
    public func serialized() throws(JSONSerializationError) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256)
        try write(into: &bytes)
        return bytes
    }

    private func write(into bytes: inout [UInt8]) throws(JSONSerializationError) {
        switch self {
        case .null: bytes += Self.nullBytes
        case .bool(let value): bytes += value ? Self.trueBytes : Self.falseBytes
        case .integer(let value): bytes += String(value).utf8
        case .double(let value):
            guard value.isFinite else { throw .notANumber(value) }
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes += text.utf8
        case .string(let value): Self.writeString(value, into: &bytes)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                try value.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                try members[key]!.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private static let nullBytes = Array("null".utf8)
    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func writeString(_ value: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        // Most strings (keys, timestamps) need no escape: copied whole.
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            bytes += value.utf8
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x08: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "b")]
            case 0x0C: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "f")]
            case 0x0A: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

}
